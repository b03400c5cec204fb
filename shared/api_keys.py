"""API keys for the HTTP APIs: kept as SHA-256 digests, compared in constant time, optionally
scoped to lead sources.

`SALESFLOW_API_KEYS` (or the file named by `SALESFLOW_API_KEYS_FILE`) is a comma-separated list
of entries `<key>` or `sha256:<64 hex digest of the key>`, each optionally followed by
`@source|source` to limit which lead sources the key may submit. With none configured, a key is
generated for the run (local stacks only) and its plaintext kept to be printed once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import SettingsError, env_secret

DIGEST_PREFIX = "sha256:"


@dataclass(frozen=True)
class ApiKey:
    """One accepted key: its digest, a short id for metrics and logs, and its source scope."""

    key_id: str
    digest: bytes
    sources: frozenset[str] = frozenset()

    def allows(self, source: str) -> bool:
        return not self.sources or source in self.sources


def digest_of(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_entry(entry: str) -> ApiKey:
    """One configuration entry; SettingsError names what is wrong without echoing the secret."""
    secret, _, scope = entry.strip().partition("@")
    sources = frozenset(s.strip() for s in scope.split("|") if s.strip())
    if secret.startswith(DIGEST_PREFIX):
        hexdigest = secret.removeprefix(DIGEST_PREFIX)
        if len(hexdigest) != 64 or any(c not in "0123456789abcdef" for c in hexdigest.lower()):
            raise SettingsError("SALESFLOW_API_KEYS: a sha256: entry needs 64 hex digits")
        digest = bytes.fromhex(hexdigest)
    elif len(secret) < 16:
        raise SettingsError("SALESFLOW_API_KEYS: keys must be at least 16 characters")
    else:
        digest = digest_of(secret)
    return ApiKey(digest.hex()[:8], digest, sources)


@dataclass(frozen=True)
class ApiKeys:
    keys: tuple[ApiKey, ...]
    # The plaintext of a key generated for this run, to print once; None when keys are configured.
    generated: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiKeys:
        env = os.environ if env is None else env
        entries = [e for e in env_secret(env, "SALESFLOW_API_KEYS").split(",") if e.strip()]
        if entries:
            return cls(tuple(parse_entry(e) for e in entries))
        token = secrets.token_urlsafe(24)
        return cls((parse_entry(token),), generated=token)

    def match(self, token: str) -> ApiKey | None:
        """The key `token` is, comparing against every digest so timing says nothing."""
        presented = digest_of(token)
        found = None
        for key in self.keys:
            if hmac.compare_digest(presented, key.digest):
                found = key
        return found


def announce_generated_key(service: str, keys: ApiKeys) -> None:
    """Print a run's generated key once, on stdout (never to the logs)."""
    if keys.generated:
        print(f"{service}: SALESFLOW_API_KEYS is unset; generated API key for this run: {keys.generated}", flush=True)
