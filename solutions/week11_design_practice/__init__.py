"""Week 11 — design practice: webhook signing and delivery, a public API with keys and quotas, micro-batched inference."""
