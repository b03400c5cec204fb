"""python -m services.proposal: run the proposal worker and its HTTP API."""

from services.proposal.app import create
from shared.api_keys import announce_generated_key
from shared.worker import run_worker

service = create()
announce_generated_key("proposal", service.config.api_keys)
run_worker(service.runtime)
