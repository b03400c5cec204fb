"""salesflow's benchmark harness: `python -m bench` measures the lead spine against the broker's ceiling.

Starts real processes on the local (or configured) broker and Redis; never part of `make test`.
"""
