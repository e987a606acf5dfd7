"""The domain: ingestion, signing, delivery, retry policy, SSRF guard, disabling — no FastAPI here."""
