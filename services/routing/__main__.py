"""python -m services.routing: run the routing worker."""

from services.routing.app import create
from shared.worker import run_worker

run_worker(create().runtime)
