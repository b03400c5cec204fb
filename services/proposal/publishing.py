"""Rendering a version's documents and storing them, off the event loop, with the rep the roster names.

Used when a version is generated and when an erasure renders it again without the contact.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.proposal.config import ProposalConfig
from services.proposal.document import StoredDocuments, font_files, publish
from services.proposal.presentation import Party
from services.proposal.reps import RepDirectory
from services.proposal.storage import LocalDocumentStore
from services.proposal.workflow import ProposalFile, document_for, rep_of


class Publisher:
    """The document store, the PDF fonts (checked at start), the seller and the rep directory."""

    def __init__(self, config: ProposalConfig, reps: RepDirectory) -> None:
        self.documents = LocalDocumentStore(Path(config.document_dir), config.public_url)
        self.fonts = font_files(config.font_regular, config.font_bold, config.font_fallback)
        self.seller = Party(config.seller_company, config.seller_contact, config.seller_address, config.seller_email)
        self.reps = reps

    async def render(self, file: ProposalFile, version: int) -> StoredDocuments:
        """Render and store `version`'s HTML and PDF; returns their URLs."""
        rep = await self.reps.contact(rep_of(file, version))
        doc = document_for(file, version, self.seller, rep)
        # Rendering is CPU work and storing is file I/O: keep both off the event loop.
        return await asyncio.to_thread(publish, doc, self.documents, self.fonts)
