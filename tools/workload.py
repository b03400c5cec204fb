"""A seeded generator of realistic leads and engagement events, for the demo and benchmarks.

Pure: a `random.Random` drives everything, so the same seed gives the same workload.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.avro_codec import enum_symbols

FIRST = [
    "Aiko",
    "Ben",
    "Carla",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Lars",
    "Maya",
    "Nina",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Yuki",
]
LAST = [
    "Tanaka",
    "Smith",
    "Garcia",
    "Ivanov",
    "Rossi",
    "Khan",
    "Lee",
    "Sato",
    "Silva",
    "Weber",
    "Okafor",
    "Larsen",
    "Cohen",
    "Novak",
    "Haddad",
    "Patel",
    "Brown",
    "Lopez",
    "Berg",
    "Singh",
    "Ali",
    "Kowalski",
]
COMPANIES = [
    ("Acme Robotics", "acme-robotics.example", "Manufacturing", 1200, "US", "CA"),
    ("Globex Finance", "globex.example", "Financial Services", 5400, "US", "NY"),
    ("Initech Software", "initech.example", "Software", 240, "US", "TX"),
    ("Umbrella Health", "umbrella-health.example", "Healthcare", 8000, "GB", None),
    ("Stark Logistics", "stark-logistics.example", "Logistics", 650, "DE", "BY"),
    ("Wayne Retail", "wayne-retail.example", "Retail", 3100, "FR", None),
    ("Hooli Cloud", "hooli.example", "Software", 15000, "JP", "13"),
    ("Soylent Foods", "soylent.example", "Consumer Goods", 90, "BR", "SP"),
    ("Tyrell Systems", "tyrell.example", "Software", 45, "AU", "NSW"),
    ("Cyberdyne Labs", "cyberdyne.example", "Manufacturing", 2300, "CA", "ON"),
    ("Vandelay Imports", "vandelay.example", "Wholesale", 18, "US", "NJ"),
    ("Oceanic Air", "oceanic.example", "Transportation", 9800, "SG", None),
]
TITLES = [
    "VP of Sales",
    "Chief Revenue Officer",
    "Head of Marketing",
    "Sales Operations Manager",
    "Software Engineer",
    "CTO",
    "Director of IT",
    "Marketing Coordinator",
    "Student",
    "CEO",
    "Account Executive",
    "Procurement Lead",
]
SOURCES = list(enum_symbols("LeadSubmitted", "source"))
PRODUCTS = ["platform", "analytics", "integrations", "support_plus"]
ENGAGEMENT = [
    ("page_view", 30),
    ("pricing_page_view", 12),
    ("email_open", 20),
    ("email_click", 10),
    ("content_download", 8),
    ("webinar_attended", 5),
    ("demo_request", 4),
    ("meeting_booked", 3),
    ("form_submit", 5),
    ("email_reply", 2),
    ("unsubscribe", 1),
]


@dataclass
class Workload:
    """Leads with a share of duplicates and invalid records, and engagement for known leads."""

    seed: int = 7
    duplicate_share: float = 0.03
    invalid_share: float = 0.02
    rng: random.Random = field(init=False)
    sent: list[dict[str, Any]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def lead(self, now: datetime) -> dict[str, Any]:
        """The next lead as the HTTP API takes it (a duplicate or invalid one now and then)."""
        roll = self.rng.random()
        if self.sent and roll < self.duplicate_share:
            return dict(self.rng.choice(self.sent))
        lead = self._fresh(now)
        if roll < self.duplicate_share + self.invalid_share:
            return lead | {"email": "not-an-email"}
        self.sent.append(lead)
        del self.sent[:-5000]
        return lead

    def _fresh(self, now: datetime) -> dict[str, Any]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        company, domain, industry, employees, country, region = self.rng.choice(COMPANIES)
        free_mail = self.rng.random() < 0.15
        tag = uuid.UUID(int=self.rng.getrandbits(128)).hex[:8]
        email = f"{first}.{last}.{tag}@{'gmail.com' if free_mail else domain}".lower()
        return {
            "event_id": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "occurred_at": now.isoformat(),
            "source": self.rng.choice(SOURCES),
            "email": email,
            "first_name": first,
            "last_name": last,
            "company": company,
            "job_title": self.rng.choice(TITLES),
            "industry": industry,
            "employees": employees,
            "country": country,
            "region": region,
            "product_interest": self.rng.choice(PRODUCTS),
            "marketing_consent": self.rng.random() < 0.7,
            "utm_campaign": self.rng.choice(["q4-launch", "webinar-series", "retargeting", None]),
        }

    def engagement(self, now: datetime) -> dict[str, Any] | None:
        """An engagement event for a lead already sent, or None before any lead exists."""
        if not self.sent:
            return None
        # Engagement comes in bursts from a few interested leads, as it does in real life:
        # most events go to the newest leads, so some of them qualify within seconds.
        lead = self.rng.choice(self.sent[-20:] if self.rng.random() < 0.7 else self.sent[-500:])
        kinds, weights = zip(*ENGAGEMENT, strict=True)
        return {
            "event_id": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "occurred_at": now,
            "email": lead["email"],
            "type": self.rng.choices(kinds, weights)[0],
            "url": "https://www.example.com/pricing",
            "attributes": {},
        }
