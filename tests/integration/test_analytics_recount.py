"""analytics against a recount from the raw topics: a seeded workload of leads, emails, calls,
enrolments and deals (with re-delivered duplicates), the worker SIGKILLed while it is still
folding the burst and restarted; then the API equals a recount computed here from the records
read back off the topics, with none of the service's code, and /metrics equals the API.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import Infra, ServiceProcess, Stack, metrics
from tests.integration.test_analytics_pipeline import (
    FLUSH_ENV,
    at,
    consumed,
    eventually,
    example,
    get,
    money,
)

Record = tuple[str, str, dict[str, Any], str]
PATH = ["captured", "scored", "qualified", "assigned", "contacted", "opportunity", "proposal", "won"]
STEPS = [*PATH, "lost"]
LEAD_TOPICS = ("leads.captured", "leads.scored", "leads.qualified", "leads.assigned", "email.outbound")
RAW_TOPICS = (*LEAD_TOPICS, "engagement.captured", "nurture.enrolments", "opportunities.changed", "proposals.generated")
Q4 = (date(2026, 10, 1), date(2027, 1, 1))


def lead_records(rng: random.Random, n: int) -> list[Record]:
    """One lead's records up to a random depth of the funnel; the steps it reaches are a prefix."""
    lead, t = f"L{n}", n * 2.0
    source, country = rng.choice(["web_form", "referral", "paid_ads"]), rng.choice(["US", "GB", "DE", "FR"])
    campaign, grade, rep = rng.choice(["fall", "spring", None]), rng.choice(["A", "B"]), rng.choice(["r1", "r2", "r3"])
    base = {"lead_id": lead, "captured_at": at(t)}
    depth = rng.randint(0, 5)
    out: list[Record] = [
        (
            "leads.captured",
            "LeadCaptured",
            example(
                "LeadCaptured",
                "new_lead",
                **base,
                event_id=f"{lead}:cap",
                occurred_at=at(t),
                source=source,
                country=country,
                utm_campaign=campaign,
            ),
            lead,
        )
    ]
    common = {**base, "grade": grade}
    if depth >= 1:
        out.append(
            (
                "leads.scored",
                "LeadScored",
                example("LeadScored", "hot_lead", **common, event_id=f"{lead}:sc", occurred_at=at(t + 1)),
                lead,
            )
        )
    if depth >= 2:
        value = example(
            "LeadQualified", "qualified", **common, event_id=f"{lead}:q", occurred_at=at(t + 2), country=country
        )
        out.append(("leads.qualified", "LeadQualified", value, lead))
    if depth >= 3:
        value = example(
            "LeadAssigned",
            "to_rep",
            **common,
            event_id=f"{lead}:as",
            occurred_at=at(t + 3),
            rep_id=rep,
            sla_due_at=at(t + 8),
        )
        out.append(("leads.assigned", "LeadAssigned", value, lead))
        out += enrolment_records(rng, lead, t)
    if depth >= 4:
        out += touch_records(rng, lead, t + 3 + rng.choice([1, 30, 240]))
    if depth >= 5:
        out += deal_records(rng, lead, rep, t)
    return out


def enrolment_records(rng: random.Random, lead: str, t: float) -> list[Record]:
    sequence = rng.choice(["s1", "s2"])
    later = rng.choice([[], [("paused", "out_of_office")], [("exited", "email_reply")], [("exited", "unsubscribe")]])
    changes = [("enrolled", None), *later]
    return [
        (
            "nurture.enrolments",
            "EnrolmentChanged",
            example(
                "EnrolmentChanged",
                "enrolled",
                event_id=f"{lead}:enr{i}",
                lead_id=lead,
                occurred_at=at(t + 3 + i),
                sequence_id=sequence,
                change=change,
                reason=reason,
            ),
            lead,
        )
        for i, (change, reason) in enumerate(changes)
    ]


def touch_records(rng: random.Random, lead: str, t: float) -> list[Record]:
    """The rep's first touch: an email (sometimes opened), a call logged or a task completed."""
    kind = rng.choice(["email", "email", "call_logged", "task_completed"])
    if kind != "email":
        return [engaged(lead, kind, t, kind, {})]
    message = f"<{lead}@mail.example>"
    fields = {
        "lead_id": lead,
        "sequence_id": "s1",
        "step_index": rng.randint(0, 1),
        "variant": rng.choice(["a", "b"]),
        "message_id": message,
    }
    out: list[Record] = [
        (
            "email.outbound",
            "EmailSent",
            example("EmailSent", "first_email", event_id=f"{lead}:mail", occurred_at=at(t), **fields),
            lead,
        )
    ]
    if rng.random() < 0.5:
        out.append(engaged(lead, "email_open", t + 5, "open", {"message_id": message}))
    return out


def engaged(lead: str, kind: str, t: float, name: str, attributes: dict[str, str]) -> Record:
    """The lead's EngagementEvent of `kind` at `t`, its event_id `<lead>:<name>`."""
    value = example(
        "EngagementEvent",
        "full",
        event_id=f"{lead}:{name}",
        lead_id=lead,
        occurred_at=at(t),
        type=kind,
        attributes=attributes,
    )
    return ("engagement.captured", "EngagementEvent", value, lead)


def deal_records(rng: random.Random, lead: str, rep: str, t: float) -> list[Record]:
    """A deal from the lead: opened, sometimes a proposal, then maybe won or lost."""
    opp, amount = f"O-{lead}", f"{rng.randint(1, 50) * 1000}.00"
    terms = money("discovery", amount, "0.40", rng.choice(["Pipeline", "Best Case", "Commit"]), "2026-11-20")
    out = [deal(opp, 1, t + 40, lead, rep, "open", terms)]
    if rng.random() < 0.6:
        value = example(
            "ProposalGenerated", "generated", event_id=f"{opp}:p1", opportunity_id=opp, occurred_at=at(t + 50)
        )
        out.append(("proposals.generated", "ProposalGenerated", value, opp))
    final = rng.choice(["open", "won", "lost"])
    if final == "won":
        out.append(deal(opp, 2, t + 60, lead, rep, "won", money("won", amount, "1", "Closed", "2026-11-20")))
    elif final == "lost":
        out.append(deal(opp, 2, t + 60, lead, rep, "lost", money("lost", amount, "0", "Omitted", "2026-11-20")))
    return out


def deal(opp: str, version: int, t: float, lead: str, rep: str, status: str, terms: dict[str, Any]) -> Record:
    value = example(
        "OpportunityChanged",
        "opened",
        event_id=f"{opp}:v{version}",
        opportunity_id=opp,
        occurred_at=at(t),
        version=version,
        owner_id=rep,
        lead_id=lead,
        status=status,
        created_at=at(t if version == 1 else t - 20),
        closed_at=None if status == "open" else at(t),
        last_activity_at=at(t - 30),
        stage_history=[],
        **terms,
    )
    return ("opportunities.changed", "OpportunityChanged", value, opp)


def workload(seed: int = 7, leads: int = 48) -> list[Record]:
    """Every lead's records, interleaved across leads, plus re-delivered copies of some."""
    rng = random.Random(seed)
    records = [r for n in range(leads) for r in lead_records(rng, n)]
    rng.shuffle(records)  # topics are not ordered with each other; a lead's own order may break too
    return records + rng.sample(records, 25)


class Recount:
    """The expected numbers, from the records read back off the raw topics."""

    def __init__(self, seen: list[tuple[str, Any, Any]]) -> None:
        self.by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
        unique = {(topic, value["event_id"]): (topic, value) for topic, value, _ in seen}
        for topic, value in unique.values():
            self.by_topic[topic].append(value)
        latest: dict[str, dict[str, Any]] = {}
        for snap in self.by_topic["opportunities.changed"]:
            if snap["version"] > latest.get(snap["opportunity_id"], {"version": 0})["version"]:
                latest[snap["opportunity_id"]] = snap
        self.deals = latest

    def leads_at(self, topic: str) -> set[str]:
        return {v["lead_id"] for v in self.by_topic[topic] if v.get("outcome", "sent") == "sent"}

    def deal_leads(self, *statuses: str, among: set[str] | None = None) -> set[str]:
        """Leads of deals (with a lead) whose latest status is one of statuses (any when none)."""
        return {
            d["lead_id"]
            for o, d in self.deals.items()
            if d["lead_id"] and (not statuses or d["status"] in statuses) and (among is None or o in among)
        }

    def furthest(self) -> dict[str, set[str]]:
        """Leads per step explicitly reached (a later step implies the earlier ones, below)."""
        touched = {
            v["lead_id"] for v in self.by_topic["engagement.captured"] if v["type"] in ("call_logged", "task_completed")
        }
        proposals = {v["opportunity_id"] for v in self.by_topic["proposals.generated"]}
        return {
            "captured": self.leads_at("leads.captured"),
            "scored": self.leads_at("leads.scored"),
            "qualified": self.leads_at("leads.qualified"),
            "assigned": self.leads_at("leads.assigned"),
            "contacted": self.leads_at("email.outbound") | touched | self.deal_leads(),
            "opportunity": self.deal_leads(),
            "proposal": self.deal_leads(among=proposals),
            "won": self.deal_leads("won"),
            "lost": self.deal_leads("lost"),
        }

    def funnel(self) -> dict[str, int]:
        reached = self.furthest()
        counts = {}
        for index, step in enumerate(PATH):
            counts[step] = len(
                set().union(*(reached[s] for s in PATH[index:]), reached["lost"] if index <= 5 else set())
            )
        counts["lost"] = len(reached["lost"])
        return counts

    def captured_by(self, field: str) -> Counter[str]:
        """Leads in the funnel by a leads.captured field; "(none)" when unset or never captured."""
        values = {v["lead_id"]: v[field] or "(none)" for v in self.by_topic["leads.captured"]}
        in_funnel = set().union(*self.furthest().values())
        return Counter(values.get(lead, "(none)") for lead in in_funnel)

    def forecast(self) -> tuple[Decimal, Decimal]:
        """(won, open raw) in 2026-Q4."""
        in_q4 = [d for d in self.deals.values() if Q4[0] <= date.fromisoformat(d["close_date"]) < Q4[1]]
        won = sum((Decimal(d["amount"]) for d in in_q4 if d["status"] == "won"), Decimal(0))
        raw = sum((Decimal(d["amount"]) for d in in_q4 if d["status"] == "open"), Decimal(0))
        return won, raw

    def reps(self) -> dict[str, tuple[int, int]]:
        """(leads assigned, opportunities opened) per rep."""
        assigned = Counter(v["rep_id"] for v in self.by_topic["leads.assigned"] if v["rep_id"])
        opened = Counter(d["owner_id"] for d in self.deals.values() if d["owner_id"])
        return {rep: (assigned[rep], opened[rep]) for rep in assigned | opened}

    def enrolments(self, sequence: str) -> Counter[str]:
        return Counter(v["change"] for v in self.by_topic["nurture.enrolments"] if v["sequence_id"] == sequence)

    def sent(self) -> Counter[tuple[int, str]]:
        sent = [v for v in self.by_topic["email.outbound"] if v["outcome"] == "sent" and v["sequence_id"] == "s1"]
        return Counter((v["step_index"], v["variant"]) for v in sent)

    def first_touches(self) -> int:
        reached = self.furthest()
        return len(reached["assigned"] & (reached["contacted"]))


def numbers(service: ServiceProcess) -> dict[str, Any]:
    """What the API says, in the recount's shapes."""
    funnel = get(service, "/v1/funnel")["groups"]
    forecast = get(service, "/v1/forecast?period=2026-Q4")
    stats = {s: get(service, f"/v1/sequences/{s}/stats") for s in get(service, "/v1/sequences")["sequences"]}
    return {
        "funnel": funnel[0]["counts"] if funnel else {},
        "territory": {g["value"]: g["counts"]["captured"] for g in get(service, "/v1/funnel?by=territory")["groups"]},
        "campaign": {g["value"]: g["counts"]["captured"] for g in get(service, "/v1/funnel?by=campaign")["groups"]},
        "forecast": (Decimal(forecast["won"]), Decimal(forecast["raw_total"])),
        "reps": {
            r["rep_id"]: (r["leads_assigned"], r["opportunities_opened"]) for r in get(service, "/v1/reps")["reps"]
        },
        "enrolments": {
            s: c for s, b in stats.items() if (c := {k: n for k, n in b["enrolments"]["changes"].items() if n})
        },
        "sent": {
            (r["step"], r["variant"]): r["counts"]["sent"]
            for r in stats.get("s1", {"rows": []})["rows"]
            if r["counts"]["sent"]
        },
        "first_touches": get(service, "/v1/speed-to-lead")["assignment_to_first_touch"]["count"],
    }


def expected(recount: Recount) -> dict[str, Any]:
    return {
        "funnel": recount.funnel(),
        "territory": dict(recount.captured_by("country")),
        "campaign": dict(recount.captured_by("utm_campaign")),
        "forecast": recount.forecast(),
        "reps": recount.reps(),
        "enrolments": {s: dict(recount.enrolments(s)) for s in ("s1", "s2") if recount.enrolments(s)},
        "sent": dict(recount.sent()),
        "first_touches": recount.first_touches(),
    }


@pytest.fixture
def stack(infra: Infra, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(infra, tmp_path, extra_env=FLUSH_ENV)
    yield stack
    stack.close()


def test_a_worker_killed_mid_burst_recovers_numbers_equal_to_a_recount_of_the_topics(stack: Stack) -> None:
    """SIGKILLed while folding, restarted: API == recount of the raw topics, /metrics == API."""
    records = workload()
    stack.start("analytics")
    service = stack.services["analytics"]
    producer = threading.Thread(target=lambda: [stack.produce(t, r, v, k) for t, r, v, k in records])
    producer.start()
    # Kill while the burst is still arriving and being folded: a third counted, the rest not yet.
    at_kill = eventually(lambda: consumed(service), lambda n: n >= len(records) // 3, 60)
    service.kill()
    assert len(records) // 3 <= at_kill < len(records)
    producer.join()
    stack.restart("analytics")
    reader = stack.consumer(*RAW_TOPICS)
    seen = reader.poll_until(lambda s: len(s) >= len(records), seconds=60)
    reader.close()
    want = expected(Recount(seen))
    got = eventually(lambda: numbers(service), lambda n: n == want, 90)
    assert got == want
    assert_metrics_equal_the_api(service, want)
    assert "ConsistencyError" not in Path(service.log_path).read_text()


def assert_metrics_equal_the_api(service: ServiceProcess, want: dict[str, Any]) -> None:
    samples = metrics(service)
    by_step: Counter[str] = Counter()
    by_territory: Counter[str] = Counter()
    for (name, labels), value in samples.items():
        label = dict(labels)
        if name == "salesflow_analytics_funnel_leads":
            by_step[label["step"]] += int(value)
        if name == "salesflow_analytics_funnel_leads_by_territory" and label["step"] == "captured":
            by_territory[label["territory"]] += int(value)
    assert dict(by_step) == want["funnel"]
    assert {k: v for k, v in by_territory.items() if v} == want["territory"]
    won = samples.get(("salesflow_analytics_won_amount", (("period", "2026-Q4"),)), 0.0)
    assert Decimal(str(won)) == want["forecast"][0]
    assert samples["salesflow_analytics_speed_to_lead_seconds_count", ()] == want["first_touches"]
    stages = {s["stage"]: s["deals"] for s in get(service, "/v1/pipeline")["stages"]}
    exported = {
        dict(labels)["stage"]: int(v) for (name, labels), v in samples.items() if name.endswith("pipeline_deals")
    }
    assert exported == stages
    reps = {rep: assigned for rep, (assigned, _) in want["reps"].items() if assigned}
    exported = {
        dict(labels)["rep"]: int(v) for (name, labels), v in samples.items() if name.endswith("rep_leads_assigned")
    }
    assert {r: n for r, n in exported.items() if n} == reps
