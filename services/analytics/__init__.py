"""analytics: consumes leads.*, engagement.captured, email.outbound, nurture.enrolments,
opportunities.changed, proposals.generated and reps.roster; produces only its internal lead-steps
topic; owns the leads and deals tables and the Redis read model the API and dashboard serve."""
