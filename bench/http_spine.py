"""HTTP submission → leads.assigned: the latency a web form sees until its lead has a rep.

`python -m bench.http_spine [--rate 200] [--seconds 20]` starts ingest, scoring and routing on a
private namespace, posts single leads to `POST /v1/leads` at a steady rate, and reports the
percentiles of (assignment record timestamp minus the moment the request was sent) for the leads that
were assigned. It is the README's headline figure; the full bench covers the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench.e2e import Spine
from bench.records import Lead, lead_submitted, workload_leads
from bench.stack import API_KEY, ensure_infra, scoring_env, stop_infra
from bench.stats import latency_summary


def http_body(lead: Lead) -> dict[str, Any]:
    value = lead_submitted(lead, datetime.now(UTC))
    return value | {"occurred_at": value["occurred_at"].isoformat()}


async def offer(url: str, leads: list[Lead], per_second: float) -> dict[str, float]:
    """Post each lead at its slot on a steady schedule; the send time (ms) per email."""
    sent_at: dict[str, float] = {}
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=64)) as session:

        async def post(index: int, lead: Lead) -> None:
            await asyncio.sleep(max(0.0, started + index / per_second - time.monotonic()))
            sent_at.setdefault(lead.value["email"], time.time() * 1000)
            async with session.post(url, data=json.dumps(http_body(lead))) as response:
                await response.read()

        await asyncio.gather(*(post(i, lead) for i, lead in enumerate(leads)))
    return sent_at


def measure(rate: float, seconds: float) -> dict[str, Any]:
    infra = ensure_infra()
    spine = Spine.start(infra, scoring_env())
    try:
        leads = workload_leads(4242, int(rate * seconds), datetime.now(UTC))
        sent_at = asyncio.run(offer(spine.services[0].url("/v1/leads"), leads, rate))
        emails = {lead.value["email"] for lead in leads if lead.valid and not lead.duplicate}
        spine.counter.wait_until(lambda: spine.arrivals.done(emails), 60)
        assigned = spine.arrivals.assigned
        latencies = [assigned[e] - sent_at[e] for e in emails if e in assigned and e in sent_at]
        summary = latency_summary(latencies)
        return {
            "rate": rate,
            "seconds": seconds,
            "leads": len(leads),
            "assigned": len(latencies),
            "p50_ms": summary.p50,
            "p95_ms": summary.p95,
            "p99_ms": summary.p99,
            "max_ms": summary.max,
        }
    finally:
        spine.close()
        stop_infra(infra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.rate, args.seconds), indent=2))


if __name__ == "__main__":
    main()
