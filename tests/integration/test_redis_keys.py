"""A run's Redis keys are removed under its prefix, hash-tagged ones included, and no one else's."""

from __future__ import annotations

import uuid

import redis

from tests.integration.harness import Infra
from tools.redis_keys import delete_prefixed


def test_only_the_runs_own_keys_are_deleted(infra: Infra) -> None:
    client = redis.Redis.from_url(infra.redis_url)
    mine, other = f"t{uuid.uuid4().hex[:10]}.", f"t{uuid.uuid4().hex[:10]}."
    keys = [f"{mine}sf:a", f"{{{mine}sf:routing:load}}:lead:1", f"{other}sf:a", f"{{{other}sf:routing:load}}:x"]
    client.mset({key: "1" for key in keys})
    try:
        assert delete_prefixed(infra.redis_url, mine) == 2
        assert [client.exists(key) for key in keys] == [0, 0, 1, 1]
    finally:
        client.delete(*keys)
