"""nurture's settings, from NURTURE_*, SMTP_* and SALESFLOW_UNSUBSCRIBE_SECRET."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from services.nurture.caps import Cap
from services.nurture.sequences import SHIPPED
from shared.config import env_bool, env_float, env_int, env_list, env_secret, env_str

PORT = 8004


@dataclass(frozen=True)
class SmtpSettings:
    """The relay: STARTTLS and AUTH only when configured (the local sink needs neither)."""

    host: str = "127.0.0.1"
    port: int = 1025
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class NurtureConfig:
    unsubscribe_secret: bytes = field(repr=False)
    generated_secret: bool
    public_url: str
    smtp: SmtpSettings = SmtpSettings()
    sequences_dir: Path = SHIPPED
    rep_sequence: str = "mql-follow-up"
    marketing_sequence: str = "new-inbound-lead"
    mql_threshold: int = 60
    sender_name: str = "Salesflow"
    sender_email: str = "hello@salesflow.example"
    unsubscribe_mailto: str = "unsubscribe@salesflow.example"
    mail_domain: str = "salesflow.example"
    calendar_url: str = "https://salesflow.example/meet/{rep_id}"
    lead_caps: tuple[Cap, ...] = (Cap.parse("1/day"), Cap.parse("3/week"))
    holidays: frozenset[date] = frozenset()
    send_once_ttl_seconds: int = 30 * 24 * 3600
    unsubscribe_token_days: int = 365
    scheduler_interval_seconds: float = 1.0
    timer_lease_seconds: int = 60
    timer_batch: int = 100

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NurtureConfig:
        env = os.environ if env is None else env
        secret = env_secret(env, "SALESFLOW_UNSUBSCRIBE_SECRET")
        port = env_int(env, "NURTURE_PORT", PORT)
        caps = env.get("NURTURE_LEAD_CAPS", "1/day,3/week")
        return cls(
            # With no secret the local stack generates one (links then die with the process).
            unsubscribe_secret=(secret or secrets.token_urlsafe(32)).encode(),
            generated_secret=not secret,
            public_url=env_str(env, "NURTURE_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            smtp=SmtpSettings(
                host=env_str(env, "SMTP_HOST", "127.0.0.1"),
                port=env_int(env, "SMTP_PORT", 1025),
                username=env_str(env, "SMTP_USERNAME", ""),
                password=env_secret(env, "SMTP_PASSWORD"),
                starttls=env_bool(env, "SMTP_STARTTLS", False),
                timeout_seconds=env_float(env, "SMTP_TIMEOUT_SECONDS", 10.0),
            ),
            sequences_dir=Path(env_str(env, "NURTURE_SEQUENCES_DIR", str(SHIPPED))),
            rep_sequence=env_str(env, "NURTURE_REP_SEQUENCE", "mql-follow-up"),
            marketing_sequence=env_str(env, "NURTURE_MARKETING_SEQUENCE", "new-inbound-lead"),
            mql_threshold=env_int(env, "NURTURE_MQL_THRESHOLD", 60),
            sender_name=env_str(env, "NURTURE_SENDER_NAME", "Salesflow"),
            sender_email=env_str(env, "NURTURE_SENDER_EMAIL", "hello@salesflow.example"),
            unsubscribe_mailto=env_str(env, "NURTURE_UNSUBSCRIBE_MAILTO", "unsubscribe@salesflow.example"),
            mail_domain=env_str(env, "NURTURE_MAIL_DOMAIN", "salesflow.example"),
            calendar_url=env_str(env, "NURTURE_CALENDAR_URL", "https://salesflow.example/meet/{rep_id}"),
            lead_caps=tuple(Cap.parse(item) for item in env_list({"c": caps}, "c")),
            holidays=frozenset(date.fromisoformat(day) for day in env_list(env, "NURTURE_HOLIDAYS")),
            send_once_ttl_seconds=env_int(env, "NURTURE_SEND_ONCE_TTL_SECONDS", 30 * 24 * 3600),
            scheduler_interval_seconds=env_float(env, "NURTURE_SCHEDULER_INTERVAL_SECONDS", 1.0),
            timer_lease_seconds=env_int(env, "NURTURE_TIMER_LEASE_SECONDS", 60),
        )
