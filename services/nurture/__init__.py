"""nurture: consumes leads.captured/assigned/scored/converted, engagement.captured, reps.roster, opportunities.changed,
nurture.due and subjects.erasure_requested; produces email.outbound, tasks.created/overdue, nurture.enrolments,
nurture.due, engagement.inbound and subjects.erased; owns nurture-leads, Redis timers, the suppression list and the
Redis views of its table (enrolments per lead, contacts and live enrolments per company domain)."""
