"""ingest: consumes leads.inbound and engagement.inbound (and HTTP POSTs), produces leads.captured
and engagement.captured with person fields sealed; owns the Redis identity map (email digest ->
lead_id), event_id dedupe keys and the per-lead PII keys (created at capture, shredded on erasure)."""
