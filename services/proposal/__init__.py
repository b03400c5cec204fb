"""proposal: consumes proposals.requested/commands/due, approvals.decided, reps.roster, opportunities.changed, erasures;
produces proposals.generated/expired/accepted/withdrawn/rejected/due, approvals.requested, close_won commands, erasures;
owns the proposals table (per opportunity_id), the Redis read model, rep directory and erasure index, documents."""
