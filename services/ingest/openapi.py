"""The OpenAPI 3.1 document for ingest's HTTP API, derived from the Avro contract.

Request bodies are generated from schemas/avro (LeadSubmitted, EngagementEvent) so the HTTP and
Kafka contracts cannot drift apart.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from shared.avro_codec import default_schema_dir

_PRIMITIVES = {
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "long": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "double": {"type": "number"},
}


def json_schema_for(avro_type: Any) -> dict[str, Any]:
    """JSON Schema for one Avro field type, as the HTTP API accepts it."""
    if isinstance(avro_type, list):
        inner = [t for t in avro_type if t != "null"]
        return {"anyOf": [json_schema_for(inner[0]), {"type": "null"}]}
    if isinstance(avro_type, str):
        return dict(_PRIMITIVES[avro_type])
    if avro_type.get("logicalType") == "timestamp-millis":
        return {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer", "minimum": 0}],
            "description": "ISO-8601 with zone, or epoch milliseconds",
        }
    if avro_type["type"] == "enum":
        return {"type": "string", "enum": avro_type["symbols"]}
    if avro_type["type"] == "map":
        return {"type": "object", "additionalProperties": json_schema_for(avro_type["values"])}
    return {}


def request_schema(record: str, generated: tuple[str, ...]) -> dict[str, Any]:
    """An object schema from an Avro record; fields without defaults are required unless generated."""
    avro = json.loads((default_schema_dir() / f"{record}.avsc").read_text(encoding="utf-8"))
    properties = {f["name"]: json_schema_for(f["type"]) | {"description": f.get("doc", "")} for f in avro["fields"]}
    required = [f["name"] for f in avro["fields"] if "default" not in f and f["name"] not in generated]
    return {"type": "object", "properties": properties, "required": required}


WEBHOOK_HEADERS = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("webhook-id", "Unique message id; a replayed id is refused with 409."),
        ("webhook-timestamp", "Unix seconds; refused when more than 5 minutes from now."),
        ("webhook-signature", "Space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body>."),
    )
]


def _webhook(summary: str, schema_ref: str) -> dict[str, Any]:
    """The Standard Webhooks variant of a submission: signed instead of a Bearer key."""
    operation = _post(summary, schema_ref)
    operation["security"] = []
    operation["parameters"] = WEBHOOK_HEADERS
    responses = {k: v for k, v in operation["responses"].items() if k not in ("403", "429")}
    error = responses["400"]["content"]
    responses["401"] = {"description": "Missing, stale, future or invalid signature", "content": error}
    responses["409"] = {"description": "This webhook id was already received", "content": error}
    operation["responses"] = responses
    return operation


def _erase() -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    body = {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}}
    accepted = {"type": "object", "properties": {"lead_id": {"type": "string"}, "event_id": {"type": "string"}}}
    return {
        "summary": "Erase a person everywhere (GDPR Article 17); subjects.erased reports what each service removed",
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "202": {"description": "Erasure requested", "content": {"application/json": {"schema": accepted}}},
            "400": {"description": "Malformed JSON"} | error,
            "401": {"description": "Missing or invalid API key"} | error,
            "404": {"description": "No lead with this email"} | error,
            "413": {"description": "Body over 1 MiB"} | error,
            "422": {"description": "No valid email"} | error,
            "503": {"description": "Temporarily unavailable; retry after Retry-After seconds"} | error,
        },
    }


def _post(summary: str, schema_ref: str) -> dict[str, Any]:
    body = {
        "oneOf": [
            {"$ref": schema_ref},
            {"type": "array", "items": {"$ref": schema_ref}, "minItems": 1, "maxItems": 500},
        ]
    }
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "summary": summary,
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "202": {
                "description": "Accepted (or recognised as a duplicate)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
            },
            "400": {"description": "Malformed JSON"} | error,
            "401": {"description": "Missing or invalid API key"} | error,
            "403": {"description": "The API key may not submit this lead source"} | error,
            "409": {"description": "The person was erased; resubmit with marketing_consent"} | error,
            "429": {"description": "Over the key's requests per second; retry after Retry-After seconds"} | error,
            "413": {"description": "Body over 1 MiB"} | error,
            "422": {"description": "Invalid fields"} | error,
            "503": {"description": "Temporarily unavailable; retry after Retry-After seconds"} | error,
        },
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    accepted_one = {
        "type": "object",
        "required": ["lead_id", "event_id", "duplicate"],
        "properties": {"lead_id": {"type": "string"}, "event_id": {"type": "string"}, "duplicate": {"type": "boolean"}},
    }
    field_error = {
        "type": "object",
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "index": {"type": "integer"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "salesflow ingest",
            "version": "1.0.0",
            "description": "Submit leads and engagement events. Kafka equivalents: leads.inbound, engagement.inbound.",
        },
        "paths": {
            "/v1/leads": {
                "post": _post("Submit one lead or a batch of up to 500", "#/components/schemas/LeadSubmitted")
            },
            "/v1/webhooks/leads": {
                "post": _webhook("Submit leads as a signed webhook", "#/components/schemas/LeadSubmitted")
            },
            "/v1/webhooks/engagement": {
                "post": _webhook("Submit engagement as a signed webhook", "#/components/schemas/EngagementEvent")
            },
            "/v1/subjects/erase": {"post": _erase()},
            "/v1/engagement": {"post": _post("Submit engagement events", "#/components/schemas/EngagementEvent")},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "LeadSubmitted": request_schema("LeadSubmitted", ("event_id", "occurred_at")),
                "EngagementEvent": request_schema("EngagementEvent", ("event_id", "occurred_at")),
                "Accepted": {
                    "oneOf": [
                        accepted_one,
                        {
                            "type": "object",
                            "required": ["results"],
                            "additionalProperties": False,
                            "properties": {"results": {"type": "array", "items": accepted_one}},
                        },
                    ]
                },
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "errors": {"type": "array", "items": field_error}},
                },
            },
        },
    }
