"""The anchor: a webhook delivery service — tenants send events, it signs, delivers, retries and reports.

One package, four roles (``api``, ``relay``, ``worker``, ``scheduler``); see ``README.md`` for the
architecture. Imports inside the package are relative, so the same code runs as the course's
``anchor`` and as the standalone repository ``course anchor export`` writes.
"""
