"""python -m services.nurture: run the nurture worker, scheduler and HTTP API."""

from services.nurture.app import create
from shared.api_keys import announce_generated_key
from shared.worker import run_worker

nurture = create()
announce_generated_key("nurture", nurture.config.api_keys)
if nurture.config.generated_secret:
    print(
        "nurture: SALESFLOW_UNSUBSCRIBE_SECRET is unset; generated one for this run "
        "(unsubscribe links die with the process)",
        flush=True,
    )
run_worker(nurture.runtime)
