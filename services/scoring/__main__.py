"""python -m services.scoring: run the scoring worker."""

from services.scoring.app import create
from shared.worker import run_worker

run_worker(create().runtime)
