"""Week 11 — design practice: webhooks signed and delivered, a public API with keys and quotas, inference."""
