"""Week 12 — Cloud basics: object storage, secrets, managed Postgres settings, a deployment."""
