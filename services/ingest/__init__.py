"""ingest: consumes leads.inbound and engagement.inbound (and HTTP POSTs), produces leads.captured
and engagement.captured; owns the Redis identity map (email -> lead_id) and event_id dedupe keys."""
