"""Week 02 — a small FastAPI service: JWT auth, middleware, a per-client rate limit, durable jobs.

Layout (one job per module, the shape full-stack-fastapi-template uses):
``settings`` configuration · ``models`` tables · ``schemas`` request/response shapes ·
``security`` passwords and tokens · ``deps`` dependencies · ``middleware`` request context ·
``ratelimit`` the public endpoint's limit · ``tasks`` the durable work · ``routes`` endpoints ·
``main`` the ASGI app · ``worker`` the queue worker process.
"""
