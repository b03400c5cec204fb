"""The dashboard in a real headless Chromium: it loads with no console errors and shows the
API's numbers, and it updates live when new records arrive.

Needs Debian's `chromium` (apt) and PyPI's `playwright` (never `playwright install`): without
them the test fails naming the missing package; it never skips.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.harness import Infra, Stack
from tests.integration.test_analytics_pipeline import (
    EXPECTED_FUNNEL,
    FLUSH_ENV,
    SCRIPT,
    captured,
    eventually,
    funnel_counts,
    get,
)

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def key_of(topic: str, value: dict[str, Any]) -> str:
    return str(
        value["lead_id"]
        if "lead_id" in value and not topic.startswith(("opport", "propos"))
        else value["opportunity_id"]
    )


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(infra, tmp_path_factory.mktemp("analytics-dashboard"), extra_env=FLUSH_ENV)
    stack.start("analytics")
    for topic, record, value in SCRIPT:
        stack.produce(topic, record, value, key_of(topic, value))
    service = stack.services["analytics"]
    eventually(lambda: funnel_counts(service), lambda c: c == EXPECTED_FUNNEL)
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the PyPI package `playwright` is missing: pip install playwright (no `playwright install`)")
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def open_dashboard(browser: Any, url: str) -> tuple[Any, list[str]]:
    """A page on the dashboard, after its first complete render, and the errors it logged."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
    page.goto(url)
    page.wait_for_selector("body[data-loaded]", timeout=15_000)
    return page, errors


def shown_funnel(page: Any) -> dict[str, int]:
    rows = page.query_selector_all("#funnel tr[data-step]")
    return {row.get_attribute("data-step"): int(row.query_selector("td.num").inner_text()) for row in rows}


def test_dashboard_loads_without_errors_and_matches_the_api(stack: Stack, browser: Any) -> None:
    """Funnel, forecast, reps, speed and nurture figures on the page equal the API's."""
    service = stack.services["analytics"]
    page, errors = open_dashboard(browser, service.url("/?period=2026-Q4"))
    assert shown_funnel(page) == funnel_counts(service)
    forecast = get(service, "/v1/forecast?period=2026-Q4")
    for element, field in (
        ("forecast-won", "won"),
        ("forecast-weighted", "weighted_total"),
        ("forecast-raw", "raw_total"),
    ):
        assert page.get_attribute(f"#{element}", "data-value") == forecast[field]
    assert page.inner_text("#forecast-won") == "12,000"
    reps = get(service, "/v1/reps")["reps"]
    shown = [
        (row.get_attribute("data-rep"), row.query_selector("[data-revenue]").get_attribute("data-revenue"))
        for row in page.query_selector_all("#reps tr[data-rep]")
    ]
    assert shown == [(r["rep_id"], r["revenue_won"]) for r in reps]
    assert page.inner_text("#speed-count") == str(
        get(service, "/v1/speed-to-lead")["assignment_to_first_touch"]["count"]
    )
    sent = page.inner_text('#nurture tr[data-sequence="s1"] [data-kind="sent"]')
    assert sent == str(get(service, "/v1/sequences/s1/stats")["totals"]["sent"])
    enrolled = page.inner_text('#enrolments tr[data-sequence="s1"] [data-change="enrolled"]')
    assert enrolled == str(get(service, "/v1/sequences/s1/stats")["enrolments"]["changes"]["enrolled"])
    assert errors == []
    page.close()


def test_dashboard_updates_live(stack: Stack, browser: Any) -> None:
    """A lead captured while the page is open shows up without a reload."""
    service = stack.services["analytics"]
    page, errors = open_dashboard(browser, service.url("/"))
    before = shown_funnel(page)["captured"]
    topic, record, value = captured("L-live", 30, "webinar")
    stack.produce(topic, record, value, "L-live")
    page.wait_for_function(
        f"document.querySelector('#funnel tr[data-step=captured] td.num').textContent === '{before + 1}'",
        timeout=20_000,
    )
    assert shown_funnel(page)["captured"] == funnel_counts(service)["captured"] == before + 1
    assert errors == []
    page.close()
