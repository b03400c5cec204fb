"""deploy/k8s: both overlays render with kubectl kustomize; every object validates offline; the shape holds."""

from __future__ import annotations

import re
import sys
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.crd_schemas import SCHEMAS
from tests.deploy.support import (
    DEPLOY,
    OVERLAYS,
    PORTS,
    SERVICES,
    STATEFUL,
    load_yaml,
    objects,
    rendered,
    run,
)

pytestmark = pytest.mark.deploy

# The oldest Kubernetes minor we support, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())
SECRET_NAMED = re.compile(r"PASSWORD|SECRET|API_KEYS|REDIS_URL|USERNAME")


def named(overlay: str, kind: str, name: str) -> dict[str, Any]:
    [found] = [doc for doc in objects(overlay, kind) if doc["metadata"]["name"] == name]
    return found


def workload(overlay: str, service: str) -> dict[str, Any]:
    return named(overlay, "StatefulSet" if service in STATEFUL else "Deployment", service)


def container(overlay: str, service: str) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload(overlay, service)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_validate_against_the_kubernetes_schemas(overlay: str, version: str) -> None:
    """kubernetes-validate (strict: no unknown fields) accepts every built-in object."""
    for doc in rendered(overlay):
        if doc["kind"] in SCHEMAS:
            continue
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_validate_structurally(overlay: str) -> None:
    """KEDA, Strimzi and Prometheus Operator objects match their structural schemas."""
    kinds = {doc["kind"] for doc in rendered(overlay)}
    assert {"ScaledObject", "KafkaTopic", "ServiceMonitor", "PrometheusRule"} <= kinds
    for doc in rendered(overlay):
        if doc["kind"] in SCHEMAS:
            jsonschema.validate(doc, SCHEMAS[doc["kind"]])


def test_only_the_known_custom_resources_lack_a_core_schema() -> None:
    """Every object kubernetes-validate has no schema for is one we check structurally."""
    for doc in rendered("prod"):
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[0], strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            assert doc["kind"] in SCHEMAS, doc["kind"]


def test_validators_reject_broken_objects() -> None:
    """Both validators bite: an unknown Deployment field and a ScaledObject without triggers fail."""
    deployment = {**workload("prod", "ingest")}
    deployment["spec"] = {**deployment["spec"], "replicaz": 2}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)
    scaled = named("prod", "ScaledObject", "routing")
    broken = {**scaled, "spec": {k: v for k, v in scaled["spec"].items() if k != "triggers"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMAS["ScaledObject"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inlined(overlay: str) -> None:
    """No Secret object is rendered and every credential-like variable comes from a secretKeyRef."""
    assert objects(overlay, "Secret") == []
    for service in SERVICES:
        for env in container(overlay, service).get("env", []):
            if SECRET_NAMED.search(env["name"]):
                assert "secretKeyRef" in env.get("valueFrom", {}), env["name"]
    for config in objects(overlay, "ConfigMap"):
        assert not any(SECRET_NAMED.search(key) for key in config["data"]), config["metadata"]["name"]


@pytest.mark.parametrize("service", STATEFUL)
def test_services_with_tables_are_parallel_statefulsets_with_static_members(service: str) -> None:
    """A StatefulSet with Parallel pod management, a data volume and the pod name as static member id."""
    spec = workload("prod", service)["spec"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert "data" in {claim["metadata"]["name"] for claim in spec["volumeClaimTemplates"]}
    main = container("prod", service)
    assert {"name": "data", "mountPath": "/var/lib/salesflow"} in main["volumeMounts"]
    member = {"name": "SALESFLOW_STATIC_MEMBER_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    assert member in main["env"]


def test_ingest_is_a_deployment_scaled_on_cpu() -> None:
    """ingest is a Deployment whose HPA targets CPU utilisation."""
    assert workload("prod", "ingest")["kind"] == "Deployment"
    hpa = named("prod", "HorizontalPodAutoscaler", "ingest")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ingest"}
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_routing_scales_on_its_lag_capped_at_the_partition_count(overlay: str) -> None:
    """KEDA scales routing on salesflow-routing's lag on leads.qualified, at most 6 replicas, slowly down."""
    assert workload(overlay, "routing")["kind"] == "Deployment"
    spec = named(overlay, "ScaledObject", "routing")["spec"]
    [trigger] = spec["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == "salesflow-routing"
    assert trigger["metadata"]["topic"] == "leads.qualified"
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= 6
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 600


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_probes_ports_and_resources(overlay: str, service: str) -> None:
    """Startup and readiness on /readyz, a lenient liveness on /healthz, the right port, requests and limits."""
    main = container(overlay, service)
    assert main["ports"] == [{"name": "http", "containerPort": PORTS[service], "protocol": "TCP"}]
    assert main["startupProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    liveness = main["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 60
    startup = main["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= (600 if service in STATEFUL else 120)
    for section in ("requests", "limits"):
        assert set(main["resources"][section]) == {"cpu", "memory"}


@pytest.mark.parametrize("service", SERVICES)
def test_pods_are_hardened(service: str) -> None:
    """Non-root, read-only root filesystem with an emptyDir /tmp, no escalation, no capabilities, seccomp."""
    pod = workload("prod", service)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    context = container("prod", service)["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_service_and_a_disruption_budget(service: str) -> None:
    """A Service on the port and a PodDisruptionBudget over exactly this service's pods."""
    selector = {"app.kubernetes.io/name": service}
    svc = named("prod", "Service", service)
    assert svc["spec"]["selector"] == selector
    assert svc["spec"]["ports"][0]["port"] == PORTS[service]
    pdb = named("prod", "PodDisruptionBudget", service)
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    labels = workload("prod", service)["spec"]["template"]["metadata"]["labels"]
    assert labels.items() >= selector.items()


def ports_of(rules: list[dict[str, Any]]) -> set[Any]:
    return {port["port"] for rule in rules for port in rule.get("ports", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_denies_by_default_and_allows_what_services_need(overlay: str) -> None:
    """Default deny both ways; DNS, Kafka, Redis out; Prometheus in; SMTP only for nurture; HTTP into ingest."""
    policies = {doc["metadata"]["name"]: doc["spec"] for doc in objects(overlay, "NetworkPolicy")}
    assert policies["default-deny-all"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert {53, 9092, 9093, 6379} <= ports_of(policies["salesflow-egress"]["egress"])
    assert ports_of(policies["salesflow-from-prometheus"]["ingress"]) == {"http"}
    assert policies["nurture-to-smtp"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "nurture"}}
    assert ports_of(policies["nurture-to-smtp"]["egress"]) == ({1025} if overlay == "dev" else {587})
    assert policies["ingest-from-ingress-controller"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "ingest"
    }


def test_service_monitor_scrapes_every_service() -> None:
    """The ServiceMonitor's selector matches every salesflow Service and scrapes the http port."""
    [monitor] = objects("prod", "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    for service in SERVICES:
        assert named("prod", "Service", service)["metadata"]["labels"].items() >= selector.items()
    assert monitor["spec"]["endpoints"][0]["port"] == "http"


def test_prod_talks_sasl_ssl_and_dev_runs_one_replica() -> None:
    """prod's config uses SASL_SSL with KEDA authenticated; dev runs a single replica of each StatefulSet."""
    [prod_config] = [c for c in objects("prod", "ConfigMap") if c["metadata"]["name"].startswith("salesflow-config")]
    assert prod_config["data"]["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert (
        named("prod", "ScaledObject", "routing")["spec"]["triggers"][0]["authenticationRef"]["name"]
        == (named("prod", "TriggerAuthentication", "salesflow-kafka")["metadata"]["name"])
    )
    assert {s["spec"]["replicas"] for s in objects("dev", "StatefulSet")} == {1}
    assert {s["spec"]["replicas"] for s in objects("prod", "StatefulSet")} == {3}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_tagged_not_latest(overlay: str) -> None:
    """Every overlay sets a registry and a tag for each image."""
    for service in SERVICES:
        image = container(overlay, service)["image"]
        assert image.startswith(f"ghcr.io/salesflow/{service}:") and not image.endswith(":latest")


def test_kafka_topics_are_the_rendering_of_the_topic_registry() -> None:
    """The committed KafkaTopics equal `salesflow topics render-strimzi` output."""
    path = DEPLOY / "k8s/base/topics/kafkatopics.yaml"
    result = run(sys.executable, "-m", "shared.cli", "topics", "render-strimzi", "--check", str(path))
    assert result.returncode == 0, "run: salesflow topics render-strimzi --output " + str(path) + "\n" + result.stdout


def test_kafka_topics_follow_the_contract() -> None:
    """Sorted, cluster-labelled, 3 replicas; reps.roster compacted on one partition; DLQs on 3."""
    topics = list(yaml.safe_load_all((DEPLOY / "k8s/base/topics/kafkatopics.yaml").read_text(encoding="utf-8")))
    names = [topic["spec"]["topicName"] for topic in topics]
    assert names == sorted(names)
    assert all(t["metadata"]["labels"] == {"strimzi.io/cluster": "salesflow"} for t in topics)
    assert all(t["spec"]["replicas"] == 3 for t in topics)
    by_name = {t["spec"]["topicName"]: t["spec"] for t in topics}
    assert by_name["reps.roster"]["partitions"] == 1
    assert by_name["reps.roster"]["config"]["cleanup.policy"] == "compact"
    assert {by_name[f"dlq.{s}"]["partitions"] for s in SERVICES} == {3}
    # Upstream's plaintext input is kept 3 days (docs/security.md); salesflow's own topics a week.
    assert by_name["leads.inbound"]["config"] == {"cleanup.policy": "delete", "retention.ms": "259200000"}
    assert by_name["leads.captured"]["config"] == {"cleanup.policy": "delete", "retention.ms": "604800000"}


def test_prometheusrule_is_in_the_base() -> None:
    """The rendered PrometheusRule is the committed one."""
    [rule] = objects("prod", "PrometheusRule")
    assert rule["spec"] == load_yaml(DEPLOY / "k8s/base/monitoring/prometheusrule.yaml")["spec"]
