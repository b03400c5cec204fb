"""opportunity: consumes opportunities.commands and leads.converted, produces opportunities.changed,
opportunities.rejected, opportunities.alerts (and open commands for converted leads); owns the
opportunities table (deal state per opportunity_id) and its Redis read model."""
