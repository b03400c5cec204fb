"""The scheduler loop: every second, hand due timers back to the lead's partition (steps, meeting
reminders, re-engagement of silent leads) and raise tasks.overdue for tasks past due and not done;
and, on a timer of its own, after an assignment and every so often, re-arm step timers Redis lost
(reconcile.py).

It never writes the table (a timer runs outside any agent); the nurture.due agent does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.nurture.app import Nurture
from services.nurture.commands import issue
from services.nurture.reconcile import TimerReconciler
from services.nurture.records import Command, step_due, task_overdue
from services.nurture.timers import DueStep, Timer, TimerPlan, parse_timer
from shared.errors import TransientFailure


async def fire_due(nurture: Nurture, now: datetime) -> int:
    """Act on every timer due by `now`; returns how many fired.

    Claimed timers stay leased in Redis until the agent reschedules or drops them, so a crash
    between the claim and the send only delays the step by the lease.
    """
    config = nurture.config
    claimed = await nurture.store.claim_due(now, config.timer_lease_seconds, config.timer_batch)
    for member, score in claimed:
        try:
            timer = parse_timer(member)
        except ValueError:
            nurture.runtime.log.warning("timer_dropped", member=member)
            await nurture.store.apply_timers(TimerPlan({}, (member,)))
            continue
        if isinstance(timer, DueStep):
            record = step_due(timer, datetime.fromtimestamp(score, UTC), now)
            await nurture.runtime.send("nurture.due", timer.lead_id, ("StepDue", record))
        elif timer.kind == "reminder":
            await issue(nurture, Command("reminder", timer.lead_id, member, ref=timer.ref))
        else:
            await check_task(nurture, timer, now)
    return len(claimed)


async def check_task(nurture: Nurture, timer: Timer, now: datetime) -> None:
    """Raise TaskOverdue for a task past due without a completion, then drop its timer.

    The event id derives from the task id, so a crash before the drop repeats the same event.
    """
    task = await nurture.store.task(timer.ref)
    if task is not None and "completed_at" not in task:
        await nurture.runtime.send("tasks.overdue", timer.lead_id, ("TaskOverdue", task_overdue(task, now)))
        nurture.runtime.log.info("task_overdue", lead_id=timer.lead_id, task_id=timer.ref)
    await nurture.store.apply_timers(TimerPlan({}, (timer.member,)))


async def wake_silent(nurture: Nurture, now: datetime) -> int:
    """Ask each lead silent for NURTURE_REENGAGE_AFTER_DAYS to be re-engaged on its partition."""
    config = nurture.config
    if not config.reengage_sequence:
        return 0
    silent = await nurture.store.claim_silent(
        now - config.reengage_after, config.timer_lease_seconds, config.timer_batch
    )
    for lead_id, since in silent:
        await issue(nurture, Command("reengage", lead_id, f"silent:{lead_id}:{since}", reason="reengagement"))
    return len(silent)


def install_scheduler(nurture: Nurture) -> None:
    """Register the timers on the app; every worker runs them, the lease keeps them from colliding.

    The reconcile has a timer of its own: a walk over a large table takes seconds (it yields to
    the handlers between pages), and due steps must not wait for it.
    """

    app = nurture.runtime.app
    interval = nurture.config.scheduler_interval_seconds
    reconciler = TimerReconciler(nurture)
    app.on_partitions_assigned.connect(reconciler.on_assigned)  # type: ignore[arg-type]

    scheduler = app.timer(interval=interval, name="nurture.scheduler")
    reconcile = app.timer(interval=interval, name="nurture.reconcile")

    @scheduler  # type: ignore[untyped-decorator]  # faust's decorators are untyped
    async def drain_timers() -> None:
        now = datetime.now(UTC)
        try:
            fired = await fire_due(nurture, now)
            woken = await wake_silent(nurture, now)
        except TransientFailure as exc:
            nurture.runtime.log.warning("scheduler_skipped", error=str(exc))
            return
        if fired or woken:
            nurture.runtime.log.info("timers_fired", count=fired, silent_leads=woken)

    @reconcile  # type: ignore[untyped-decorator]
    async def reconcile_timers() -> None:
        try:
            await reconciler.maybe_run()  # itself waits for its interval and for recovered tables
        except TransientFailure as exc:
            nurture.runtime.log.warning("reconcile_skipped", error=str(exc))
