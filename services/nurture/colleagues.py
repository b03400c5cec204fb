"""Leads of one company, told apart by the domain of their address: who a colleague's reply
stops, and who a won deal onboards.

Pure: addresses and enrolments in, domains, index members and commands out; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.nurture.enrolment import Signal
from services.nurture.leads import LeadRecord
from services.nurture.records import Command

# Mailbox providers whose users share a domain without sharing a company: a reply from one gmail
# user must not end every gmail lead's enrolment, and a won deal must not onboard them all.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "163.com",
        "aol.com",
        "fastmail.com",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "web.de",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    }
)
COLLEAGUE_REPLIED = "colleague_replied"
ONBOARDING = "onboarding"
# An onboarding enrol for a contact of the deal's account: it enrols that contact and no others.
ONBOARDING_CONTACT = "onboarding_contact"


def company_domain(email: str | None, free_mail: frozenset[str]) -> str | None:
    """The company's domain: the text after the last '@', lower-cased; None for a free-mail domain.

    Taking the last '@' reads sealed addresses (`pii1.<token>@<domain>`) and plain ones alike.
    """
    _, at, domain = (email or "").rpartition("@")
    domain = domain.strip().rstrip(".").lower()
    return domain if at and domain and domain not in free_mail else None


def record_domain(record: LeadRecord, free_mail: frozenset[str]) -> str | None:
    """The company domain of a lead's record, or None when it has none (no address, free mail)."""
    return company_domain(record.profile.email if record.profile else None, free_mail)


@dataclass(frozen=True)
class LiveMember:
    """A live enrolment as a member of its company's set; the lead id goes last (it may hold ':')."""

    enrolment_id: str
    lead_id: str

    @property
    def member(self) -> str:
        return f"{self.enrolment_id}:{self.lead_id}"

    @classmethod
    def parse(cls, member: str) -> LiveMember:
        enrolment_id, _, lead_id = member.partition(":")
        return cls(enrolment_id, lead_id)


def live_members(record: LeadRecord) -> tuple[set[str], set[str]]:
    """The lead's enrolments as company-set members: (live ones to add, ended ones to remove)."""
    live: set[str] = set()
    ended: set[str] = set()
    for e in record.enrolments.enrolments:
        (live if e.is_live else ended).add(LiveMember(e.enrolment_id, e.lead_id).member)
    return live, ended


def ends_colleagues(signal: Signal) -> bool:
    """A real reply speaks for the company; an out-of-office reply speaks for nobody."""
    return signal.kind == "email_reply" and signal.out_of_office_until is None


def colleague_exits(members: Iterable[str], replier_id: str, cause: str) -> list[Command]:
    """One exit command per live enrolment of another lead at the replier's company.

    The command ids derive from the reply's event id, so a redelivered reply repeats the same
    commands, and an exit of an enrolment that already ended changes nothing: one exit each.
    """
    colleagues = sorted({LiveMember.parse(m) for m in members}, key=lambda m: m.member)
    return [
        Command("exit", m.lead_id, cause, enrolment_id=m.enrolment_id, reason=COLLEAGUE_REPLIED)
        for m in colleagues
        if m.lead_id != replier_id and m.enrolment_id
    ]


def onboarding_contacts(
    contacts: Iterable[str], lead_id: str, cause: str, sequence_id: str, ref: str | None
) -> list[Command]:
    """An onboarding enrol for every other known contact of the won deal's company, once each:
    the ids derive from the deal's command, and an enrolment still live refuses a second one."""
    return [
        Command("enrol", contact, cause, sequence_id, reason=ONBOARDING_CONTACT, ref=ref)
        for contact in sorted(set(contacts) - {lead_id})
    ]
