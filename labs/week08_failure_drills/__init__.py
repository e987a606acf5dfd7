"""Week 08 — a small item service hardened against its own dependencies.

Run it against real services (``course services up`` prints their URLs)::

    DATABASE_URL=postgresql://… REDIS_URL=redis://… \\
        uvicorn labs.week08_failure_drills.app:create_app --factory

``GET /items/{id}`` reads through a Redis cache, ``POST /items`` writes to PostgreSQL, every
``/items`` call passes a Redis rate limiter, and ``GET /readyz`` says which dependency is down
(``GET /healthz``: the process is alive).
"""
