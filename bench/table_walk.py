"""How long nurture's timer reconcile holds the event loop: the whole table at once, or a page at a time.

`python -m bench.table_walk [--leads 36000] [--page 200] [--runs 5]` fills a real RocksDB table
(six partitions, on a service's 32 MiB budget) with leads enrolled in two shipped sequences,
then walks it the way the reconcile used to (every record with no await) and the way it does now
(`JsonTable.pages`), timing the walk and each page. No broker: the table is written directly.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from faust.assignor.client_assignment import ClientAssignment
from faust.stores.rocksdb import Store as RocksDBStore

from services.nurture.enrolment import enrol
from services.nurture.leads import LeadProfile, LeadRecord
from services.nurture.reconcile import wanted_timers
from services.nurture.sequences import load_shipped
from services.nurture.state import LeadEnrolments
from shared.config import KafkaSettings, ServiceSettings
from shared.faust_app import create_app
from shared.rocksdb_budget import MIB, attach_budget
from shared.tables import JsonTable

PARTITIONS = 6
SEQUENCES = ("mql-follow-up", "new-inbound-lead")


def filled_table(leads: int) -> JsonTable:
    """A six-partition leads table, all partitions owned, holding `leads` enrolled records, flushed."""
    app = create_app(ServiceSettings("table-walk", KafkaSettings(), data_dir=tempfile.mkdtemp(prefix="table-walk-")))
    attach_budget(app, 32 * MIB)
    table = JsonTable(app, "leads", PARTITIONS)
    store = table.table.data
    assert isinstance(store, RocksDBStore)
    assignor: Any = app.assignor  # stands in for a rebalance's outcome: every partition owned here
    assignor._assignment = ClientAssignment(
        actives={table.table.changelog_topic_name: list(range(PARTITIONS))}, standbys={}
    )
    shipped, zone, now = load_shipped(), ZoneInfo("America/New_York"), datetime.now(UTC)
    for i in range(leads):
        lead_id = f"lead-{i:07d}"
        state = LeadEnrolments(lead_id)
        for sequence in SEQUENCES:
            state = enrol(state, shipped[sequence], now, zone).state
        record = LeadRecord(lead_id, LeadProfile(f"person{i}@example.com"), enrolments=state)
        store._db_for_partition(i % PARTITIONS)[store._encode_key(lead_id)] = store._encode_value(record.to_dict())
    for db in store._dbs.values():
        db.flush()
    return table


def walk_whole(table: JsonTable) -> float:
    """Seconds of the old walk: one stretch with no await."""
    started = time.perf_counter()
    wanted_timers(stored for _, stored in table.items())
    return time.perf_counter() - started


def walk_paged(table: JsonTable, page: int) -> list[float]:
    """Seconds of each page of the new walk (reading and decoding it): the stretches between awaits."""
    stretches: list[float] = []
    pages = table.pages(page)
    while True:
        started = time.perf_counter()
        if (records := next(pages, None)) is None:
            return stretches
        wanted_timers(stored for _, stored in records)
        stretches.append(time.perf_counter() - started)


def _median_ms(seconds: list[float]) -> float:
    return round(1000 * statistics.median(seconds), 1)


def measure(leads: int, page: int, runs: int) -> dict[str, Any]:
    table = filled_table(leads)
    whole: list[float] = []
    paged: list[float] = []
    longest: list[float] = []
    median_page: list[float] = []
    for _ in range(runs):
        whole.append(walk_whole(table))
        stretches = walk_paged(table, page)
        paged.append(sum(stretches))
        longest.append(max(stretches))
        median_page.append(statistics.median(stretches))
    return {
        "leads": leads,
        "page": page,
        "runs": runs,
        "whole_walk_ms": _median_ms(whole),
        "paged_walk_total_ms": _median_ms(paged),
        "median_page_ms": _median_ms(median_page),
        "longest_page_ms": _median_ms(longest),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=36_000, help="records in the table (a 30-minute soak's)")
    parser.add_argument("--page", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.leads, args.page, args.runs)
    print(
        f"{result['leads']:,} leads, medians of {result['runs']} runs: the whole walk holds the loop "
        f"{result['whole_walk_ms']:,.0f} ms; in pages of {result['page']} it takes "
        f"{result['paged_walk_total_ms']:,.0f} ms in all, {result['median_page_ms']} ms per page "
        f"(longest {result['longest_page_ms']} ms)"
    )


if __name__ == "__main__":
    main()
