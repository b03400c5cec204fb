"""The OpenAPI 3.1 document for analytics' read-only API (GET only, no authentication)."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

MONEY: Schema = {"type": ["string", "null"], "description": "Decimal amount to the cent."}
RATE: Schema = {"type": ["number", "null"], "description": "0..1; null when the denominator is 0."}
COUNTS: Schema = {"type": "object", "additionalProperties": {"type": "integer"}}


def _param(name: str, where: str, doc: str, required: bool = False, **schema: Any) -> Schema:
    return {"name": name, "in": where, "required": required, "description": doc, "schema": {"type": "string", **schema}}


def _get(summary: str, schema: Schema, *params: Schema, missing: str | None = None) -> Schema:
    responses: Schema = {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    responses["400"] = {"description": "Bad query parameter.", **error}
    if missing:
        responses["404"] = {"description": missing, **error}
    responses["503"] = {"description": "The read model (Redis) is unavailable; retry after Retry-After.", **error}
    return {"get": {"summary": summary, "parameters": list(params), "responses": responses}}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


HISTOGRAM: Schema = {
    "type": "object",
    "properties": {
        "buckets": {
            "type": "array",
            "items": {"type": "object", "properties": {"le": {"type": "string"}, "count": {"type": "integer"}}},
            "description": "Cumulative counts per upper bound in seconds, +Inf last.",
        },
        "count": {"type": "integer"},
        "sum_seconds": {"type": ["number", "null"]},
        "p50_seconds": {"type": ["number", "null"], "description": "Estimated within its bucket."},
        "p90_seconds": {"type": ["number", "null"]},
    },
}
REP: Schema = {
    "type": "object",
    "properties": {
        "rep_id": {"type": "string"},
        "leads_assigned": {"type": "integer"},
        "response_median_seconds": {"type": ["number", "null"], "description": "Assignment to first touch."},
        "opportunities_opened": {"type": "integer"},
        "win_rate": RATE,
        "revenue_won": MONEY,
        "average_deal_size": MONEY,
        "open_load": {"type": "integer", "description": "Assigned leads not yet won or lost."},
        "capacity": {"type": "integer", "description": "From reps.roster; 0 when unknown."},
        "load_ratio": RATE,
    },
}
FUNNEL: Schema = {
    "type": "object",
    "properties": {
        "by": {"type": "string"},
        "window": {"type": ["object", "null"], "description": "null: running totals since the start."},
        "steps": {"type": "array", "items": {"type": "string"}},
        "groups": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "value": {"type": "string", "description": "The dimension's value; (none) when unknown."},
                    "counts": COUNTS,
                    "conversion": {"type": "object", "additionalProperties": RATE},
                },
            },
        },
    },
}
FORECAST: Schema = {
    "type": "object",
    "properties": {
        "period": {"type": "string"},
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date", "description": "Exclusive."},
        "categories": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"raw": MONEY, "weighted": MONEY}},
        },
        "raw_total": MONEY,
        "weighted_total": MONEY,
        "won": MONEY,
        "run_rate": {**MONEY, "description": "Won so far scaled to the whole period at the pace so far."},
    },
}


ENROLMENTS = {
    "type": "object",
    "properties": {
        "changes": {"type": "object", "additionalProperties": {"type": "integer"}},
        "exited_by_reason": {"type": "object", "additionalProperties": {"type": "integer"}},
        "paused_by_reason": {"type": "object", "additionalProperties": {"type": "integer"}},
        "in_progress": {"type": "integer", "description": "Enrolled, minus exited and completed."},
    },
}


def openapi_document() -> Schema:
    """The whole document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "salesflow analytics",
            "version": "1",
            "description": "Live pipeline metrics, read-only and unauthenticated (a dashboard's API). "
            "Numbers are summed across all partitions from the Redis read model, refreshed about every second.",
        },
        "paths": {
            "/v1/funnel": _get(
                "Leads at each funnel step, by a dimension, with conversion rates.",
                FUNNEL,
                _param("by", "query", "all (default), source, campaign, territory or rep."),
                _param("from", "query", "Start: a date (day windows) or a datetime with zone (hour windows)."),
                _param("to", "query", "End, exclusive; the same form as from. Without both: running totals."),
            ),
            "/v1/speed-to-lead": _get(
                "Capture→assignment and assignment→first-touch histograms; SLA met/breached by grade.",
                {
                    "type": "object",
                    "properties": {
                        "capture_to_assignment": HISTOGRAM,
                        "assignment_to_first_touch": HISTOGRAM,
                        "sla": {"type": "object", "additionalProperties": COUNTS},
                    },
                },
            ),
            "/v1/forecast": _get(
                "Open pipeline (raw and weighted) by forecast category, won and run rate for a period.",
                FORECAST,
                _param("period", "query", "2026-10 or 2026-Q4; the current quarter by default."),
            ),
            "/v1/pipeline": _get("Open deals by stage, and cycle time of won and lost deals.", {"type": "object"}),
            "/v1/reps": _get(
                "Every rep, by revenue won (a leaderboard).",
                {"type": "object", "properties": {"reps": {"type": "array", "items": _ref("Rep")}}},
            ),
            "/v1/reps/{id}": _get(
                "One rep's numbers.", _ref("Rep"), _param("id", "path", "The rep.", True), missing="No such rep."
            ),
            "/v1/sequences": _get(
                "Sequences with nurture sends, outcomes or enrolment changes.",
                {"type": "object", "properties": {"sequences": {"type": "array", "items": {"type": "string"}}}},
            ),
            "/v1/sequences/{id}/stats": _get(
                "Sends, opens, clicks, replies, unsubscribes and bounces per step and variant, and "
                "enrolment changes (enrolled, paused, exited by reason, completed) from nurture.enrolments.",
                {
                    "type": "object",
                    "properties": {
                        "sequence_id": {"type": "string"},
                        "rows": {"type": "array", "items": {"type": "object"}},
                        "totals": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "enrolments": ENROLMENTS,
                    },
                },
                _param("id", "path", "The sequence.", True),
                missing="No numbers for the sequence.",
            ),
        },
        "components": {
            "schemas": {
                "Rep": REP,
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
            }
        },
    }
