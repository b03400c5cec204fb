"""Company domains, the live-enrolment index members, colleague exits and onboarding fan-out."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from services.nurture.colleagues import (
    COLLEAGUE_REPLIED,
    FREE_MAIL_DOMAINS,
    ONBOARDING_CONTACT,
    LiveMember,
    colleague_exits,
    company_domain,
    ends_colleagues,
    live_members,
    onboarding_contacts,
)
from services.nurture.config import NurtureConfig
from services.nurture.enrolment import Signal, enrol, exit_enrolment
from services.nurture.leads import LeadProfile, LeadRecord, new_record
from services.nurture.records import command_record
from services.nurture.sequences import load_shipped

SEQUENCES = load_shipped()
NOW = datetime(2025, 6, 2, 10, tzinfo=UTC)


def test_the_domain_is_the_text_after_the_last_at_lower_cased() -> None:
    """Plain and sealed addresses give the same domain; case and a trailing dot do not matter."""
    assert company_domain("Ada@Analytical.Example", FREE_MAIL_DOMAINS) == "analytical.example"
    assert company_domain("pii1.dG9rZW4@analytical.example", FREE_MAIL_DOMAINS) == "analytical.example"
    assert company_domain('"a@b"@analytical.example.', FREE_MAIL_DOMAINS) == "analytical.example"


def test_free_mail_and_malformed_addresses_have_no_company() -> None:
    """A gmail user shares a domain with millions of strangers; no '@' or nothing after it means no domain."""
    for address in ("someone@gmail.com", "x@GMAIL.COM", "pii1.abc@outlook.com", "nobody", "trailing@", "", None):
        assert company_domain(address, FREE_MAIL_DOMAINS) is None


def test_the_free_mail_list_is_configurable() -> None:
    """NURTURE_FREE_MAIL_DOMAINS replaces the list; a leading '+' adds to it; the switch is off by default."""
    assert NurtureConfig.from_env({}).colleague_reply_exit is False
    replaced = NurtureConfig.from_env({"NURTURE_FREE_MAIL_DOMAINS": "Corp.Example"}).free_mail_domains
    assert replaced == frozenset({"corp.example"})
    added = NurtureConfig.from_env({"NURTURE_FREE_MAIL_DOMAINS": "+corp.example"}).free_mail_domains
    assert added == FREE_MAIL_DOMAINS | {"corp.example"}


@given(st.text(min_size=1), st.text(alphabet="0123456789abcdef", min_size=1, max_size=24))
def test_members_round_trip_whatever_the_lead_id(lead_id: str, digest: str) -> None:
    """A lead id may hold ':'; the enrolment id (enr_<hex>) never does, so it goes first."""
    member = LiveMember(f"enr_{digest}", lead_id)
    assert LiveMember.parse(member.member) == member


def test_live_and_ended_enrolments_split_for_the_index() -> None:
    """Live enrolments are added to the company set, ended ones taken out."""
    record = new_record("lead_1")
    tz = ZoneInfo("UTC")
    first = enrol(record.enrolments, SEQUENCES["mql-follow-up"], NOW, tz).state
    live = first.enrolments[0]
    ended = exit_enrolment(first, live.enrolment_id, "manual", NOW).state
    second = enrol(ended, SEQUENCES["onboarding"], NOW, tz).state
    adds, removes = live_members(LeadRecord("lead_1", LeadProfile("a@x.example"), enrolments=second))
    assert removes == {f"{live.enrolment_id}:lead_1"}
    assert adds == {f"{second.enrolments[1].enrolment_id}:lead_1"}


def test_a_reply_ends_every_colleague_enrolment_but_the_repliers_own() -> None:
    """One exit per other lead's live enrolment, with reason colleague_replied, ids stable per reply."""
    members = {"enr_a:lead_1", "enr_b:lead_2", "enr_c:lead_2", "enr_d:lead:3"}
    exits = colleague_exits(members, "lead_1", "reply-1")
    assert [(c.lead_id, c.enrolment_id, c.reason) for c in exits] == [
        ("lead_2", "enr_b", COLLEAGUE_REPLIED),
        ("lead_2", "enr_c", COLLEAGUE_REPLIED),
        ("lead:3", "enr_d", COLLEAGUE_REPLIED),
    ]
    again = colleague_exits(members, "lead_1", "reply-1")
    ids = [command_record(c, NOW)["event_id"] for c in exits]
    assert ids == [command_record(c, NOW)["event_id"] for c in again] and len(set(ids)) == 3


def test_only_a_real_reply_speaks_for_the_company() -> None:
    """An out-of-office reply, a click or a bounce ends no colleague's enrolment."""
    assert ends_colleagues(Signal("email_reply"))
    assert not ends_colleagues(Signal("email_reply", out_of_office_until=NOW))
    assert not ends_colleagues(Signal("meeting_booked"))
    assert not ends_colleagues(Signal("email_bounce", hard=True))


def test_a_won_deal_onboards_each_other_contact_once() -> None:
    """Every contact but the deal's own lead gets one enrol, marked so it fans out no further."""
    commands = onboarding_contacts(["lead_2", "lead_1", "lead_2", "lead_3"], "lead_1", "cmd-x", "onboarding", "opp_1")
    assert [(c.kind, c.lead_id, c.sequence_id, c.reason, c.ref) for c in commands] == [
        ("enrol", "lead_2", "onboarding", ONBOARDING_CONTACT, "opp_1"),
        ("enrol", "lead_3", "onboarding", ONBOARDING_CONTACT, "opp_1"),
    ]
