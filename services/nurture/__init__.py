"""nurture: consumes leads.captured/assigned/scored/converted, engagement.captured, reps.roster, opportunities.changed,
nurture.due and subjects.erasure_requested; produces email.outbound, tasks.created/overdue, nurture.enrolments,
nurture.due, engagement.inbound and subjects.erased; owns nurture-leads, Redis timers and the suppression list."""
