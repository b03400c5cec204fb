"""python -m services.ingest: run the ingest worker and its HTTP API."""

from services.ingest.app import create
from shared.api_keys import announce_generated_key
from shared.worker import run_worker

service = create()
announce_generated_key("ingest", service.config.api_keys)
run_worker(service.runtime)
