"""Opening a lead's sealed profile for one send: the table keeps it sealed, a step sees plaintext.

A profile whose key was shredded belongs to an erased person: the step must not act on it.
"""

from __future__ import annotations

from dataclasses import replace

from services.nurture.leads import LeadProfile
from shared.pii import PiiUnavailable, SubjectErased
from shared.pii_keys import PiiVault


async def open_profile(vault: PiiVault, lead_id: str, profile: LeadProfile | None) -> LeadProfile | None:
    """The profile with its person fields opened (plaintext passes through); PiiUnavailable if it cannot be."""
    if profile is None:
        return None
    sealed = {"email": profile.email, "first_name": profile.first_name, "last_name": profile.last_name}
    opened = await vault.open_values(lead_id, sealed)
    return replace(profile, email=opened["email"] or "", first_name=opened["first_name"], last_name=opened["last_name"])


def unreadable_reason(error: PiiUnavailable) -> str:
    """Why a step with an unopenable profile ends: the person was erased, or the record was altered."""
    return "erased" if isinstance(error, SubjectErased) else "unreadable_profile"
