"""python -m services.opportunity: run the opportunity worker and its HTTP API."""

from services.opportunity.app import create
from shared.api_keys import announce_generated_key
from shared.worker import run_worker

service = create()
announce_generated_key("opportunity", service.config.api_keys)
run_worker(service.runtime)
