"""Property-based API testing of ingest from its own OpenAPI document (schemathesis).

Generated requests, valid and invalid, against the real ingest process: no 5xx, and every answer
matches the documented status codes and schemas. Bounded, so it fits in `make test`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from services.ingest.openapi import openapi_document
from tests.integration.harness import API_KEY, Infra, Stack

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def ingest_url(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = Stack(infra, tmp_path_factory.mktemp("fuzz"))
    stack.extra_env["INGEST_RATE_LIMIT_PER_SECOND"] = "0"
    stack.start("ingest")
    yield stack.services["ingest"].url("")
    stack.close()


@schema.include(path_regex="^/v1/(leads|engagement)$").parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_ingest_answers_every_generated_request_as_documented(case: schemathesis.Case, ingest_url: str) -> None:
    """No generated request gets a 5xx or an answer the OpenAPI document does not describe."""
    case.call_and_validate(
        base_url=ingest_url,
        headers={"Authorization": f"Bearer {API_KEY}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
