"""Validation and normalisation of submitted leads and engagement events. Pure: no I/O, no clock.

Takes the loose shape an upstream sends (JSON or decoded Avro) and returns either a clean value
or every field error at once, so a caller can fix a submission in one round trip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from shared.avro_codec import enum_symbols

# The lead sources and engagement types are the Avro enums of the contract.
SOURCES = frozenset(enum_symbols("LeadSubmitted", "source"))
ENGAGEMENT_TYPES = frozenset(enum_symbols("EngagementEvent", "type"))
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.jp",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "zoho.com",
    }
)
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS) - {"001"}
MAX_STRING = 256
MAX_EMAIL = 254
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_VALUE = 1024
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
OPTIONAL_STRINGS = (
    "first_name",
    "last_name",
    "company",
    "job_title",
    "industry",
    "region",
    "product_interest",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(ValueError):
    """One or more fields are invalid; `errors` names each."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass
class _Checker:
    """Collects errors while reading fields, so every bad field is reported together."""

    raw: Mapping[str, Any]
    errors: list[FieldError] = field(default_factory=list)

    def fail(self, name: str, message: str) -> None:
        self.errors.append(FieldError(name, message))

    def string(self, name: str, *, required: bool = False, limit: int = MAX_STRING) -> str | None:
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "is required")
            return None
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return None
        value = value.strip()
        if len(value) > limit:
            self.fail(name, f"must be at most {limit} characters")
            return None
        return value

    def integer(self, name: str, *, maximum: int) -> int | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            self.fail(name, f"must be an integer between 0 and {maximum}")
            return None
        return value

    def boolean(self, name: str) -> bool:
        value = self.raw.get(name, False)
        if not isinstance(value, bool):
            self.fail(name, "must be true or false")
            return False
        return value

    def timestamp(self, name: str, default: datetime) -> datetime:
        value = self.raw.get(name)
        if value is None:
            return default
        parsed = parse_timestamp(value)
        if parsed is None:
            self.fail(name, "must be an ISO-8601 time with a zone, or epoch milliseconds")
            return default
        return parsed

    def choice(self, name: str, allowed: frozenset[str]) -> str | None:
        value = self.string(name, required=True)
        if value is not None and value not in allowed:
            self.fail(name, f"must be one of {', '.join(sorted(allowed))}")
            return None
        return value

    def attributes(self) -> dict[str, str]:
        value = self.raw.get("attributes") or {}
        if not isinstance(value, Mapping) or len(value) > MAX_ATTRIBUTES:
            self.fail("attributes", f"must be a map of at most {MAX_ATTRIBUTES} string entries")
            return {}
        if any(
            not isinstance(k, str)
            or not isinstance(v, str)
            or len(k) > MAX_ATTRIBUTE_KEY
            or len(v) > MAX_ATTRIBUTE_VALUE
            for k, v in value.items()
        ):
            self.fail(
                "attributes", f"keys and values must be strings (<= {MAX_ATTRIBUTE_KEY}/{MAX_ATTRIBUTE_VALUE} chars)"
            )
            return {}
        return dict(value)

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def parse_timestamp(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from a datetime, epoch milliseconds, or ISO-8601 with zone."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else None
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC) if 0 <= value < 2**45 else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else None
    return None


def normalise_email(raw: str) -> str | None:
    email = raw.strip().lower()
    return email if len(email) <= MAX_EMAIL and _EMAIL.match(email) else None


def company_domain(email: str) -> str | None:
    """The canonical company domain of an email, or None for free-mail providers."""
    domain = email.rsplit("@", 1)[1].lower().removeprefix("www.")
    return None if domain in FREE_MAIL_DOMAINS else domain


def normalise_phone(raw: str, country: str | None) -> str:
    """E.164 when the number parses and is valid for its country; the trimmed input otherwise."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_valid_number(number):
        return raw
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_lead(raw: Mapping[str, Any], *, now: datetime, event_id: str | None = None) -> dict[str, Any]:
    """A normalised LeadSubmitted dict, or ValidationFailed naming every bad field.

    `event_id` fills a missing one (HTTP callers may leave it out); `now` a missing occurred_at.
    """
    if not isinstance(raw, Mapping):
        raise ValidationFailed([FieldError("body", "must be a JSON object")])
    check = _Checker(raw)
    lead: dict[str, Any] = {
        "event_id": check.string("event_id", required=event_id is None) or event_id,
        "occurred_at": check.timestamp("occurred_at", now),
        "source": check.choice("source", SOURCES),
        "email": _email(check),
        "country": _country(check),
        "employees": check.integer("employees", maximum=10_000_000),
        "annual_revenue": check.integer("annual_revenue", maximum=10**13),
        "marketing_consent": check.boolean("marketing_consent"),
        "attributes": check.attributes(),
    }
    lead |= {name: check.string(name) for name in OPTIONAL_STRINGS}
    phone = check.string("phone", limit=40)
    lead["phone"] = normalise_phone(phone, lead["country"]) if phone else None
    check.done()
    return lead


def _email(check: _Checker) -> str | None:
    raw = check.string("email", required=True, limit=MAX_EMAIL)
    if raw is None:
        return None
    email = normalise_email(raw)
    if email is None:
        check.fail("email", "is not a valid email address")
    return email


def _country(check: _Checker) -> str | None:
    raw = check.string("country", limit=2)
    if raw is None:
        return None
    code = raw.upper()
    if code not in COUNTRIES:
        check.fail("country", "must be an ISO 3166-1 alpha-2 code")
        return None
    return code


def validate_engagement(raw: Mapping[str, Any], *, now: datetime, event_id: str | None = None) -> dict[str, Any]:
    """A normalised EngagementEvent dict (lead_id or email present), or ValidationFailed."""
    if not isinstance(raw, Mapping):
        raise ValidationFailed([FieldError("body", "must be a JSON object")])
    check = _Checker(raw)
    engagement: dict[str, Any] = {
        "event_id": check.string("event_id", required=event_id is None) or event_id,
        "occurred_at": check.timestamp("occurred_at", now),
        "type": check.choice("type", ENGAGEMENT_TYPES),
        "lead_id": check.string("lead_id", limit=64),
        "email": None,
        "url": check.string("url", limit=2048),
        "campaign": check.string("campaign"),
        "attributes": check.attributes(),
    }
    if raw.get("email") is not None:
        engagement["email"] = _email(check)
    if engagement["lead_id"] is None and raw.get("email") is None:
        check.fail("lead_id", "lead_id or email is required")
    check.done()
    return engagement
