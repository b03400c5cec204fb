"""The two kinds of failure a handler can raise, and what the runtime does with each."""

from __future__ import annotations


class InvalidRecord(ValueError):
    """A record that can never be processed (bad data): it goes to the DLQ and processing goes on."""


class TransientFailure(RuntimeError):
    """A dependency is down for now (Redis, SMTP): the runtime retries the record, never dead-letters it."""
