"""Starts a service's Faust worker with our JSON logging in place of Faust's own."""

from __future__ import annotations

import faust

from shared.logs import configure_logging
from shared.runtime import ServiceRuntime


def run_worker(runtime: ServiceRuntime) -> None:
    """Run until SIGTERM/SIGINT; exits non-zero when the app crashes."""
    level = runtime.settings.log_level
    configure_logging(runtime.service, level)
    worker = faust.Worker(
        runtime.app,
        loglevel=level,
        override_logging=False,
        redirect_stdouts=False,
        console_port=0,
    )
    worker.execute_from_commandline()
