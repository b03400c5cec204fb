"""Opening a sealed lead profile for one step: plaintext back, or a reason never to send."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.nurture.leads import LeadProfile
from services.nurture.sealed_profile import open_profile, unreadable_reason
from shared.config import PiiSettings
from shared.pii import SealBroken, SubjectErased, new_key, seal_fields
from shared.pii_keys import PiiVault

PROFILE = LeadProfile(email="ada@analytical.example", first_name="Ada", last_name="Lovelace", company="AE")


class Keys:
    """The KeyStore contract in memory."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes | None] = {"lead_1": new_key()}

    async def keys_for(self, subjects: Sequence[str]) -> list[bytes | None]:
        return [self.keys.setdefault(s, new_key()) for s in subjects]

    async def key_of(self, subject: str) -> bytes | None:
        return self.keys.get(subject)

    async def shred(self, subject: str) -> bool:
        self.keys[subject] = None
        return True


def sealed(keys: Keys) -> LeadProfile:
    fields = seal_fields(keys.keys["lead_1"] or b"", "lead_1", PROFILE.__dict__, ("email", "first_name", "last_name"))
    return LeadProfile(**fields)


async def test_a_sealed_profile_opens_to_the_plain_one_and_a_plain_one_passes() -> None:
    """The person fields open; company facts and unsealed profiles are left as they are."""
    keys = Keys()
    vault = PiiVault(keys, PiiSettings(cache_seconds=0))
    assert sealed(keys) != PROFILE and sealed(keys).company == "AE"
    assert await open_profile(vault, "lead_1", sealed(keys)) == PROFILE
    assert await open_profile(vault, "lead_2", PROFILE) == PROFILE
    assert await open_profile(vault, "lead_1", None) is None


async def test_a_shredded_key_means_erased_and_an_altered_profile_is_unreadable() -> None:
    """Neither opens; each gives the reason the step records."""
    keys = Keys()
    vault = PiiVault(keys, PiiSettings(cache_seconds=0))
    profile = sealed(keys)
    keys.keys["lead_9"] = new_key()  # lead_1's profile read as another lead's: it does not open
    with pytest.raises(SealBroken) as broken:
        await open_profile(vault, "lead_9", profile)
    assert unreadable_reason(broken.value) == "unreadable_profile"
    await vault.shred("lead_1")
    with pytest.raises(SubjectErased) as erased:
        await open_profile(vault, "lead_1", profile)
    assert unreadable_reason(erased.value) == "erased"
