"""API keys: digests at rest, constant-time matching, source scopes, clear configuration errors."""

from __future__ import annotations

import hashlib

import pytest

from shared.api_keys import ApiKeys, parse_entry
from shared.config import SettingsError
from shared.http_api import bearer_key

KEY = "k" * 24
OTHER = "o" * 24


def test_plain_and_digest_entries_accept_the_same_key() -> None:
    """A key configured in plain or as its sha256 digest is matched by the same token."""
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    for entry in (KEY, f"sha256:{digest}"):
        keys = ApiKeys((parse_entry(entry),))
        assert keys.match(KEY) is not None
        assert keys.match(OTHER) is None


def test_scope_limits_sources() -> None:
    """A key scoped to sources allows those and refuses the rest; an unscoped key allows all."""
    scoped = parse_entry(f"{KEY}@web_form|partner")
    assert scoped.allows("partner") and not scoped.allows("import")
    assert parse_entry(KEY).allows("import")


def test_bearer_header_is_required() -> None:
    """Only `Bearer <key>` authenticates; other schemes and empty tokens do not."""
    keys = ApiKeys((parse_entry(KEY),))
    assert bearer_key(f"Bearer {KEY}", keys) is not None
    assert bearer_key(f"bearer {KEY}", keys) is not None
    assert bearer_key(f"Basic {KEY}", keys) is None
    assert bearer_key("Bearer ", keys) is None


@pytest.mark.parametrize("entry", ["short", "sha256:abc", "sha256:" + "z" * 64])
def test_bad_entries_are_refused_without_echoing_them(entry: str) -> None:
    """A short key or a malformed digest is a settings error that does not print the secret."""
    with pytest.raises(SettingsError) as error:
        parse_entry(entry)
    assert entry not in str(error.value)


def test_without_configuration_a_key_is_generated_once() -> None:
    """With SALESFLOW_API_KEYS unset a random key is generated, kept for printing, and accepted."""
    keys = ApiKeys.from_env({})
    assert keys.generated is not None and keys.match(keys.generated) is not None
    configured = ApiKeys.from_env({"SALESFLOW_API_KEYS": f"{KEY}, {OTHER}@api"})
    assert configured.generated is None and len(configured.keys) == 2
