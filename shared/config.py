"""Typed settings read from environment variables, shared by every service.

Reads the environment only when asked (`from_env`); holds no global state.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

LOCAL_BOOTSTRAP = "127.0.0.1:9092"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


def env_str(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def env_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def env_secret(env: Mapping[str, str], name: str) -> str:
    """A secret from `NAME`, or from the file named by `NAME_FILE` (mounted Kubernetes secrets)."""
    path = env.get(f"{name}_FILE", "").strip()
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    return env.get(name, "")


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaSettings:
    """How to reach the Kafka cluster; passed to both aiokafka (Faust) and confluent-kafka."""

    bootstrap_servers: str = LOCAL_BOOTSTRAP
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    # The local Tansu broker mis-reports end offsets after multi-record batches; see
    # shared/local_broker.py for how the local transport handles that.
    local_broker: bool = False
    schema_registry_url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSettings:
        protocol = env_str(env, "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
        if protocol not in SECURITY_PROTOCOLS:
            raise SettingsError(f"KAFKA_SECURITY_PROTOCOL must be one of {SECURITY_PROTOCOLS}")
        mechanism = env_str(env, "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").upper()
        if mechanism not in SASL_MECHANISMS:
            raise SettingsError(f"KAFKA_SASL_MECHANISM must be one of {SASL_MECHANISMS}")
        bootstrap = env_str(env, "KAFKA_BOOTSTRAP_SERVERS", LOCAL_BOOTSTRAP)
        return cls(
            bootstrap_servers=bootstrap,
            security_protocol=protocol,
            sasl_mechanism=mechanism,
            sasl_username=env_str(env, "KAFKA_SASL_USERNAME", ""),
            sasl_password=env_secret(env, "KAFKA_SASL_PASSWORD"),
            ssl_cafile=env_str(env, "KAFKA_SSL_CAFILE", ""),
            ssl_certfile=env_str(env, "KAFKA_SSL_CERTFILE", ""),
            ssl_keyfile=env_str(env, "KAFKA_SSL_KEYFILE", ""),
            local_broker=env_bool(env, "SALESFLOW_LOCAL_BROKER", bootstrap == LOCAL_BOOTSTRAP),
            schema_registry_url=env_str(env, "SCHEMA_REGISTRY_URL", ""),
        )

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def confluent_config(self) -> dict[str, str]:
        """librdkafka settings for confluent-kafka producers, consumers and admin clients."""
        config = {"bootstrap.servers": self.bootstrap_servers, "security.protocol": self.security_protocol}
        if self.uses_sasl:
            config |= {
                "sasl.mechanism": self.sasl_mechanism,
                "sasl.username": self.sasl_username,
                "sasl.password": self.sasl_password,
            }
        if self.uses_tls and self.ssl_cafile:
            config["ssl.ca.location"] = self.ssl_cafile
        if self.uses_tls and self.ssl_certfile:
            config |= {"ssl.certificate.location": self.ssl_certfile, "ssl.key.location": self.ssl_keyfile}
        return config


@dataclass(frozen=True)
class PiiSettings:
    """Crypto-shredding: whether ingest seals personal fields, and how readers cache subject keys."""

    sealing: bool = True
    # 32 bytes that wrap every stored data key; None stores keys unwrapped (development only).
    master_key: bytes | None = field(default=None, repr=False)
    # Opened keys are cached this long in each reader; an erasure seen drops its subject at once.
    cache_seconds: float = 60.0
    cache_size: int = 10_000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PiiSettings:
        return cls(
            sealing=env_bool(env, "SALESFLOW_PII_SEALING", True),
            master_key=master_key(env_secret(env, "SALESFLOW_PII_MASTER_KEY")),
            cache_seconds=env_float(env, "SALESFLOW_PII_KEY_CACHE_SECONDS", 60.0),
            cache_size=env_int(env, "SALESFLOW_PII_KEY_CACHE_SIZE", 10_000),
        )


def master_key(raw: str) -> bytes | None:
    """A base64 (standard or URL-safe) 32-byte key; None when empty."""
    if not raw.strip():
        return None
    try:
        key = base64.b64decode(raw.strip().replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error as exc:
        raise SettingsError("SALESFLOW_PII_MASTER_KEY must be base64") from exc
    if len(key) != 32:
        raise SettingsError(f"SALESFLOW_PII_MASTER_KEY must decode to 32 bytes, got {len(key)}")
    return key


def _rocksdb_memory_mib(env: Mapping[str, str]) -> int:
    mib = env_int(env, "SALESFLOW_ROCKSDB_MEMORY_MIB", 32)
    if mib < 8:
        raise SettingsError(f"SALESFLOW_ROCKSDB_MEMORY_MIB must be at least 8 (MiB), got {mib}")
    return mib


EVENT_LOOPS = ("uvloop", "asyncio")


def _event_loop(env: Mapping[str, str]) -> str:
    name = env_str(env, "SALESFLOW_EVENT_LOOP", "uvloop").lower()
    if name not in EVENT_LOOPS:
        raise SettingsError(f"SALESFLOW_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, got {name!r}")
    return name


def _heap_trim_seconds(env: Mapping[str, str]) -> float:
    seconds = env_float(env, "SALESFLOW_HEAP_TRIM_SECONDS", 60.0)
    if not seconds >= 0:  # NaN too
        raise SettingsError(f"SALESFLOW_HEAP_TRIM_SECONDS must be 0 (never) or more, got {seconds}")
    return seconds


@dataclass(frozen=True)
class ServiceSettings:
    """What every service needs: where Kafka and Redis are, where tables live, its web port."""

    service: str
    kafka: KafkaSettings
    redis_url: str = LOCAL_REDIS
    data_dir: str = ".local/data"
    web_host: str = "0.0.0.0"
    web_port: int = 8000
    log_level: str = "INFO"
    # Stable pod name on Kubernetes; empty elsewhere.
    instance_id: str = ""
    topic_partitions: int = 6
    # Tests give each run its own topics and Redis keys; production leaves the topic prefix empty.
    topic_prefix: str = ""
    redis_prefix: str = "salesflow:"
    pii: PiiSettings = field(default_factory=PiiSettings)
    # RocksDB's memory for all of the service's table partitions together (shared/rocksdb_budget.py).
    rocksdb_memory_mib: int = 32
    # The worker's event loop: uvloop costs scoring and nurture less CPU per record; asyncio's own stays a choice.
    event_loop: str = "uvloop"
    # How often the worker hands the C heap's free pages back (shared/heap_trim.py); 0: never.
    heap_trim_seconds: float = 60.0

    @classmethod
    def from_env(cls, service: str, default_port: int, env: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if env is None else env
        prefix = f"{service.upper()}_"
        return cls(
            service=service,
            kafka=KafkaSettings.from_env(env),
            redis_url=env_secret(env, "REDIS_URL") or LOCAL_REDIS,
            data_dir=env_str(env, "SALESFLOW_DATA_DIR", ".local/data"),
            web_host=env_str(env, f"{prefix}WEB_HOST", "0.0.0.0"),
            web_port=env_int(env, f"{prefix}PORT", default_port),
            log_level=env_str(env, "SALESFLOW_LOG_LEVEL", env_str(env, "LOG_LEVEL", "INFO")).upper(),
            instance_id=env_str(env, "SALESFLOW_STATIC_MEMBER_ID", ""),
            topic_partitions=env_int(env, "SALESFLOW_TOPIC_PARTITIONS", 6),
            topic_prefix=env_str(env, "SALESFLOW_TOPIC_PREFIX", ""),
            redis_prefix=env_str(env, "SALESFLOW_REDIS_PREFIX", "salesflow:"),
            pii=PiiSettings.from_env(env),
            rocksdb_memory_mib=_rocksdb_memory_mib(env),
            event_loop=_event_loop(env),
            heap_trim_seconds=_heap_trim_seconds(env),
        )
