"""Week 11's shared rig: an ASGI app served by a real uvicorn on a loopback port, in a thread.

The public API and the inference service take what they need as arguments (URLs, a model
loader), so the tests build them directly and serve them for real — HTTP over a socket, the
app's lifespan run by uvicorn — without an environment-reading entry point.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from course import services


@contextlib.contextmanager
def serving(app: object, *, startup_timeout_s: float = 20.0) -> Iterator[str]:
    """Serve ``app`` on a free loopback port until the block ends; yields its base URL."""
    port = services.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",  # type: ignore[arg-type]
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail(f"the app did not start on port {port} (its lifespan failed?): see the log above",
                        pytrace=False)
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def serving_factory() -> object:
    """``with serving_factory(app) as url:`` — the app on a real loopback port for the block."""
    return serving
