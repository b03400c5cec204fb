"""Customer-facing proposal documents as bytes: HTML through Jinja2, PDF through fpdf2.

Rendering only: amounts come from the `PricedProposal` as priced, never recomputed here;
where the bytes are kept is behind `DocumentStore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.proposal.pdf_layout import FontFiles, ProposalPdf, font_files
from services.proposal.presentation import (
    Party,
    ProposalDocument,
    contact_note,
    line_rows,
    savings_note,
    subtitle,
    total_rows,
    validity_note,
)

__all__ = [
    "DocumentStore",
    "FontFiles",
    "Party",
    "ProposalDocument",
    "StoredDocuments",
    "document_path",
    "font_files",
    "publish",
    "render_html",
    "render_pdf",
]

TEMPLATES = Path(__file__).parent / "templates"


class DocumentStore(Protocol):
    """Where rendered documents live; `put` returns the URL the document is served at."""

    def put(self, path: str, data: bytes) -> str: ...

    def get(self, path: str) -> bytes: ...


@dataclass(frozen=True)
class StoredDocuments:
    """The URLs of the stored HTML and PDF of one version."""

    html_url: str
    pdf_url: str


def document_path(number: str, version: int, extension: str) -> str:
    """The storage path of a version's document, matching `/v1/proposals/{id}/v/{version}.pdf`."""
    return f"{number}/v/{version}.{extension}"


def render_html(doc: ProposalDocument) -> bytes:
    """The proposal as a standalone UTF-8 HTML page; customer text is escaped."""
    template = _environment().get_template("proposal.html.j2")
    page = template.render(
        doc=doc,
        subtitle=subtitle(doc),
        lines=line_rows(doc.priced),
        totals=total_rows(doc.priced),
        savings=savings_note(doc.priced),
        validity=validity_note(doc),
        contact=contact_note(doc),
    )
    return page.encode("utf-8")


@cache
def _environment() -> Environment:
    autoescape = select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True)
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_pdf(doc: ProposalDocument, fonts: FontFiles | None = None) -> bytes:
    """The proposal as an A4 PDF; the same input gives the same bytes."""
    pdf = ProposalPdf(doc, fonts)
    pdf.add_page()
    pdf.write_parties()
    pdf.write_lines()
    pdf.write_totals()
    pdf.write_terms()
    return bytes(pdf.output())


def publish(doc: ProposalDocument, store: DocumentStore, fonts: FontFiles | None = None) -> StoredDocuments:
    """Render both documents and store them under the version's paths."""
    html_url = store.put(document_path(doc.number, doc.version, "html"), render_html(doc))
    pdf_url = store.put(document_path(doc.number, doc.version, "pdf"), render_pdf(doc, fonts))
    return StoredDocuments(html_url, pdf_url)
