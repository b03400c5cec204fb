"""The salesflow command: Strimzi rendering, the topic table and idempotent topic creation."""

from __future__ import annotations

import io
import re
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from confluent_kafka import KafkaError, KafkaException

from shared.cli import create_topics, main, render_strimzi, resource_name
from shared.topics import TOPICS, Cleanup, TopicSpec


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), env={}, out=out), out.getvalue()


def rendered_documents() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(render_strimzi(TOPICS)))


def test_render_has_one_document_per_topic_sorted_by_name() -> None:
    """The YAML parses into one KafkaTopic per registry topic, in topic-name order."""
    names = [doc["spec"]["topicName"] for doc in rendered_documents()]
    assert names == sorted(spec.name for spec in TOPICS)


def test_rendered_topic_matches_its_spec() -> None:
    """Each KafkaTopic carries the registry's partitions and config, three replicas and the cluster label."""
    by_name = {doc["spec"]["topicName"]: doc for doc in rendered_documents()}
    for spec in TOPICS:
        doc = by_name[spec.name]
        assert (doc["apiVersion"], doc["kind"]) == ("kafka.strimzi.io/v1beta2", "KafkaTopic")
        assert doc["metadata"] == {"name": resource_name(spec.name), "labels": {"strimzi.io/cluster": "salesflow"}}
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])
        assert doc["spec"] == {
            "topicName": spec.name,
            "partitions": spec.partitions,
            "replicas": 3,
            "config": spec.config(),
        }


def test_compacted_topic_renders_without_retention() -> None:
    """A compacted topic (the roster) renders cleanup.policy compact and no retention.ms."""
    (doc,) = yaml.safe_load_all(render_strimzi([TopicSpec("reps.roster", "RepProfile", "rep_id", 1, Cleanup.COMPACT)]))
    assert doc["spec"]["config"] == {"cleanup.policy": "compact"}


def test_metadata_names_are_valid_kubernetes_names() -> None:
    """Resource names are lower-case DNS labels: no dots, no upper case."""
    for doc in rendered_documents():
        name = doc["metadata"]["name"]
        assert "." not in name and name == name.lower() and len(name) <= 63


def test_render_prints_to_stdout() -> None:
    """Without --output the YAML goes to stdout, exactly the rendering."""
    assert run("topics", "render-strimzi") == (0, render_strimzi(TOPICS))


def test_output_then_check_round_trip(tmp_path: Path) -> None:
    """--output writes the file; --check on it passes; an edit makes --check exit 1 with a diff."""
    target = tmp_path / "topics" / "kafkatopics.yaml"
    assert run("topics", "render-strimzi", "--output", str(target))[0] == 0
    assert target.read_text(encoding="utf-8") == render_strimzi(TOPICS)
    assert run("topics", "render-strimzi", "--check", str(target))[0] == 0
    target.write_text(target.read_text(encoding="utf-8").replace("partitions: 6", "partitions: 12", 1))
    status, diff = run("topics", "render-strimzi", "--check", str(target))
    assert status == 1
    assert "-  partitions: 12" in diff
    assert "+  partitions: 6" in diff


def test_check_of_a_missing_file_fails(tmp_path: Path) -> None:
    """--check against a file that does not exist fails instead of passing vacuously."""
    assert run("topics", "render-strimzi", "--check", str(tmp_path / "absent.yaml"))[0] == 1


def test_list_prints_a_row_per_topic() -> None:
    """The table has a header and one row per registry topic with its record and partitions."""
    status, table = run("topics", "list")
    lines = table.splitlines()
    assert status == 0 and len(lines) == len(TOPICS) + 1
    row = next(line.split() for line in lines if line.startswith("reps.roster "))
    assert row[:2] == ["reps.roster", "RepProfile"] and "compact" in row


class FakeAdmin:
    """Records create_topics calls; `existing` topics are on the fake cluster already."""

    def __init__(self, existing: set[str], failures: dict[str, KafkaError] | None = None) -> None:
        self.existing = existing
        self.failures = failures or {}
        self.created: list[Any] = []

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        return SimpleNamespace(topics={name: object() for name in self.existing})

    def create_topics(self, new_topics: list[Any], **kwargs: Any) -> dict[str, Future[Any]]:
        self.created += new_topics
        futures: dict[str, Future[Any]] = {}
        for topic in new_topics:
            futures[topic.topic] = Future()
            if topic.topic in self.failures:
                futures[topic.topic].set_exception(KafkaException(self.failures[topic.topic]))
            else:
                futures[topic.topic].set_result(None)
        return futures


def test_create_makes_only_missing_topics_with_their_spec() -> None:
    """Existing topics are left alone; missing ones get the registry's partitions and config."""
    admin = FakeAdmin({"leads.inbound", "dlq.ingest"})
    created = create_topics(admin, TOPICS, replication_factor=3)
    assert sorted(created) == sorted(t.name for t in TOPICS if t.name not in {"leads.inbound", "dlq.ingest"})
    roster = next(t for t in admin.created if t.topic == "reps.roster")
    assert (roster.num_partitions, roster.replication_factor, roster.config) == (1, 3, {"cleanup.policy": "compact"})


def test_create_is_idempotent() -> None:
    """A second run against a cluster that has every topic creates nothing."""
    admin = FakeAdmin({t.name for t in TOPICS})
    assert create_topics(admin, TOPICS) == [] and admin.created == []


def test_create_applies_prefix_and_partition_override() -> None:
    """--prefix names physical topics and --partitions-override sets every partition count."""
    admin = FakeAdmin({"leads.inbound"})
    create_topics(admin, TOPICS, prefix="t123.", partitions_override=2)
    assert {t.topic for t in admin.created} == {f"t123.{t.name}" for t in TOPICS}
    assert {t.num_partitions for t in admin.created} == {2}


def test_create_tolerates_a_concurrent_creator() -> None:
    """A topic another process created between listing and creating counts as fine, not as an error."""
    admin = FakeAdmin(set(), {"leads.inbound": KafkaError(KafkaError.TOPIC_ALREADY_EXISTS)})
    assert "leads.inbound" not in create_topics(admin, TOPICS)


def test_create_raises_other_errors() -> None:
    """Any other failure (no authorisation, say) is not swallowed."""
    admin = FakeAdmin(set(), {"leads.inbound": KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)})
    with pytest.raises(KafkaException):
        create_topics(admin, TOPICS)


def test_partitions_override_must_be_positive() -> None:
    """--partitions-override 0 is a usage error, not a cluster request."""
    with pytest.raises(SystemExit):
        main(["topics", "create", "--partitions-override", "0"], env={})
