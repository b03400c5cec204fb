"""python -m services.analytics: run the analytics worker."""

from services.analytics.app import create
from shared.worker import run_worker

run_worker(create().runtime)
