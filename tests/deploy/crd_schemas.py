"""Structural JSON schemas for the custom resources we ship (KEDA, Strimzi, Prometheus Operator).

Written from each operator's CRD: the required fields, their types, and the keys we rely on.
Looser than the operators' full OpenAPI schemas, stricter than nothing.
"""

from __future__ import annotations

from typing import Any

STRING = {"type": "string", "minLength": 1}
COUNT = {"type": "integer", "minimum": 0}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"}, "labels": LABELS},
}


def resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": METADATA,
            "spec": spec,
        },
    }


RULE = {
    "type": "object",
    "required": ["expr"],
    "oneOf": [{"required": ["record"]}, {"required": ["alert"]}],
    "properties": {
        "record": STRING,
        "alert": STRING,
        "expr": STRING,
        "for": {"type": "string", "pattern": "^[0-9]+[smhdwy]$"},
        "labels": LABELS,
        "annotations": LABELS,
    },
    "additionalProperties": False,
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "ScaledObject": resource(
        "keda.sh/v1alpha1",
        "ScaledObject",
        {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {"type": "object", "required": ["name"], "properties": {"name": STRING}},
                "pollingInterval": COUNT,
                "cooldownPeriod": COUNT,
                "minReplicaCount": COUNT,
                "maxReplicaCount": COUNT,
                "advanced": {"type": "object"},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": STRING,
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                            "authenticationRef": {"type": "object", "required": ["name"]},
                        },
                    },
                },
            },
            "additionalProperties": False,
        },
    ),
    "TriggerAuthentication": resource(
        "keda.sh/v1alpha1",
        "TriggerAuthentication",
        {
            "type": "object",
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["parameter", "name", "key"],
                        "properties": {"parameter": STRING, "name": STRING, "key": STRING},
                        "additionalProperties": False,
                    },
                },
            },
        },
    ),
    "KafkaTopic": resource(
        "kafka.strimzi.io/v1beta2",
        "KafkaTopic",
        {
            "type": "object",
            "required": ["partitions", "replicas"],
            "properties": {
                "topicName": STRING,
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object"},
            },
            "additionalProperties": False,
        },
    ),
    "ServiceMonitor": resource(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        {
            "type": "object",
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {"type": "object"},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {"port": STRING, "path": STRING, "interval": STRING, "scrapeTimeout": STRING},
                    },
                },
            },
        },
    ),
    "PrometheusRule": resource(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        {
            "type": "object",
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "properties": {"name": STRING, "interval": STRING, "rules": {"type": "array", "items": RULE}},
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
    ),
}
