"""nurture: consumes leads.captured, leads.assigned, leads.scored, engagement.captured, reps.roster,
leads.converted, opportunities.changed and nurture.due; produces email.outbound, tasks.created,
tasks.overdue, nurture.enrolments, nurture.due and engagement.inbound; owns nurture-leads and Redis timers."""
