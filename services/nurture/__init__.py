"""nurture: consumes leads.captured, leads.assigned, leads.scored, engagement.captured, reps.roster
and nurture.due, produces email.outbound, tasks.created, nurture.enrolments, nurture.due and
engagement.inbound (one-click unsubscribes); owns the nurture-leads table and Redis timers."""
