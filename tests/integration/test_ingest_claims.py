"""ingest's event claims against the real Redis: a claim whose reply was lost is the claimant's own.

Replaying the same claim from the same store is exactly what a retry after a lost reply does
(the script ran, the caller never heard back); a second store is another replica or a restarted
process. The end-to-end version, with the reply really lost by the fault proxy, is
tests/faults/test_redis_outage.py::test_a_lost_claim_reply_is_recognised_as_our_own_claim_on_retry.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from prometheus_client import CollectorRegistry

from services.ingest.identity import ClaimInFlight, EngagementClaim, IdentityStore, LeadClaim, email_sha256
from shared.metrics import ServiceMetrics
from tests.integration.harness import Infra


@pytest.fixture
async def client(infra: Infra) -> AsyncIterator[redis.Redis]:
    connection = redis.Redis.from_url(infra.redis_url)
    yield connection
    await connection.aclose()


def stores(client: redis.Redis, count: int, pending_ttl: int = 30) -> list[IdentityStore]:
    """`count` claimants (replicas) sharing one fresh key prefix."""
    prefix, metrics = f"t{uuid.uuid4().hex[:10]}.ingest:", ServiceMetrics.create("ingest", CollectorRegistry())
    return [IdentityStore(client, prefix, metrics, 3600, pending_ttl) for _ in range(count)]


def address() -> str:
    return f"ada.{uuid.uuid4().hex[:8]}@analytical.example"


async def test_a_replayed_lead_claim_is_the_claimants_own_not_a_duplicate(client: redis.Redis) -> None:
    (store,) = stores(client, 1)
    event_id, email = uuid.uuid4().hex, address()
    lost = await store.claim(event_id, email)  # its reply "lost": the caller retries
    retried = await store.claim(event_id, email)
    assert (retried.lead_id, retried.duplicate, retried.new_lead) == (lost.lead_id, False, True)


async def test_another_claimants_pending_claim_is_in_flight_until_confirmed(client: redis.Redis) -> None:
    first, other = stores(client, 2)
    event_id, email = uuid.uuid4().hex, address()
    claim = await first.claim(event_id, email)
    with pytest.raises(ClaimInFlight):
        await other.claim(event_id, email)
    await first.confirm(event_id, claim.lead_id)
    duplicate = await other.claim(event_id, email)
    assert (duplicate.lead_id, duplicate.duplicate) == (claim.lead_id, True)


async def test_an_expired_pending_claim_passes_to_the_next_claimant(client: redis.Redis) -> None:
    crashed, restarted = stores(client, 2, pending_ttl=1)
    event_id, email = uuid.uuid4().hex, address()
    claim = await crashed.claim(event_id, email)
    await asyncio.sleep(1.5)
    taken = await restarted.claim(event_id, email)
    assert (taken.lead_id, taken.duplicate, taken.new_lead) == (claim.lead_id, False, False)


async def test_a_batch_with_a_claim_in_flight_releases_its_own_claims(client: redis.Redis) -> None:
    first, other = stores(client, 2)
    busy, free = uuid.uuid4().hex, uuid.uuid4().hex
    await first.claim(busy, address())
    with pytest.raises(ClaimInFlight):
        await other.claim_many([LeadClaim(free, address(), False), LeadClaim(busy, address(), False)])
    assert (await first.claim(free, address())).duplicate is False  # released, so not held by `other`


async def test_a_replayed_engagement_claim_is_the_claimants_own(client: redis.Redis) -> None:
    first, other = stores(client, 2)
    event_id, lead_id = uuid.uuid4().hex, f"lead_{uuid.uuid4().hex}"
    await first.claim_event(event_id, lead_id)
    assert (await first.claim_event(event_id, lead_id)).duplicate is False
    with pytest.raises(ClaimInFlight):
        await other.claim_event(event_id, lead_id)
    await first.confirm(event_id, lead_id)
    assert (await other.claim_event(event_id, lead_id)).duplicate is True


async def test_an_engagement_by_email_finds_the_leads_id_and_is_claimed_once(client: redis.Redis) -> None:
    """One call resolves the email as a lead claim would and claims the event; a replay is ours."""
    first, other = stores(client, 2)
    email = address()
    lead = await first.claim(uuid.uuid4().hex, email)
    event_id = uuid.uuid4().hex
    claim = await first.claim_engagement(event_id, email)
    assert (claim.lead_id, claim.duplicate, claim.new_lead, claim.erased) == (lead.lead_id, False, False, False)
    assert (await first.claim_engagement(event_id, email)).duplicate is False
    with pytest.raises(ClaimInFlight):
        await other.claim_engagement(event_id, email)
    await first.confirm(event_id, claim.lead_id)
    again = await other.claim_engagement(event_id, email)
    assert (again.lead_id, again.duplicate) == (lead.lead_id, True)


async def test_an_engagement_from_an_unknown_email_creates_its_lead(client: redis.Redis) -> None:
    """The lead the engagement creates is the one a later lead submission with that email joins."""
    (store,) = stores(client, 1)
    email = address()
    claim = await store.claim_engagement(uuid.uuid4().hex, email)
    assert claim.new_lead and claim.lead_id.startswith("lead_")
    assert await store.lookup(email) == claim.lead_id
    assert (await store.claim(uuid.uuid4().hex, email)).lead_id == claim.lead_id


async def test_an_engagement_from_an_erased_person_claims_and_creates_nothing(client: redis.Redis) -> None:
    (store,) = stores(client, 1)
    email = address()
    await store.erase(email_sha256(email))
    event_id = uuid.uuid4().hex
    refused = await store.claim_engagement(event_id, email)
    assert (refused.erased, refused.lead_id) == (True, "")
    assert await store.lookup(email) is None
    assert await client.exists(store._event_key(event_id)) == 0


async def test_an_event_id_twice_in_one_batch_is_claimed_once(client: redis.Redis) -> None:
    """The repeat is a duplicate of the first, for leads and for engagement alike; a retry of the
    whole batch (its reply lost) is still ours for the first and a duplicate for the repeat."""
    (store,) = stores(client, 1)
    lead_event, email = uuid.uuid4().hex, address()
    for _ in range(2):
        first, repeat = await store.claim_many([LeadClaim(lead_event, email, False)] * 2)
        assert (first.duplicate, repeat.duplicate, repeat.lead_id) == (False, True, first.lead_id)
    engagement_event = uuid.uuid4().hex
    for _ in range(2):
        by_email, by_lead = await store.claim_engagements(
            [EngagementClaim(engagement_event, None, email), EngagementClaim(engagement_event, first.lead_id, None)]
        )
        assert (by_email.duplicate, by_lead.duplicate) == (False, True)
        assert by_email.lead_id == by_lead.lead_id == first.lead_id


async def test_one_engagement_batch_mixes_events_by_lead_and_by_email(client: redis.Redis) -> None:
    """Each event reads its own keys: one naming its lead takes one key, one named by email three."""
    (store,) = stores(client, 1)
    known, fresh, gone = address(), address(), address()
    lead = await store.claim(uuid.uuid4().hex, known)
    await store.erase(email_sha256(gone))
    named = f"lead_{uuid.uuid4().hex}"
    claims = await store.claim_engagements(
        [
            EngagementClaim(uuid.uuid4().hex, named, None),
            EngagementClaim(uuid.uuid4().hex, None, known),
            EngagementClaim(uuid.uuid4().hex, None, gone),
            EngagementClaim(uuid.uuid4().hex, named, None),
            EngagementClaim(uuid.uuid4().hex, None, fresh),
        ]
    )
    assert [(c.lead_id, c.new_lead, c.erased) for c in claims[:4]] == [
        (named, False, False),
        (lead.lead_id, False, False),
        ("", False, True),
        (named, False, False),
    ]
    assert claims[4].new_lead and claims[4].lead_id == await store.lookup(fresh)
