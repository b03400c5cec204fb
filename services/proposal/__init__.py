"""proposal: consumes proposals.requested/due/accepted, approvals.decided, opportunities.changed and erasure requests;
produces proposals.generated/expired/accepted/due, approvals.requested and subjects.erased; owns the proposals table
(per opportunity_id), the Redis read model and erasure index, and the rendered documents."""
