"""Metric names: one prefix per service, base units, _total on counters, _seconds on durations."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from shared.metrics import ServiceMetrics

FORBIDDEN_LABELS = {"lead_id", "email", "event_id", "opportunity_id", "rep_email"}


def exercised(metrics: ServiceMetrics) -> None:
    """Touch every labelled metric once so it appears in the exposition."""
    for f in dataclasses.fields(metrics):
        metric = getattr(metrics, f.name)
        if not isinstance(metric, Counter | Gauge | Histogram):
            continue
        labelled = metric.labels(*["v"] * len(metric._labelnames)) if metric._labelnames else metric
        if isinstance(labelled, Histogram):
            labelled.observe(0.01)
        else:
            labelled.inc()


def samples() -> list[Sample]:
    registry = CollectorRegistry()
    metrics = ServiceMetrics.create("x", registry)
    exercised(metrics)
    metrics.counter("leads_total", "Leads.", ("source",)).labels("api").inc()
    metrics.histogram("send_seconds", "Send time.").observe(0.2)
    text = generate_latest(registry).decode()
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def test_every_metric_has_the_service_prefix() -> None:
    """All exported series are named salesflow_x_..."""
    names = {sample.name for sample in samples()}
    assert names and all(name.startswith("salesflow_x_") for name in names)


def test_counters_end_in_total_and_histograms_in_seconds() -> None:
    """Counter series end in _total; histogram series are durations in seconds."""
    text = generate_latest(_registry_with_everything()).decode()
    for family in text_string_to_metric_families(text):
        if family.type == "counter":
            assert all(s.name == f"{family.name}_total" for s in family.samples if not s.name.endswith("_created"))
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
        if family.type == "gauge":
            assert not family.name.endswith(("_total", "_seconds")), family.name


def _registry_with_everything() -> CollectorRegistry:
    registry = CollectorRegistry()
    metrics = ServiceMetrics.create("x", registry)
    exercised(metrics)
    return registry


@pytest.mark.parametrize(
    ("attribute", "series"),
    [
        ("events_in", "salesflow_x_events_in_total"),
        ("dead_letters", "salesflow_x_dead_letters_total"),
        ("processing_seconds", "salesflow_x_processing_seconds_bucket"),
        ("event_age_seconds", "salesflow_x_event_age_seconds_count"),
        ("redis_command_seconds", "salesflow_x_redis_command_seconds_sum"),
        ("ready", "salesflow_x_ready"),
        ("consumer_lag", "salesflow_x_consumer_lag_records"),
    ],
)
def test_named_series_are_exported(attribute: str, series: str) -> None:
    """The series SREs' dashboards and alerts use exist under their documented names."""
    assert attribute in {f.name for f in dataclasses.fields(ServiceMetrics)}
    assert series in {sample.name for sample in samples()}


def test_no_identifier_labels() -> None:
    """No metric is labelled by a lead id, email or other unbounded identifier."""
    labels = {label for sample in samples() for label in sample.labels}
    assert labels and not labels & FORBIDDEN_LABELS


def test_fresh_registries_are_independent() -> None:
    """Two services (or two tests) each get their own metrics from their own registry."""
    first, second = CollectorRegistry(), CollectorRegistry()
    ServiceMetrics.create("x", first).events_in.labels("t").inc(3)
    ServiceMetrics.create("x", second)
    assert first.get_sample_value("salesflow_x_events_in_total", {"topic": "t"}) == 3
    assert second.get_sample_value("salesflow_x_events_in_total", {"topic": "t"}) is None
