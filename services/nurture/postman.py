"""Send-once delivery: claim the send in Redis, hand the message to SMTP, record the outcome.

A crash between claim and record leaves the claim "pending", and a pending claim is never sent
again: at most once, with the uncertain case reported as "unknown" rather than repeated.
"""

from __future__ import annotations

from email.message import EmailMessage

from services.nurture.config import NurtureConfig
from services.nurture.mailer import PermanentRejection, deliver
from services.nurture.store import NurtureStore
from shared.errors import TransientFailure
from shared.runtime import ServiceRuntime


class Postman:
    """Delivers each `ref` (a step, a meeting mail) at most once; owns the email metrics."""

    def __init__(self, runtime: ServiceRuntime, config: NurtureConfig, store: NurtureStore) -> None:
        self.runtime, self.config, self.store = runtime, config, store
        metrics = runtime.metrics
        self.emails_sent = metrics.counter("emails_sent_total", "Emails the relay accepted.", ("sequence",))
        self.smtp_failures = metrics.counter("smtp_failures_total", "SMTP attempts that failed.", ("kind",))

    async def deliver_once(self, ref: str, lead_id: str, message: EmailMessage, sequence_id: str) -> str:
        """ "sent", "unknown" (a crash interrupted an earlier attempt; never repeated) or "bounced"."""
        earlier = await self.store.claim_send(ref)
        if earlier is not None:
            self.runtime.log.warning("email_send_already_claimed", lead_id=lead_id, outcome=earlier)
            return "unknown" if earlier == "pending" else earlier
        try:
            await deliver(message, self.config.smtp)
        except TransientFailure:
            self.smtp_failures.labels("transient").inc()
            await self.store.release_send(ref)
            raise
        except PermanentRejection as rejection:
            self.smtp_failures.labels("permanent").inc()
            await self.store.record_send(ref, "bounced")
            self.runtime.log.info("email_bounced", lead_id=lead_id, smtp_code=rejection.code)
            return "bounced"
        await self.store.record_send(ref, "sent")
        self.emails_sent.labels(sequence_id).inc()
        self.runtime.log.info("email_sent", lead_id=lead_id, message_id=message["Message-ID"])
        return "sent"
