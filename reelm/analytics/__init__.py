"""Creator analytics: watch events rolled up per creator, video, hour and dimension; only aggregates of at
least ten viewers cross to the creator's realm (see docs/architecture.md, "Creator analytics")."""
