"""What the lead table is given to store: a change, never a repeat, never an empty record."""

from __future__ import annotations

from dataclasses import replace

from services.nurture.leads import LeadProfile, new_record, record_to_store


def test_a_new_profile_is_stored_and_the_same_record_again_is_not() -> None:
    record = replace(new_record("lead-1"), profile=LeadProfile(email="ada@analytical.example"))
    stored = record_to_store(record, None)
    assert stored == record.to_dict()
    assert record_to_store(record, stored) is None


def test_an_empty_record_of_an_unknown_lead_is_never_stored() -> None:
    """An erased lead has no row; writing its empty record would bring the lead back."""
    assert record_to_store(new_record("lead-1"), None) is None


def test_a_lead_emptied_by_a_change_is_stored() -> None:
    """Only the unknown lead's empty record is dropped: a row that held something is overwritten."""
    before = replace(new_record("lead-1"), rep_id="rep-7").to_dict()
    assert record_to_store(new_record("lead-1"), before) == new_record("lead-1").to_dict()
