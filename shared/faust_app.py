"""The Faust app factory: one place for broker settings, credentials and the transport per broker.

Builds the app; it never defines agents (services do that).
"""

from __future__ import annotations

import ssl
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faust
import faust.streams
from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

from shared.config import KafkaSettings, ServiceSettings
from shared.group_consumer import GroupConsumer


class IdempotentProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer with idempotence on: a retried send never writes twice."""

    def _settings_extra(self) -> dict[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class IdempotentTransport(faust_aiokafka.Transport):
    Consumer = GroupConsumer
    Producer = IdempotentProducer


# "salesflow://host:port" selects the idempotent transport, "localbroker://" the local one.
TRANSPORTS.aliases["salesflow"] = f"{__name__}:IdempotentTransport"
TRANSPORTS.aliases["localbroker"] = "shared.local_broker:LocalBrokerTransport"


@contextmanager
def handling(event: faust.EventT[Any] | None) -> Iterator[None]:
    """Make `event` Faust's current event (as while a stream yields it) for table writes made later.

    Faust reads the current event to choose a table write's changelog and RocksDB partition.
    """
    token = faust.streams._current_event.set(weakref.ref(event) if event is not None else None)
    try:
        yield
    finally:
        faust.streams._current_event.reset(token)


# RocksDB's memory per table partition. Faust's defaults give every partition its own 2 GiB block
# cache and up to three 64 MiB memtables, which no pod limit can hold as tables grow. A service's
# tables open on one shared budget instead (shared/rocksdb_budget.py, SALESFLOW_ROCKSDB_MEMORY_MIB),
# which replaces the block cache below and charges the memtables to it; an idle partition still
# keeps its last memtable, so the bound is the budget plus 2 MiB per partition owned.
ROCKSDB_OPTIONS = {
    "write_buffer_size": 2 * 1024**2,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 * 1024**2,
}


def fast_group_profile() -> dict[str, Any]:
    """A new consumer group joins in about 3 s instead of Faust's default 30 s."""
    return {
        "broker_rebalance_timeout": 6.0,
        "broker_session_timeout": 6.0,
        "broker_heartbeat_interval": 1.0,
    }


def broker_credentials(kafka: KafkaSettings) -> SASLCredentials | SSLCredentials | None:
    """aiokafka credentials for the configured SASL/TLS settings (None for PLAINTEXT)."""
    context = _ssl_context(kafka) if kafka.uses_tls else None
    if kafka.uses_sasl:
        return SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password,
            mechanism=kafka.sasl_mechanism,
            ssl_context=context,
        )
    return SSLCredentials(context) if context is not None else None


def _ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=kafka.ssl_cafile or None)
    if kafka.ssl_certfile:
        context.load_cert_chain(kafka.ssl_certfile, kafka.ssl_keyfile or None)
    return context


def _transport(kafka: KafkaSettings) -> str:
    """The idempotent transport everywhere but the local broker, which gets the local one (shared/local_broker.py).

    Tansu answers aiokafka's InitProducerId (v0, which carries no producer id/epoch) with an
    unknown error, so Faust's producer cannot be idempotent there; confluent-kafka's can.
    aiokafka keeps one request in flight per broker, so a retried send still cannot reorder.
    """
    return "localbroker" if kafka.local_broker else "salesflow"


def app_settings(settings: ServiceSettings, app_id: str) -> dict[str, Any]:
    """Every keyword the app is created with, so tests can inspect the profile."""
    kafka = settings.kafka
    options: dict[str, Any] = {
        "broker": [f"{_transport(kafka)}://{host}" for host in kafka.bootstrap_servers.split(",")],
        "broker_credentials": broker_credentials(kafka),
        "store": "rocksdb://",
        "datadir": str(Path(settings.data_dir) / app_id),
        "key_serializer": "raw",
        "value_serializer": "raw",
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": 1 if kafka.local_broker else 3,
        "web_port": settings.web_port,
        "web_bind": settings.web_host,
        "web_host": "127.0.0.1",
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "table_cleanup_interval": 30.0,
        "stream_wait_empty": False,
        # A handler that raises leaves its record unacknowledged, so it is never committed.
        "stream_ack_exceptions": False,
    }
    if settings.instance_id:
        options["consumer_group_instance_id"] = settings.instance_id
    options |= fast_group_profile() if kafka.local_broker else {}
    return options


def create_app(settings: ServiceSettings, *, app_id: str | None = None) -> faust.App:
    """The service's Faust app; `app_id` (the consumer group) defaults to salesflow-<service>.

    A topic prefix (tests) prefixes the group and its changelog topics too.
    """
    app_id = app_id or f"{settings.topic_prefix}salesflow-{settings.service}"
    options = app_settings(settings, app_id)
    Path(options["datadir"]).parent.mkdir(parents=True, exist_ok=True)
    return faust.App(app_id, autodiscover=False, **options)
