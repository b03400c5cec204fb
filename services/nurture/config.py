"""nurture's settings, from NURTURE_*, SMTP_*, SALESFLOW_API_KEYS and SALESFLOW_UNSUBSCRIBE_SECRET.

Also loads the configured sequences, failing at start when a rule names one that is not there.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from services.nurture.caps import Cap
from services.nurture.colleagues import FREE_MAIL_DOMAINS
from services.nurture.sequences import SHIPPED, Sequence, load_sequences, with_holidays
from shared.api_keys import ApiKeys
from shared.config import SettingsError, env_bool, env_float, env_int, env_list, env_secret, env_str

PORT = 8004
_SPAN = re.compile(r"^\s*(\d+)\s*(d|h|m|s)\s*$")
_SPAN_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1), "s": timedelta(seconds=1)}


def parse_span(text: str) -> timedelta:
    """'24h', '1h', '30m', '2d', '90s' as a timedelta; SettingsError for anything else."""
    match = _SPAN.match(text)
    if match is None:
        raise SettingsError(f"bad duration {text!r}: use <n>d, <n>h, <n>m or <n>s")
    return int(match.group(1)) * _SPAN_UNITS[match.group(2)]


def _caps(env: Mapping[str, str], name: str, default: str) -> tuple[Cap, ...]:
    return tuple(Cap.parse(item) for item in env_list({"c": env.get(name, default)}, "c"))


def _free_mail(env: Mapping[str, str]) -> frozenset[str]:
    """NURTURE_FREE_MAIL_DOMAINS replaces the built-in list; "+a.com,b.org" adds to it."""
    raw = env.get("NURTURE_FREE_MAIL_DOMAINS", "").strip()
    named = frozenset(d.lower() for d in env_list({"d": raw.removeprefix("+")}, "d"))
    if not raw:
        return FREE_MAIL_DOMAINS
    return FREE_MAIL_DOMAINS | named if raw.startswith("+") else named


def _spans(env: Mapping[str, str], name: str, default: str) -> tuple[timedelta, ...]:
    return tuple(parse_span(item) for item in env_list({"s": env.get(name, default)}, "s"))


# The features that follow a sequence only when there is one: setting -> environment variable.
_OPTIONAL_SEQUENCES = {
    "reengage_sequence": "NURTURE_REENGAGE_SEQUENCE",
    "onboarding_sequence": "NURTURE_ONBOARDING_SEQUENCE",
}


@dataclass(frozen=True)
class SmtpSettings:
    """The relay: STARTTLS and AUTH only when configured (the local sink needs neither)."""

    host: str = "127.0.0.1"
    port: int = 1025
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    timeout_seconds: float = 10.0
    # Our name in EHLO. Left to aiosmtplib, it asks socket.getfqdn() on a worker thread for every
    # email, which in a pod can be a reverse DNS query per send.
    local_hostname: str = "localhost"


@dataclass(frozen=True)
class NurtureConfig:
    unsubscribe_secret: bytes = field(repr=False)
    generated_secret: bool
    public_url: str
    api_keys: ApiKeys = field(default_factory=lambda: ApiKeys.from_env({}), repr=False)
    smtp: SmtpSettings = SmtpSettings()
    sequences_dir: Path = SHIPPED
    rep_sequence: str = "mql-follow-up"
    marketing_sequence: str = "new-inbound-lead"
    # An empty sequence id switches the feature off; so does a default id the sequences lack.
    reengage_sequence: str = "re-engagement"
    onboarding_sequence: str = "onboarding"
    explicit_sequences: frozenset[str] = frozenset()
    reengage_after: timedelta = timedelta(days=30)
    mql_threshold: int = 60
    sender_name: str = "Salesflow"
    sender_email: str = "hello@salesflow.example"
    unsubscribe_mailto: str = "unsubscribe@salesflow.example"
    mail_domain: str = "salesflow.example"
    calendar_url: str = "https://salesflow.example/meet/{rep_id}"
    lead_caps: tuple[Cap, ...] = (Cap.parse("1/day"), Cap.parse("3/week"))
    mailbox_caps: tuple[Cap, ...] = (Cap.parse("20/minute"), Cap.parse("1000/24h"))
    meeting_reminders: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    meeting_minutes: int = 30
    task_due_after: timedelta = timedelta(hours=24)
    max_body_bytes: int = 64 * 1024
    holidays: frozenset[date] = frozenset()
    send_once_ttl_seconds: int = 30 * 24 * 3600
    unsubscribe_token_days: int = 365
    scheduler_interval_seconds: float = 1.0
    timer_lease_seconds: int = 60
    timer_batch: int = 100
    due_steps_at_once: int = 8
    reconcile_interval_seconds: float = 60.0
    # Global, off by default: a reply ends the live enrolments of every lead at the same company.
    colleague_reply_exit: bool = False
    free_mail_domains: frozenset[str] = FREE_MAIL_DOMAINS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NurtureConfig:
        env = os.environ if env is None else env
        secret = env_secret(env, "SALESFLOW_UNSUBSCRIBE_SECRET")
        port = env_int(env, "NURTURE_PORT", PORT)
        return cls(
            # With no secret the local stack generates one (links then die with the process).
            unsubscribe_secret=(secret or secrets.token_urlsafe(32)).encode(),
            generated_secret=not secret,
            public_url=env_str(env, "NURTURE_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            api_keys=ApiKeys.from_env(env),
            smtp=SmtpSettings(
                host=env_str(env, "SMTP_HOST", "127.0.0.1"),
                port=env_int(env, "SMTP_PORT", 1025),
                username=env_str(env, "SMTP_USERNAME", ""),
                password=env_secret(env, "SMTP_PASSWORD"),
                starttls=env_bool(env, "SMTP_STARTTLS", False),
                timeout_seconds=env_float(env, "SMTP_TIMEOUT_SECONDS", 10.0),
                local_hostname=env_str(env, "SMTP_LOCAL_HOSTNAME", "") or socket.getfqdn(),
            ),
            sequences_dir=Path(env_str(env, "NURTURE_SEQUENCES_DIR", str(SHIPPED))),
            rep_sequence=env_str(env, "NURTURE_REP_SEQUENCE", "mql-follow-up"),
            marketing_sequence=env_str(env, "NURTURE_MARKETING_SEQUENCE", "new-inbound-lead"),
            reengage_sequence=env.get("NURTURE_REENGAGE_SEQUENCE", "re-engagement").strip(),
            onboarding_sequence=env.get("NURTURE_ONBOARDING_SEQUENCE", "onboarding").strip(),
            explicit_sequences=frozenset(
                name for name, variable in _OPTIONAL_SEQUENCES.items() if env.get(variable, "").strip()
            ),
            # Fractions of a day are allowed so that tests and demos need not wait a month.
            reengage_after=timedelta(days=env_float(env, "NURTURE_REENGAGE_AFTER_DAYS", 30.0)),
            mql_threshold=env_int(env, "NURTURE_MQL_THRESHOLD", 60),
            sender_name=env_str(env, "NURTURE_SENDER_NAME", "Salesflow"),
            sender_email=env_str(env, "NURTURE_SENDER_EMAIL", "hello@salesflow.example"),
            unsubscribe_mailto=env_str(env, "NURTURE_UNSUBSCRIBE_MAILTO", "unsubscribe@salesflow.example"),
            mail_domain=env_str(env, "NURTURE_MAIL_DOMAIN", "salesflow.example"),
            calendar_url=env_str(env, "NURTURE_CALENDAR_URL", "https://salesflow.example/meet/{rep_id}"),
            lead_caps=_caps(env, "NURTURE_LEAD_CAPS", "1/day,3/week"),
            mailbox_caps=_caps(env, "NURTURE_MAILBOX_CAPS", "20/minute,1000/24h"),
            meeting_reminders=_spans(env, "NURTURE_MEETING_REMINDERS", "24h,1h"),
            meeting_minutes=env_int(env, "NURTURE_MEETING_MINUTES", 30),
            task_due_after=parse_span(env_str(env, "NURTURE_TASK_DUE_AFTER", "24h")),
            max_body_bytes=env_int(env, "NURTURE_MAX_BODY_BYTES", 64 * 1024),
            holidays=frozenset(date.fromisoformat(day) for day in env_list(env, "NURTURE_HOLIDAYS")),
            send_once_ttl_seconds=env_int(env, "NURTURE_SEND_ONCE_TTL_SECONDS", 30 * 24 * 3600),
            scheduler_interval_seconds=env_float(env, "NURTURE_SCHEDULER_INTERVAL_SECONDS", 1.0),
            timer_lease_seconds=env_int(env, "NURTURE_TIMER_LEASE_SECONDS", 60),
            timer_batch=_at_least_one(env, "NURTURE_TIMER_BATCH", 100),
            reconcile_interval_seconds=env_float(env, "NURTURE_RECONCILE_INTERVAL_SECONDS", 60.0),
            due_steps_at_once=_at_least_one(env, "NURTURE_DUE_STEPS_AT_ONCE", 8),
            colleague_reply_exit=env_bool(env, "NURTURE_COLLEAGUE_REPLY_EXIT", False),
            free_mail_domains=_free_mail(env),
        )


def _at_least_one(env: Mapping[str, str], name: str, default: int) -> int:
    value = env_int(env, name, default)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _optional_sequence(config: NurtureConfig, name: str, loaded: Mapping[str, Sequence]) -> str:
    sequence_id: str = getattr(config, name)
    if not sequence_id or sequence_id in loaded:
        return sequence_id
    if name in config.explicit_sequences:
        raise ValueError(f"sequence {sequence_id!r} is not in {config.sequences_dir}")
    return ""


def load_configured(config: NurtureConfig) -> tuple[NurtureConfig, dict[str, Sequence]]:
    """The configured sequences, and the config with features whose default sequence is absent
    switched off. Fails at start when a setting that was given names a sequence that is not there."""
    loaded = with_holidays(load_sequences(config.sequences_dir.glob("*.yaml")), config.holidays)
    for sequence_id in (config.rep_sequence, config.marketing_sequence):
        if sequence_id not in loaded:
            raise ValueError(f"sequence {sequence_id!r} is not in {config.sequences_dir}")
    reengage = _optional_sequence(config, "reengage_sequence", loaded)
    onboarding = _optional_sequence(config, "onboarding_sequence", loaded)
    return replace(config, reengage_sequence=reengage, onboarding_sequence=onboarding), loaded
