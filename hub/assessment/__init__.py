"""Assessment (考核): projections of committed case events into per-case facts and
per-department holdings, the indicators computed from them, the weighted 下考上 scores,
rankings and the daily / weekly / monthly reports (docs/assessment.md)."""
