"""analytics: consumes leads.*, engagement.captured, email.outbound, opportunities.changed,
proposals.generated and reps.roster; produces only its internal lead-steps topic; owns the
leads, deals and totals tables and the Redis read model the API and dashboard serve."""
