"""analytics' read-only HTTP API and dashboard: every answer is computed from the Redis read
model, so any replica answers for all partitions. GETs need no key (a read-only dashboard).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from faust.web import Request, Response, View

from services.analytics.dashboard import dashboard_html
from services.analytics.forecast import parse_period, quarter_of
from services.analytics.openapi import openapi_document
from services.analytics.totals import Overall, overall, totals_from_docs
from services.analytics.views import (
    forecast_view,
    funnel_view,
    one_rep_view,
    pipeline_view,
    reps_view,
    sequence_view,
    sequences_of,
    speed_view,
)
from services.analytics.windows import Granularity
from shared.http_api import HttpApi, HttpError

if TYPE_CHECKING:
    from services.analytics.app import Analytics

Span = tuple[datetime, datetime, Granularity]


def parse_span(start: str | None, end: str | None) -> Span | None:
    """from/to as ISO dates (day windows) or datetimes (hour windows); none for running totals."""
    if not start and not end:
        return None
    if not start or not end:
        raise HttpError(400, "give both from and to, or neither")
    try:
        if len(start) == len(end) == len("2026-10-01"):
            days = date.fromisoformat(start), date.fromisoformat(end)
            return datetime.combine(days[0], time(), UTC), datetime.combine(days[1], time(), UTC), "day"
        moments = [datetime.fromisoformat(v.replace("Z", "+00:00")) for v in (start, end)]
    except ValueError as exc:
        raise HttpError(400, f"from/to must be ISO 8601 dates or datetimes: {exc}") from exc
    if any(m.tzinfo is None for m in moments):
        raise HttpError(400, "from/to datetimes need a zone (e.g. 2026-10-01T09:00:00Z)")
    return moments[0], moments[1], "hour"


class Reader:
    """Sums the read model across partitions for each request."""

    def __init__(self, analytics: Analytics) -> None:
        self.analytics = analytics

    async def totals(self) -> Overall:
        docs = await self.analytics.read_model.read_all()
        return overall(totals_from_docs(d, self.analytics.empty_totals()) for d in docs)

    async def funnel(self, query: Any) -> tuple[int, Any]:
        span = parse_span(query.get("from"), query.get("to"))
        try:
            return 200, funnel_view(await self.totals(), query.get("by", "all"), span)
        except ValueError as exc:
            raise HttpError(400, str(exc)) from exc

    async def forecast(self, query: Any) -> tuple[int, Any]:
        now = datetime.now(UTC)
        try:
            period = parse_period(query["period"]) if query.get("period") else quarter_of(now.date())
        except ValueError as exc:
            raise HttpError(400, str(exc)) from exc
        return 200, forecast_view(await self.totals(), period, now)

    async def rep(self, rep_id: str) -> tuple[int, Any]:
        body = one_rep_view(await self.totals(), rep_id, await self.analytics.read_model.capacities())
        if body is None:
            raise HttpError(404, f"no numbers for rep {rep_id!r}")
        return 200, body

    async def sequence(self, sequence_id: str) -> tuple[int, Any]:
        body = sequence_view(await self.totals(), sequence_id)
        if body is None:
            raise HttpError(404, f"no numbers for sequence {sequence_id!r}")
        return 200, body


def install_http_api(analytics: Analytics) -> None:
    app = analytics.runtime.app
    api = HttpApi(analytics.runtime.metrics, ())
    reader = Reader(analytics)

    @app.page("/v1/funnel")
    class Funnel(View):
        async def get(self, request: Request) -> Response:
            return await api.answer(self, "/v1/funnel", request, lambda: reader.funnel(request.query), auth=False)

    @app.page("/v1/speed-to-lead")
    class Speed(View):
        async def get(self, request: Request) -> Response:
            async def handle() -> tuple[int, Any]:
                return 200, speed_view(await reader.totals())

            return await api.answer(self, "/v1/speed-to-lead", request, handle, auth=False)

    @app.page("/v1/forecast")
    class Forecast(View):
        async def get(self, request: Request) -> Response:
            return await api.answer(self, "/v1/forecast", request, lambda: reader.forecast(request.query), auth=False)

    @app.page("/v1/pipeline")
    class Pipeline(View):
        async def get(self, request: Request) -> Response:
            async def handle() -> tuple[int, Any]:
                return 200, pipeline_view(await reader.totals())

            return await api.answer(self, "/v1/pipeline", request, handle, auth=False)

    @app.page("/v1/reps")
    class Reps(View):
        async def get(self, request: Request) -> Response:
            async def handle() -> tuple[int, Any]:
                return 200, reps_view(await reader.totals(), await analytics.read_model.capacities())

            return await api.answer(self, "/v1/reps", request, handle, auth=False)

    @app.page("/v1/reps/{rep_id}")
    class Rep(View):
        async def get(self, request: Request, rep_id: str) -> Response:
            return await api.answer(self, "/v1/reps/{id}", request, lambda: reader.rep(rep_id), auth=False)

    @app.page("/v1/sequences")
    class Sequences(View):
        async def get(self, request: Request) -> Response:
            async def handle() -> tuple[int, Any]:
                return 200, {"sequences": sequences_of(await reader.totals())}

            return await api.answer(self, "/v1/sequences", request, handle, auth=False)

    @app.page("/v1/sequences/{sequence_id}/stats")
    class Sequence(View):
        async def get(self, request: Request, sequence_id: str) -> Response:
            route = "/v1/sequences/{id}/stats"
            return await api.answer(self, route, request, lambda: reader.sequence(sequence_id), auth=False)

    @app.page("/openapi.json")
    async def openapi(self: View, request: Request) -> Response:
        return self.json(openapi_document())

    @app.page("/")
    async def dashboard(self: View, request: Request) -> Response:
        return self.html(dashboard_html())
