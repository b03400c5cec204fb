"""python -m services.opportunity: run the opportunity worker and HTTP API."""

from services.opportunity.app import create
from shared.worker import run_worker

opportunity = create()
if opportunity.config.generated_key:
    print(
        f"opportunity: SALESFLOW_API_KEYS is unset; generated API key for this run: {opportunity.config.api_keys[0]}",
        flush=True,
    )
run_worker(opportunity.runtime)
