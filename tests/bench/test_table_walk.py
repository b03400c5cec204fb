"""The table-walk benchmark walks what it filled: every lead, page by page within each partition."""

from __future__ import annotations

from bench.table_walk import PARTITIONS, filled_table, walk_paged


def test_a_stretch_is_timed_for_every_page_of_every_partition() -> None:
    """50 leads over six partitions in pages of 4: two partitions hold 9 (three pages), four hold 8 (two)."""
    table = filled_table(50)
    assert sum(1 for _ in table.items()) == 50
    assert len(walk_paged(table, 4)) == 2 * 3 + (PARTITIONS - 2) * 2
