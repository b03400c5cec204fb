"""python -m services.proposal: run the proposal worker."""

from services.proposal.app import create
from shared.worker import run_worker

run_worker(create().runtime)
