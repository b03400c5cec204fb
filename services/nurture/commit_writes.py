"""The Redis writes of one committed lead change, queued on the caller's pipeline: the timer set,
the enrolment -> lead map, the company's live set and the silence set cost one round trip between
them, not one each (redis-py's asyncio client spends about as much CPU per call as the handler).
"""

from __future__ import annotations

from redis.asyncio.client import Pipeline

from services.nurture.colleagues import live_members, record_domain
from services.nurture.config import NurtureConfig
from services.nurture.lead_index import LeadIndex
from services.nurture.leads import LeadRecord
from services.nurture.reengagement import activity_update
from services.nurture.state import EnrolmentChanged
from services.nurture.store import NurtureStore
from services.nurture.timers import TimerPlan, plan_timers


def queue_lead_writes(
    writes: Pipeline,
    store: NurtureStore,
    index: LeadIndex,
    config: NurtureConfig,
    record: LeadRecord,
    changes: tuple[EnrolmentChanged, ...],
    fired: str | None,
) -> None:
    """Queue what the record's new state asks of Redis; `fired` is a timer member to drop unless
    the state still wants it."""
    plan = plan_timers(record.enrolments)
    extra = (fired,) if fired is not None and fired not in plan.schedule else ()
    store.queue_timers(writes, TimerPlan(plan.schedule, plan.cancel + extra))
    store.queue_enrolment_leads(writes, {c.enrolment_id: c.lead_id for c in changes if c.change == "enrolled"})
    domain = record_domain(record, config.free_mail_domains)
    if changes and domain is not None:
        index.queue_live(writes, domain, *live_members(record))
    silence = activity_update(record, changes, config.reengage_sequence)
    if silence is not None and config.reengage_sequence:
        store.queue_silence(writes, record.lead_id, None if silence == "remove" else silence)
