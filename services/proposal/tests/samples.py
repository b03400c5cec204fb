"""The shipped catalog and policy, and Hypothesis strategies for pricing requests over them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hypothesis import strategies as st

from services.proposal.approvals import load_policy
from services.proposal.catalog import load_catalog
from services.proposal.pricing import LineRequest, PricingRequest

HERE = Path(__file__).parent.parent
CATALOG = load_catalog(HERE / "catalog.yaml")
POLICY = load_policy(HERE / "approvals.yaml")
SKUS = [product.sku for product in CATALOG.products]
CURRENCIES = [currency.code for currency in CATALOG.currencies]


def rates(maximum: str) -> st.SearchStrategy[Decimal]:
    """Fractions from 0 to `maximum` with up to four decimals, as quotes carry them."""
    return st.decimals(min_value=0, max_value=Decimal(maximum), places=4)


line_requests = st.builds(LineRequest, sku=st.sampled_from(SKUS), quantity=st.integers(1, 2_000), discount=rates("1"))

pricing_requests = st.builds(
    PricingRequest,
    currency=st.sampled_from(CURRENCIES),
    lines=st.lists(line_requests, min_size=1, max_size=8).map(tuple),
    segment=st.sampled_from([None, "enterprise", "smb"]),
    overall_discount=rates("0.5"),
    tax_rate=rates("0.27"),
)
