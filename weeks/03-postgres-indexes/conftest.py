"""Week 03 test helpers: the before/after latency table ends the run instead of hiding in ``-s``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

_SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture
def show_in_summary(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Keep ``text`` to print in the terminal summary, after the test results."""

    def show(text: str) -> None:
        request.config.stash.setdefault(_SUMMARY, []).append(text)

    return show


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for text in config.stash.get(_SUMMARY, []):
        terminalreporter.write_sep("-", "week 03: server-side latency before → after your indexes")
        terminalreporter.write_line(text)
