"""The nurture.due agent: re-check a due step against the table, consent and caps, then act on it.

An email goes out at most once per enrolment and step: the send-once key is claimed before SMTP.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from services.nurture.app import Nurture
from services.nurture.enrolment import Signal, apply_signal, exit_enrolment, next_step, record_step, resume_due
from services.nurture.leads import LeadProfile, LeadRecord, RepContact, record_send, render_context
from services.nurture.mailer import PermanentRejection, deliver
from services.nurture.messages import Unsubscribe, build_message, message_id, sender_for
from services.nurture.records import Delivery, email_sent, task_created
from services.nurture.sequences import RenderedStep, Sequence, Step, render_step
from services.nurture.state import EnrolmentChanged
from services.nurture.suppression import refusal
from services.nurture.timers import DueStep, postpone, send_at
from services.nurture.tokens import make_token
from services.nurture.variants import choose_variant
from shared.dead_letters import RecordMeta
from shared.errors import TransientFailure

Outcome = tuple[LeadRecord, tuple[EnrolmentChanged, ...]]


class StepRunner:
    """Acts on one StepDue at a time per lead; a stale or early StepDue changes nothing."""

    def __init__(self, nurture: Nurture) -> None:
        self.nurture, self.config, self.store = nurture, nurture.config, nurture.store
        metrics = nurture.runtime.metrics
        self.emails_sent = metrics.counter("emails_sent_total", "Emails the relay accepted.", ("sequence",))
        self.smtp_failures = metrics.counter("smtp_failures_total", "SMTP attempts that failed.", ("kind",))
        self.suppressed = metrics.counter("emails_suppressed_total", "Emails refused at send time.", ("reason",))

    async def on_due(self, value: dict[str, Any], meta: RecordMeta) -> None:
        due = DueStep(value["lead_id"], value["enrolment_id"], value["step_index"])
        async with self.nurture.lock(due.lead_id):
            record = self.nurture.load(due.lead_id)
            now = datetime.now(UTC)
            resumed = resume_due(record.enrolments, now)
            record, changes = await self._act(replace(record, enrolments=resumed.state), due, now)
            await self.nurture.commit(record, (*resumed.changes, *changes), value["event_id"], fired=due.member)

    async def _act(self, record: LeadRecord, due: DueStep, now: datetime) -> Outcome:
        enrolment = record.enrolments.get(due.enrolment_id)
        sequence = self.nurture.sequences.get(enrolment.sequence_id) if enrolment else None
        if enrolment is None or sequence is None or enrolment.step_index != due.step_index:
            return record, ()
        step = next_step(enrolment, sequence, now)
        if step is None:
            return record, ()
        rep = await self.store.rep(record.rep_id) if record.rep_id else None
        if step.channel == "task":
            return await self._task(record, due, sequence, step, rep, now)
        return await self._email(record, due, sequence, step, rep, now)

    def _unsubscribe_url(self, lead_id: str, now: datetime) -> str:
        expires = now + timedelta(days=self.config.unsubscribe_token_days)
        token = make_token(lead_id, expires, self.config.unsubscribe_secret)
        return f"{self.config.public_url}/v1/unsubscribe?token={token}"

    def _render(
        self, record: LeadRecord, due: DueStep, sequence: Sequence, step: Step, rep: RepContact | None, url: str
    ) -> RenderedStep:
        profile = record.profile or LeadProfile(email="")
        context = render_context(profile, rep, (self.config.sender_name, self.config.sender_email), url)
        variant = choose_variant(
            due.lead_id, sequence.sequence_id, step.step_id, [(v.name, v.weight) for v in step.variants]
        )
        return replace(render_step(step, variant, context), variant=variant)

    def _advance(self, record: LeadRecord, due: DueStep, sequence: Sequence, now: datetime) -> Outcome:
        moved = record_step(
            record.enrolments, due.enrolment_id, due.step_index, sequence, now, self.nurture.tz_of(record)
        )
        return replace(record, enrolments=moved.state), moved.changes

    async def _task(
        self, record: LeadRecord, due: DueStep, sequence: Sequence, step: Step, rep: RepContact | None, now: datetime
    ) -> Outcome:
        rendered = self._render(record, due, sequence, step, rep, self._unsubscribe_url(due.lead_id, now))
        task = task_created(due, sequence, step, record.rep_id, rendered.text, now)
        await self.nurture.runtime.send("tasks.created", due.lead_id, ("TaskCreated", task))
        self.nurture.runtime.log.info("task_created", lead_id=due.lead_id, task_kind=task["kind"])
        return self._advance(record, due, sequence, now)

    async def _email(
        self,
        record: LeadRecord,
        due: DueStep,
        sequence: Sequence,
        step: Step,
        rep: RepContact | None,
        now: datetime,
    ) -> Outcome:
        tz = self.nurture.tz_of(record, rep)
        at = send_at(now, sequence.window, tz, record.sent, self.config.lead_caps)
        if at > now:
            return replace(record, enrolments=postpone(record.enrolments, due.enrolment_id, at)), ()
        consent = record.profile is not None and record.profile.marketing_consent
        refused = refusal(await self.store.suppression(due.lead_id, consent), sequence.kind)
        recipient = _address(record.profile.email) if record.profile else None
        if refused is not None or recipient is None:
            reason = refused or "no_valid_address"
            self.suppressed.labels(reason).inc()
            self.nurture.runtime.log.info("email_suppressed", lead_id=due.lead_id, reason=reason)
            ended = exit_enrolment(record.enrolments, due.enrolment_id, reason, now)
            return replace(record, enrolments=ended.state), ended.changes
        return await self._send_once(record, recipient, due, sequence, step, rep, now)

    async def _send_once(
        self,
        record: LeadRecord,
        recipient: Address,
        due: DueStep,
        sequence: Sequence,
        step: Step,
        rep: RepContact | None,
        now: datetime,
    ) -> Outcome:
        url = self._unsubscribe_url(due.lead_id, now)
        rendered = self._render(record, due, sequence, step, rep, url)
        sender = sender_for(
            sequence.kind, Address(rep.name, addr_spec=rep.email) if rep else self._marketing(), self._marketing()
        )
        msg_id = message_id(due.enrolment_id, due.step_index, self.config.mail_domain)
        unsubscribe = Unsubscribe(url, self.config.unsubscribe_mailto)
        message = build_message(
            rendered,
            sender=sender,
            to=recipient,
            msg_id=msg_id,
            kind=sequence.kind,
            unsubscribe=unsubscribe,
            sent_at=now,
        )
        outcome = await self._deliver_once(due, sequence.sequence_id, message)
        if outcome == "bounced":
            await self.store.suppress(due.lead_id, "hard_bounced")
            bounced = apply_signal(
                record.enrolments,
                Signal("email_bounce", hard=True),
                now,
                self.nurture.sequences,
                self.nurture.tz_of(record),
            )
            return replace(record, enrolments=bounced.state), bounced.changes
        delivery = Delivery(
            due.lead_id,
            due.enrolment_id,
            due.step_index,
            rendered.variant,
            msg_id,
            sender.addr_spec,
            recipient.addr_spec,
            rendered.subject or "",
            outcome,
        )
        await self.nurture.runtime.send(
            "email.outbound", due.lead_id, ("EmailSent", email_sent(delivery, sequence, now))
        )
        return self._advance(record_send(record, now), due, sequence, now)

    async def _deliver_once(self, due: DueStep, sequence_id: str, message: EmailMessage) -> str:
        """ "sent", "unknown" (a crash interrupted an earlier attempt; never repeated) or "bounced"."""
        earlier = await self.store.claim_send(due.enrolment_id, due.step_index)
        if earlier is not None:
            self.nurture.runtime.log.warning("email_send_already_claimed", lead_id=due.lead_id, outcome=earlier)
            return "unknown" if earlier == "pending" else earlier
        try:
            await deliver(message, self.config.smtp)
        except TransientFailure:
            self.smtp_failures.labels("transient").inc()
            await self.store.release_send(due.enrolment_id, due.step_index)
            raise
        except PermanentRejection as rejection:
            self.smtp_failures.labels("permanent").inc()
            await self.store.record_send(due.enrolment_id, due.step_index, "bounced")
            self.nurture.runtime.log.info("email_bounced", lead_id=due.lead_id, smtp_code=rejection.code)
            return "bounced"
        await self.store.record_send(due.enrolment_id, due.step_index, "sent")
        self.emails_sent.labels(sequence_id).inc()
        self.nurture.runtime.log.info("email_sent", lead_id=due.lead_id, message_id=message["Message-ID"])
        return "sent"

    def _marketing(self) -> Address:
        return Address(self.config.sender_name, addr_spec=self.config.sender_email)


def _address(email: str) -> Address | None:
    """The recipient, or None for an address no relay could take (the step can never be sent)."""
    try:
        return Address(addr_spec=email) if email else None
    except (ValueError, HeaderParseError, IndexError):
        return None
