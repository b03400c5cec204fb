"""Settings from the environment, and the Faust app profile derived from them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import uvloop
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from shared.config import KafkaSettings, ServiceSettings, SettingsError
from shared.faust_app import app_settings
from shared.worker import event_loop_policy

SASL_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "kafka-0.kafka:9093,kafka-1.kafka:9093",
    "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
    "KAFKA_SASL_MECHANISM": "scram-sha-256",
    "KAFKA_SASL_USERNAME": "salesflow-ingest",
    "KAFKA_SASL_PASSWORD": "s3cret",
    "KAFKA_SSL_CAFILE": "/etc/kafka/ca.crt",
}


def test_defaults_point_at_the_local_broker() -> None:
    """With nothing set, salesflow talks PLAINTEXT to 127.0.0.1:9092 in the local-broker profile."""
    kafka = KafkaSettings.from_env({})
    assert (kafka.bootstrap_servers, kafka.security_protocol) == ("127.0.0.1:9092", "PLAINTEXT")
    assert kafka.local_broker
    assert kafka.confluent_config() == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "PLAINTEXT"}


def test_sasl_tls_settings_are_parsed_case_insensitively() -> None:
    """Protocol and mechanism are normalised to upper case; a remote bootstrap is not local."""
    kafka = KafkaSettings.from_env(SASL_ENV)
    assert kafka.security_protocol == "SASL_SSL" and kafka.sasl_mechanism == "SCRAM-SHA-256"
    assert kafka.uses_sasl and kafka.uses_tls and not kafka.local_broker
    assert "s3cret" not in repr(kafka)


def test_confluent_config_carries_sasl_and_ca() -> None:
    """librdkafka gets the SASL mechanism, credentials and CA file."""
    assert KafkaSettings.from_env(SASL_ENV).confluent_config() == {
        "bootstrap.servers": "kafka-0.kafka:9093,kafka-1.kafka:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "salesflow-ingest",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/etc/kafka/ca.crt",
    }


def test_mutual_tls_config_carries_client_certificate() -> None:
    """With SSL and a client certificate, librdkafka gets certificate and key, and no SASL."""
    env = {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERTFILE": "/c.pem", "KAFKA_SSL_KEYFILE": "/k.pem"}
    config = KafkaSettings.from_env(env).confluent_config()
    assert config["ssl.certificate.location"] == "/c.pem" and config["ssl.key.location"] == "/k.pem"
    assert not any(key.startswith("sasl.") for key in config)


def test_password_is_read_from_a_mounted_secret_file(tmp_path: Path) -> None:
    """KAFKA_SASL_PASSWORD_FILE wins over the variable, with the file's trailing newline stripped."""
    secret = tmp_path / "password"
    secret.write_text("from-file\n", encoding="utf-8")
    env = {**SASL_ENV, "KAFKA_SASL_PASSWORD_FILE": str(secret)}
    assert KafkaSettings.from_env(env).sasl_password == "from-file"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KAFKA_SECURITY_PROTOCOL", "TLS"),
        ("KAFKA_SASL_MECHANISM", "GSSAPI"),
        ("SALESFLOW_LOCAL_BROKER", "maybe"),
    ],
)
def test_bad_kafka_values_raise_settings_error(name: str, value: str) -> None:
    """A value salesflow cannot use stops start-up with SettingsError naming the variable."""
    with pytest.raises(SettingsError, match=name):
        KafkaSettings.from_env({name: value})


@pytest.mark.parametrize("name", ["INGEST_PORT", "SALESFLOW_TOPIC_PARTITIONS", "SALESFLOW_ROCKSDB_MEMORY_MIB"])
def test_non_integer_service_values_raise_settings_error(name: str) -> None:
    """Integer settings refuse text with SettingsError naming the variable."""
    with pytest.raises(SettingsError, match=name):
        ServiceSettings.from_env("ingest", 8001, {name: "eight"})


def test_service_settings_read_their_prefix() -> None:
    """A service's own settings use its upper-case prefix; shared ones are unprefixed."""
    settings = ServiceSettings.from_env("ingest", 8001, {"INGEST_PORT": "9001", "REDIS_URL": "redis://r:6379/2"})
    assert (settings.web_port, settings.redis_url, settings.kafka.local_broker) == (9001, "redis://r:6379/2", True)


def test_the_rocksdb_budget_is_read_in_mib_and_refused_below_8() -> None:
    assert ServiceSettings.from_env("ingest", 8001, {}).rocksdb_memory_mib == 32
    assert ServiceSettings.from_env("ingest", 8001, {"SALESFLOW_ROCKSDB_MEMORY_MIB": "96"}).rocksdb_memory_mib == 96
    with pytest.raises(SettingsError, match="at least 8"):
        ServiceSettings.from_env("ingest", 8001, {"SALESFLOW_ROCKSDB_MEMORY_MIB": "2"})


def test_the_heap_is_trimmed_every_minute_unless_told_otherwise() -> None:
    assert ServiceSettings.from_env("ingest", 8001, {}).heap_trim_seconds == 60
    assert ServiceSettings.from_env("ingest", 8001, {"SALESFLOW_HEAP_TRIM_SECONDS": "0"}).heap_trim_seconds == 0
    assert ServiceSettings.from_env("ingest", 8001, {"SALESFLOW_HEAP_TRIM_SECONDS": "2.5"}).heap_trim_seconds == 2.5
    for bad in ("-1", "nan", "often"):
        with pytest.raises(SettingsError, match="SALESFLOW_HEAP_TRIM_SECONDS must be"):
            ServiceSettings.from_env("ingest", 8001, {"SALESFLOW_HEAP_TRIM_SECONDS": bad})


def test_the_event_loop_is_uvloop_unless_asyncio_is_asked_for() -> None:
    assert ServiceSettings.from_env("ingest", 8001, {}).event_loop == "uvloop"
    assert ServiceSettings.from_env("ingest", 8001, {"SALESFLOW_EVENT_LOOP": "AsyncIO"}).event_loop == "asyncio"
    with pytest.raises(SettingsError, match="SALESFLOW_EVENT_LOOP must be one of uvloop, asyncio"):
        ServiceSettings.from_env("ingest", 8001, {"SALESFLOW_EVENT_LOOP": "trio"})


@pytest.mark.parametrize(("name", "loop_class"), [("uvloop", uvloop.Loop), ("asyncio", asyncio.SelectorEventLoop)])
def test_the_policy_makes_the_chosen_loop(name: str, loop_class: type) -> None:
    loop = event_loop_policy(name).new_event_loop()
    try:
        assert type(loop) is loop_class
    finally:
        loop.close()


def service(env: dict[str, str]) -> ServiceSettings:
    return ServiceSettings.from_env("scoring", 8002, env)


def test_local_broker_gets_its_transport_and_joins_fast() -> None:
    """On the local broker Faust uses the transport that reads end offsets from fetches, and batches."""
    options = app_settings(service({}), "salesflow-scoring")
    assert "producer_max_batch_size" not in options
    assert options["broker_session_timeout"] <= 10
    assert options["broker"] == ["localbroker://127.0.0.1:9092"]
    assert options["topic_replication_factor"] == 1


def test_remote_cluster_batches_and_is_idempotent() -> None:
    """A real cluster gets Faust's batching, the idempotent transport and replication 3."""
    options = app_settings(service(SASL_ENV | {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}), "salesflow-scoring")
    assert options.get("producer_max_batch_size", 0) != 1
    assert "broker_session_timeout" not in options
    assert options["broker"] == ["salesflow://kafka-0.kafka:9093", "salesflow://kafka-1.kafka:9093"]
    assert options["topic_replication_factor"] == 3


def test_explicit_local_broker_flag_wins() -> None:
    """SALESFLOW_LOCAL_BROKER=true selects the local transport for a broker on another address."""
    options = app_settings(service({"KAFKA_BOOTSTRAP_SERVERS": "tansu:9092", "SALESFLOW_LOCAL_BROKER": "true"}), "a")
    assert options["broker"] == ["localbroker://tansu:9092"]


def test_sasl_credentials_reach_aiokafka() -> None:
    """Faust hands aiokafka the SASL mechanism, username and password from the environment."""
    env = SASL_ENV | {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}
    auth = credentials_to_aiokafka_auth(app_settings(service(env), "a")["broker_credentials"])
    assert auth["security_protocol"] == "SASL_PLAINTEXT"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("salesflow-ingest", "s3cret")


def test_sasl_over_tls_gives_aiokafka_an_ssl_context() -> None:
    """With SASL_SSL aiokafka gets SASL credentials and a TLS context."""
    env = {key: value for key, value in SASL_ENV.items() if key != "KAFKA_SSL_CAFILE"}
    auth = credentials_to_aiokafka_auth(app_settings(service(env), "a")["broker_credentials"])
    assert auth["security_protocol"] == "SASL_SSL" and auth["ssl_context"] is not None
    assert auth["sasl_plain_password"] == "s3cret"


def test_plaintext_has_no_credentials() -> None:
    """PLAINTEXT gives Faust no credentials at all."""
    assert app_settings(service({}), "a")["broker_credentials"] is None
