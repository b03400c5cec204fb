"""The PDF layout of a proposal on fpdf2: heading, parties, line table, totals, terms, footer.

Layout only; every string it prints comes from `presentation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

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

# fpdf2's built-in Helvetica speaks windows-1252, which has the $, €, £ and ¥ signs.
CORE_ENCODING = "windows-1252"
LINE_WIDTHS = (62, 14, 24, 16, 24, 24, 26)
LINE_HEADINGS = ("Item", "Qty", "List price", "Tier", "Unit price", "Discount", "Amount")


@dataclass(frozen=True)
class FontFiles:
    """A TrueType family for text beyond windows-1252, and a font for the characters it lacks.

    DejaVu Sans covers Latin, Greek and Cyrillic but no CJK ideographs; Droid Sans Fallback does.
    """

    regular: Path
    bold: Path
    fallback: Path | None = None

    def missing(self) -> list[Path]:
        """The configured files that do not exist (checked at start, not at the first render)."""
        return [path for path in (self.regular, self.bold, self.fallback) if path and not path.is_file()]


def font_files(regular: str, bold: str, fallback: str) -> FontFiles | None:
    """The configured fonts, or None (core fonts) when `regular` is empty.

    Raises FileNotFoundError naming every missing file, so a bad path stops the service at start.
    """
    if not regular.strip():
        return None
    fonts = FontFiles(Path(regular), Path(bold), Path(fallback) if fallback.strip() else None)
    if fonts.missing():
        raise FileNotFoundError(f"PDF font files not found: {', '.join(map(str, fonts.missing()))}")
    return fonts


class ProposalPdf(FPDF):
    """The PDF layout: heading, parties, line table, totals, terms, page footer."""

    def __init__(self, doc: ProposalDocument, fonts: FontFiles | None) -> None:
        super().__init__(format="A4")
        self.doc = doc
        self.body_family = "Helvetica"
        self.core_fonts_encoding = CORE_ENCODING
        if fonts:
            self.add_font("Body", "", str(fonts.regular))
            self.add_font("Body", "B", str(fonts.bold))
            self.body_family = "Body"
        if fonts and fonts.fallback:
            self.add_font("Fallback", "", str(fonts.fallback))
            # Not exact: bold text without a bold fallback still draws its glyphs, in regular weight.
            self.set_fallback_fonts(["Fallback"], exact_match=False)
        self.fonts_are_unicode = fonts is not None
        self.set_title(f"Proposal {doc.number} v{doc.version}")
        self.set_author(doc.seller.company)
        # A fixed creation date keeps the bytes, and so the file ID, reproducible.
        self.set_creation_date(datetime.combine(doc.issued_on, time.min, tzinfo=UTC))
        self.set_auto_page_break(auto=True, margin=18)

    def text_of(self, value: str) -> str:
        """Text the current font can draw: outside windows-1252, core fonts show '?'."""
        if self.fonts_are_unicode:
            return value
        return value.encode(CORE_ENCODING, errors="replace").decode(CORE_ENCODING)

    def header(self) -> None:
        self.set_font(self.body_family, "B", 18)
        title = self.text_of(f"Proposal {self.doc.number}")
        self.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.body_family, "", 9)
        self.cell(0, 5, self.text_of(subtitle(self.doc)), new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.body_family, "", 8)
        label = f"{self.doc.number} v{self.doc.version} - page {self.page_no()}/{{nb}}"
        self.cell(0, 5, self.text_of(label), align="C")

    def write_parties(self) -> None:
        top = self.get_y()
        seller_bottom = self._party("From", self.doc.seller, x=self.l_margin, top=top)
        customer_bottom = self._party("Prepared for", self.doc.customer, x=self.l_margin + 100, top=top)
        # Below the longer of the two blocks, so neither runs into the line table.
        self.set_xy(self.l_margin, max(seller_bottom, customer_bottom, top + 30))
        contact = contact_note(self.doc)
        if contact:
            # Across the page: a name and an address together outgrow a party's column.
            self.ln(2)
            self.set_font(self.body_family, "", 10)
            self.cell(0, 5, self.text_of(contact), new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def _party(self, heading: str, party: Party, x: float, top: float) -> float:
        """Print one party's block at (x, top); returns where it ends."""
        self.set_xy(x, top)
        self.set_font(self.body_family, "B", 10)
        self.cell(90, 5, heading, new_x="LEFT", new_y="NEXT")
        self.set_font(self.body_family, "", 10)
        for text in (party.company, party.contact, *party.address, party.email):
            if text:
                self.cell(90, 5, self.text_of(text), new_x="LEFT", new_y="NEXT")
        return self.get_y()

    def write_lines(self) -> None:
        self.set_font(self.body_family, "", 9)
        heading = FontFace(emphasis="BOLD", fill_color=(230, 234, 240))
        with self.table(
            col_widths=LINE_WIDTHS, text_align=("LEFT", *["RIGHT"] * 6), headings_style=heading, line_height=5
        ) as table:
            table.row(LINE_HEADINGS)
            for row in line_rows(self.doc.priced):
                cells = (
                    f"{row.name}\n{row.detail}",
                    row.quantity,
                    row.list_price,
                    row.tier,
                    row.unit_price,
                    row.discount,
                    row.amount,
                )
                table.row([self.text_of(cell) for cell in cells])
        self.ln(4)

    def write_totals(self) -> None:
        rows = total_rows(self.doc.priced)
        for i, (label, amount) in enumerate(rows):
            self.set_font(self.body_family, "B" if i == len(rows) - 1 else "", 10)
            self.set_x(self.l_margin + 100)
            self.cell(60, 6, self.text_of(label))
            self.cell(30, 6, self.text_of(amount), align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.body_family, "", 9)
        self.set_x(self.l_margin + 100)
        self.cell(90, 6, self.text_of(savings_note(self.doc.priced)), new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def write_terms(self) -> None:
        self.set_font(self.body_family, "B", 10)
        self.cell(0, 6, "Terms", new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.body_family, "", 9)
        self.multi_cell(0, 5, self.text_of(self.doc.terms), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        self.multi_cell(0, 5, self.text_of(validity_note(self.doc)), new_x="LMARGIN", new_y="NEXT")
