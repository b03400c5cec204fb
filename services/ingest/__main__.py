"""python -m services.ingest: run the ingest worker and HTTP API."""

from services.ingest.app import create
from shared.worker import run_worker

ingest = create()
if ingest.config.generated_key:
    print(
        f"ingest: SALESFLOW_API_KEYS is unset; generated API key for this run: {ingest.config.api_keys[0]}", flush=True
    )
run_worker(ingest.runtime)
