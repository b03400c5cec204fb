"""Due steps: re-check a step against the table, consent, the lead's caps and the mailbox's
throttles, then act on it. An email goes out at most once per enrolment and step (see postman).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any
from zoneinfo import ZoneInfo

from services.nurture.app import Nurture
from services.nurture.enrolment import Signal, apply_signal, exit_enrolment, next_step, record_step, resume_due
from services.nurture.leads import LeadProfile, LeadRecord, RepContact, record_send, render_context
from services.nurture.messages import Unsubscribe, build_message, message_id, sender_for
from services.nurture.records import Delivery, email_sent, task_created
from services.nurture.schedule import next_in_window
from services.nurture.sealed_profile import open_profile, unreadable_reason
from services.nurture.sequences import RenderedStep, Sequence, Step, render_step
from services.nurture.state import EnrolmentChanged
from services.nurture.stats_store import SentEmail
from services.nurture.suppression import refusal
from services.nurture.timers import DueStep, Timer, postpone, send_at
from services.nurture.tokens import make_token
from services.nurture.variants import choose_variant
from shared.pii import PiiUnavailable

Outcome = tuple[LeadRecord, tuple[EnrolmentChanged, ...]]
# A slot booked past the window's close moves to its next opening, where the queue may push it past
# that close again; a few moves settle any real queue, and a step firing outside its window waits.
_WINDOW_REBOOKS = 3


class StepRunner:
    """Acts on one StepDue at a time per lead; a stale or early StepDue changes nothing."""

    def __init__(self, nurture: Nurture) -> None:
        self.nurture, self.config, self.store = nurture, nurture.config, nurture.store
        metrics = nurture.runtime.metrics
        self.suppressed = metrics.counter("emails_suppressed_total", "Emails refused at send time.", ("reason",))
        self.throttled = metrics.counter("emails_throttled_total", "Emails held back by a mailbox throttle.")

    async def on_due(self, value: dict[str, Any]) -> None:
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
            self.nurture.runtime.log.info("stale_step_dropped", lead_id=due.lead_id, step_index=due.step_index)
            return record, ()
        step = next_step(enrolment, sequence, now)
        if step is None:
            return record, ()
        rep = await self.store.rep(record.rep_id) if record.rep_id else None
        act = self._task if step.channel == "task" else self._email
        try:
            opened = replace(record, profile=await open_profile(self.nurture.pii, due.lead_id, record.profile))
            # What a step writes is sealed before it sends anything, so this can only stop a step unsent.
            acted, changes = await act(opened, due, sequence, step, rep, now)
        except PiiUnavailable as exc:
            return await self._unreadable(record, due, exc, now)
        return replace(acted, profile=record.profile), changes  # the table keeps the sealed profile

    async def _unreadable(self, record: LeadRecord, due: DueStep, error: PiiUnavailable, now: datetime) -> Outcome:
        """The key is shredded (erased) or the profile altered: end the enrolment; no send, crash or retry."""
        reason = unreadable_reason(error)
        if reason == "erased":
            await self.store.suppress(due.lead_id, "erased")
        self.suppressed.labels(reason).inc()
        self.nurture.runtime.log.info("email_suppressed", lead_id=due.lead_id, reason=reason)
        ended = exit_enrolment(record.enrolments, due.enrolment_id, reason, now)
        return replace(record, enrolments=ended.state), ended.changes

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
        # The instructions may name the lead: tasks.created and the stored task hold them sealed.
        sealed = await self.nurture.pii.seal_values(due.lead_id, {"instructions": rendered.text})
        task = task_created(due, sequence, step, record.rep_id, sealed["instructions"], now, self.config.task_due_after)
        # The task is kept past its due time for its overdue check and a late completion.
        keep = self.config.task_due_after + timedelta(seconds=self.config.send_once_ttl_seconds)
        await self.store.put_task(task, Timer("task", task["task_id"], due.lead_id).member, task["due_at"], keep)
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
        sender = sender_for(
            sequence.kind, Address(rep.name, addr_spec=rep.email) if rep else self._marketing(), self._marketing()
        )
        if not await self.store.admit(sender.addr_spec, due.once_ref, now, self.config.mailbox_caps):
            later = await self._book_slot(sender.addr_spec, due.once_ref, now, sequence, tz)
            self.throttled.inc()
            self.nurture.runtime.log.info("email_throttled", lead_id=due.lead_id, until=later.isoformat())
            return replace(record, enrolments=postpone(record.enrolments, due.enrolment_id, later)), ()
        return await self._send_once(record, (sender, recipient), due, sequence, step, rep, now)

    async def _book_slot(self, mailbox: str, ref: str, now: datetime, sequence: Sequence, tz: ZoneInfo) -> datetime:
        """A slot of the mailbox's own inside the send window, behind the steps already waiting.

        Each held step waits for a slot of its own: were they all woken when the mailbox next
        opened, every opening would wake the whole queue to let one through (measured: a soak's
        marketing mailbox, 20 a minute, re-tried each held step up to 31 times).
        """
        caps = self.config.mailbox_caps
        slot = await self.store.book(mailbox, ref, now, now + timedelta(seconds=1), caps)
        for _ in range(_WINDOW_REBOOKS):
            opening = next_in_window(slot, sequence.window, tz)
            if opening == slot:
                break
            # The window was shut at that slot: queue again from its opening.
            slot = await self.store.book(mailbox, ref, now, opening, caps)
        return slot

    async def _send_once(
        self,
        record: LeadRecord,
        addresses: tuple[Address, Address],
        due: DueStep,
        sequence: Sequence,
        step: Step,
        rep: RepContact | None,
        now: datetime,
    ) -> Outcome:
        sender, recipient = addresses
        url = self._unsubscribe_url(due.lead_id, now)
        rendered = self._render(record, due, sequence, step, rep, url)
        msg_id = message_id(due.enrolment_id, due.step_index, self.config.mail_domain)
        unsubscribe = Unsubscribe(url, self.config.unsubscribe_mailto)
        # email.outbound records the address and subject sealed with the lead's key (sealed first: no
        # send for a lead whose key is gone).
        sealed = await self.nurture.pii.seal_values(
            due.lead_id, {"recipient": recipient.addr_spec, "subject": rendered.subject or ""}
        )
        message = build_message(
            rendered,
            sender=sender,
            to=recipient,
            msg_id=msg_id,
            kind=sequence.kind,
            unsubscribe=unsubscribe,
            sent_at=now,
        )
        outcome = await self.nurture.postman.deliver_once(due.once_ref, due.lead_id, message, sequence.sequence_id)
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
            sealed["recipient"],
            sealed["subject"],
            outcome,
        )
        if outcome == "sent":
            sent = SentEmail(sequence.sequence_id, step.step_id, rendered.variant, msg_id)
            await self.nurture.stats.record_sent(due.lead_id, sent)
        await self.nurture.runtime.send(
            "email.outbound", due.lead_id, ("EmailSent", email_sent(delivery, sequence, now))
        )
        return self._advance(record_send(record, now), due, sequence, now)

    def _marketing(self) -> Address:
        return Address(self.config.sender_name, addr_spec=self.config.sender_email)


def _address(email: str) -> Address | None:
    """The recipient, or None for an address no relay could take (the step can never be sent)."""
    try:
        return Address(addr_spec=email) if email else None
    except (ValueError, HeaderParseError, IndexError):
        return None
