"""course.tools: isolated command-line tools, installed once and reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from course import tools


def test_an_unknown_tool_is_a_course_error_naming_the_known_ones() -> None:
    with pytest.raises(tools.ToolUnavailable, match="checkov"):
        tools.tool("no-such-tool")


def test_an_installed_tool_is_reused_without_installing(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_HOME", str(tmp_path))
    executable = tmp_path / "tools" / "actionlint" / "bin" / "actionlint"
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    monkeypatch.setattr(tools, "_uv", lambda: pytest.fail("expected no install; uv was called"))
    assert tools.tool("actionlint") == executable


def test_without_uv_the_error_says_how_to_install_by_hand(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_HOME", str(tmp_path))
    monkeypatch.setattr(tools, "_uv", lambda: None)
    with pytest.raises(tools.ToolUnavailable, match="pipx install 'checkov"):
        tools.tool("checkov")
