"""Fault-injection scenarios for the running stack (make chaos)."""
