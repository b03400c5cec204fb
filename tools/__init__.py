"""Developer tooling: the local stack (broker, Redis, services) and the demo traffic generator."""
