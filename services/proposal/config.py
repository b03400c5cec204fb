"""proposal's settings, from PROPOSAL_* and SALESFLOW_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.api_keys import ApiKeys
from shared.config import env_float, env_int, env_str

PORT = 8006
HERE = Path(__file__).parent
# Debian's fonts-dejavu-core (Latin, Greek, Cyrillic) and fonts-droid-fallback (CJK) paths.
DEJAVU = "/usr/share/fonts/truetype/dejavu/"
DEFAULT_FONT_REGULAR = DEJAVU + "DejaVuSans.ttf"
DEFAULT_FONT_BOLD = DEJAVU + "DejaVuSans-Bold.ttf"
DEFAULT_FONT_FALLBACK = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"


@dataclass(frozen=True)
class ProposalConfig:
    """Where the catalog, policy, documents and fonts are; who sells; how often deadlines are checked.

    An empty `font_regular` prints with the PDF core fonts (windows-1252 only); an empty
    `font_fallback` means no second font for the characters the regular one lacks. The defaults
    are Debian's DejaVu Sans and Droid Sans Fallback, where installed.
    """

    catalog_path: str
    approvals_path: str
    document_dir: str
    public_url: str
    api_keys: ApiKeys
    seller_company: str = "Salesflow Inc."
    seller_contact: str = ""
    seller_email: str = ""
    seller_address: tuple[str, ...] = ()
    font_regular: str = DEFAULT_FONT_REGULAR
    font_bold: str = DEFAULT_FONT_BOLD
    font_fallback: str = DEFAULT_FONT_FALLBACK
    check_interval_seconds: float = 60.0
    max_body_bytes: int = 256 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, port: int = PORT) -> ProposalConfig:
        env = os.environ if env is None else env
        return cls(
            catalog_path=env_str(env, "PROPOSAL_CATALOG_PATH", str(HERE / "catalog.yaml")),
            approvals_path=env_str(env, "PROPOSAL_APPROVALS_PATH", str(HERE / "approvals.yaml")),
            document_dir=env_str(env, "SALESFLOW_PROPOSAL_DIR", ".local/proposals"),
            public_url=env_str(env, "PROPOSAL_PUBLIC_URL", f"http://127.0.0.1:{port}/v1/proposals"),
            api_keys=ApiKeys.from_env(env),
            seller_company=env_str(env, "PROPOSAL_SELLER_COMPANY", "Salesflow Inc."),
            seller_contact=env_str(env, "PROPOSAL_SELLER_CONTACT", ""),
            seller_email=env_str(env, "PROPOSAL_SELLER_EMAIL", ""),
            seller_address=tuple(
                line.strip() for line in env.get("PROPOSAL_SELLER_ADDRESS", "").split("|") if line.strip()
            ),
            font_regular=env.get("PROPOSAL_FONT_REGULAR", _installed(DEFAULT_FONT_REGULAR, DEFAULT_FONT_BOLD)),
            font_bold=env.get("PROPOSAL_FONT_BOLD", _installed(DEFAULT_FONT_BOLD, DEFAULT_FONT_REGULAR)),
            font_fallback=env.get("PROPOSAL_FONT_FALLBACK", _installed(DEFAULT_FONT_FALLBACK)),
            check_interval_seconds=env_float(env, "PROPOSAL_CHECK_INTERVAL_SECONDS", 60.0),
            max_body_bytes=env_int(env, "PROPOSAL_MAX_BODY_BYTES", 256 * 1024),
        )


def _installed(*paths: str) -> str:
    """The first default font path when every one of `paths` exists, else "" (core fonts, or no fallback).

    Only defaults degrade this way; a path set in the environment must exist (checked at start).
    """
    return paths[0] if all(Path(path).is_file() for path in paths) else ""
