"""A small asyncio load balancer: round robin or least connections, health-checked, retrying safely.

``python -m labs.week09_scaling.balancer --port 8080 --strategy least_connections URL URL URL``

What it does, in the order a request meets it:

1. **pick** a healthy backend — round robin (take turns) or least connections (the one with the
   fewest requests in flight: slow requests pile up on an instance, so avoid it);
2. **forward** the request (method, path, query, headers, body) and stream the answer back;
3. if the backend could not be reached, or died while the request was in flight, **eject** it
   and — when that is safe — **retry** on another backend: a refused connection never reached
   the backend, so any request may go again; a request that was sent and then lost may have
   executed, so only an idempotent method (GET, HEAD, PUT, DELETE, OPTIONS) is sent again;
4. in the background, **health-check** every backend each ``health_interval_s``: a failed check
   ejects it, a passing check re-admits it.

``GET /_lb/backends`` shows each backend's state (for tests, dashboards and you).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

STRATEGIES = ("round_robin", "least_connections")
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailers", "transfer-encoding", "upgrade", "host", "content-length"})
PROBLEM_JSON = "application/problem+json"


@dataclass
class Backend:
    url: str
    healthy: bool = True
    in_flight: int = 0


class NoHealthyBackend(Exception):
    """Every backend is ejected (or already tried for this request)."""


class Pool:
    """The backends and the choice between them — no I/O, so it is easy to test and reason about."""

    def __init__(self, urls: list[str], *, strategy: str = "round_robin") -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
        self.backends = [Backend(url.rstrip("/")) for url in urls]
        self.strategy = strategy
        self._turn = 0

    def pick(self, exclude: Collection[str] = ()) -> Backend:
        """The next healthy backend not in ``exclude``, by the pool's strategy."""
        count = len(self.backends)
        # Round robin order, starting after the last pick: also the tie-break for least connections.
        order = [self.backends[(self._turn + i) % count] for i in range(count)]
        candidates = [b for b in order if b.healthy and b.url not in exclude]
        if not candidates:
            raise NoHealthyBackend("no healthy backend left to try")
        chosen = candidates[0]
        if self.strategy == "least_connections":
            chosen = min(candidates, key=lambda b: b.in_flight)  # min keeps the first of equals
        self._turn = (self.backends.index(chosen) + 1) % count
        return chosen

    def mark(self, url: str, *, healthy: bool) -> None:
        for backend in self.backends:
            if backend.url == url:
                backend.healthy = healthy


async def check_health(pool: Pool, client: httpx.AsyncClient, *, path: str = "/healthz",
                       timeout_s: float = 0.5) -> None:
    """One round of active checks, all backends at once — ejected ones too, so they can come back."""

    async def check(backend: Backend) -> None:
        try:
            response = await client.get(backend.url + path, timeout=timeout_s)
            healthy = response.status_code == 200
        except httpx.HTTPError:
            healthy = False
        pool.mark(backend.url, healthy=healthy)

    await asyncio.gather(*(check(b) for b in pool.backends))


def problem(status: int, title: str, detail: str) -> JSONResponse:
    headers = {"Retry-After": "1"} if status == 503 else {}
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def forward(pool: Pool, client: httpx.AsyncClient, request: Request, *,
                  upstream_timeout_s: float) -> Response:
    """Send ``request`` to a healthy backend; on failure eject it and retry where that is safe."""
    body = await request.body()
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    tried: set[str] = set()
    while True:
        try:
            backend = pool.pick(exclude=tried)
        except NoHealthyBackend:
            return problem(503, "No healthy backend", f"tried {len(tried)} backends; none could answer")
        tried.add(backend.url)
        backend.in_flight += 1
        try:
            upstream = await client.request(request.method, backend.url + target, headers=headers,
                                            content=body, timeout=upstream_timeout_s)
        except httpx.ConnectError:
            pool.mark(backend.url, healthy=False)  # never reached it: safe to send anywhere else
            continue
        except httpx.TransportError:
            pool.mark(backend.url, healthy=False)  # sent, then lost: it may have executed
            if request.method in IDEMPOTENT:
                continue
            return problem(502, "Backend failed", f"{backend.url} failed during a {request.method}; it may "
                           "or may not have executed, so it was not retried")
        finally:
            backend.in_flight -= 1
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        out["X-Upstream"] = backend.url
        return Response(upstream.content, status_code=upstream.status_code, headers=out)


def create_app(urls: list[str], *, strategy: str = "round_robin", health_interval_s: float = 1.0,
               health_timeout_s: float = 0.5, upstream_timeout_s: float = 30.0) -> Starlette:
    """The balancer as an ASGI app: a proxy route, a status route and a health-check task."""
    pool = Pool(urls, strategy=strategy)
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))

    async def health_loop() -> None:
        while True:
            await check_health(pool, client, timeout_s=health_timeout_s)
            await asyncio.sleep(health_interval_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        checker = asyncio.create_task(health_loop())
        try:
            yield
        finally:
            checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checker
            await client.aclose()

    async def backends(request: Request) -> JSONResponse:
        return JSONResponse([{"url": b.url, "healthy": b.healthy, "in_flight": b.in_flight}
                             for b in pool.backends])

    async def proxy(request: Request) -> Response:
        return await forward(pool, client, request, upstream_timeout_s=upstream_timeout_s)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(routes=[Route("/_lb/backends", backends), Route("/{path:path}", proxy, methods=methods)],
                    lifespan=lifespan)
    app.state.pool = pool
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m labs.week09_scaling.balancer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("backends", nargs="+", help="backend base URLs, e.g. http://127.0.0.1:9001")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--strategy", choices=STRATEGIES, default="round_robin")
    parser.add_argument("--health-interval-s", type=float, default=1.0)
    parser.add_argument("--health-timeout-s", type=float, default=0.5)
    args = parser.parse_args(argv)
    app = create_app(args.backends, strategy=args.strategy, health_interval_s=args.health_interval_s,
                     health_timeout_s=args.health_timeout_s)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
