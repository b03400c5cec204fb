"""routing: consumes leads.qualified and reps.roster, produces leads.assigned; owns the Redis
roster copy, the per-pool round-robin cursors, rep open-load counters and account owners."""
