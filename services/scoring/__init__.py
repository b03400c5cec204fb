"""scoring: consumes leads.captured and engagement.captured, produces leads.scored and
leads.qualified; owns the lead-profiles table (facts and engagement history per lead_id)."""
