"""Starts a service's Faust worker on its event loop, with our JSON logging in place of Faust's own."""

from __future__ import annotations

import asyncio

import faust
import uvloop

from shared.heap_trim import install_heap_trim
from shared.logs import configure_logging
from shared.runtime import ServiceRuntime


def event_loop_policy(name: str) -> asyncio.AbstractEventLoopPolicy:
    """The policy for SALESFLOW_EVENT_LOOP's choice (shared.config.EVENT_LOOPS)."""
    return uvloop.EventLoopPolicy() if name == "uvloop" else asyncio.DefaultEventLoopPolicy()


def run_worker(runtime: ServiceRuntime) -> None:
    """Run until SIGTERM/SIGINT; exits non-zero when the app crashes."""
    # Before the worker exists: it creates the loop that Faust, aiokafka, redis and aiohttp all run on.
    asyncio.set_event_loop_policy(event_loop_policy(runtime.settings.event_loop))
    level = runtime.settings.log_level
    configure_logging(runtime.service, level)
    heap_trim = install_heap_trim(runtime)
    runtime.log.info(
        "worker_starting",
        event_loop=runtime.settings.event_loop,
        heap_trim_seconds=runtime.settings.heap_trim_seconds if heap_trim else 0,
    )
    worker = faust.Worker(
        runtime.app,
        loglevel=level,
        override_logging=False,
        redirect_stdouts=False,
        console_port=0,
    )
    worker.execute_from_commandline()
