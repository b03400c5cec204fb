"""/healthz, /readyz and /metrics on the service's Faust web server.

Readiness is false while the group rebalances or tables recover, with no partitions assigned,
or while Redis does not answer; each check is named in the response so a probe failure explains
itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.redis_client import redis_reachable
from shared.runtime import ServiceRuntime

METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST.split(";")[0]


ReadinessCheck = Callable[[], Awaitable[bool]]


def kafka_checks(runtime: ServiceRuntime) -> dict[str, ReadinessCheck]:
    app = runtime.app

    async def not_rebalancing() -> bool:
        return not app.rebalancing

    async def tables_recovered() -> bool:
        recovery = getattr(app.tables, "recovery", None)  # TableManager has it; the type stub does not
        return recovery is None or bool(recovery.completed.is_set())

    async def partitions_assigned() -> bool:
        return bool(app.consumer.assignment()) if app.consumer else False

    return {
        "not_rebalancing": not_rebalancing,
        "tables_recovered": tables_recovered,
        "partitions_assigned": partitions_assigned,
    }


async def run_checks(checks: dict[str, ReadinessCheck]) -> dict[str, bool]:
    return {name: await check() for name, check in checks.items()}


def install_health(
    runtime: ServiceRuntime, extra: dict[str, ReadinessCheck] | None = None, *, consumes: bool = True
) -> None:
    """Register the three endpoints; `consumes=False` for a service with no agents (HTTP only)."""
    app = runtime.app
    checks = dict(kafka_checks(runtime)) if consumes else {}
    checks["redis"] = lambda: redis_reachable(runtime.redis)
    checks |= extra or {}

    @app.page("/healthz")
    async def healthz(self: View, request: Request) -> Response:
        return self.json({"status": "alive", "service": runtime.service})

    @app.page("/readyz")
    async def readyz(self: View, request: Request) -> Response:
        results = await run_checks(checks)
        ready = all(results.values())
        runtime.metrics.ready.set(1 if ready else 0)
        body: dict[str, Any] = {"ready": ready, "checks": results}
        return self.json(body, status=200 if ready else 503)

    @app.page("/metrics")
    async def metrics(self: View, request: Request) -> Response:
        # aiohttp wants the charset apart from the media type.
        response: Any = self.bytes(generate_latest(runtime.metrics.registry), content_type=METRICS_MEDIA_TYPE)
        response.charset = "utf-8"
        return response  # type: ignore[no-any-return]

    async def count_rebalance(sender: Any, **kwargs: Any) -> None:
        runtime.metrics.rebalances.inc()

    app.on_rebalance_complete.connect(count_rebalance)  # type: ignore[arg-type]
