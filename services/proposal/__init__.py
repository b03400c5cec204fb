"""proposal: consumes proposals.requested, approvals.decided, proposals.accepted and proposals.due;
produces proposals.generated, approvals.requested, proposals.expired, proposals.accepted and proposals.due;
owns the proposals table (versions and approvals per opportunity_id), the Redis read model and the documents."""
