"""The HTTP routes of every domain: JSON API and pages, thin over the domain services (reelm/<domain>/).

A route validates input, resolves the viewer, opens the request's transaction and calls a service; the
rules live in the services, which know nothing of HTTP (docs/architecture.md, "Layers").
"""
