"""Execute concept notebooks top to bottom — for the proof suite, and to refresh their outputs.

    python -m course.notebooks notebooks/05-redis.ipynb            # execute, report, keep file
    python -m course.notebooks --write notebooks/05-redis.ipynb    # execute and save the outputs

The notebooks measure the learner's own machine, so the outputs saved in the repository are one
run's numbers (shown on the site as an example), never something a test compares against.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course.paths import REPO_ROOT

CELL_TIMEOUT_S = 300


def execute(path: Path, write: bool = False) -> float:
    """Run every cell in a fresh kernel (cwd = repository root); return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO_ROOT)}})
    started = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - started
    if write:
        nbformat.write(notebook, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.notebooks", description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help="save the executed outputs")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.paths:
        print(f"{path}: running …", flush=True)
        try:
            print(f"{path}: ok in {execute(path, write=args.write):.1f}s", flush=True)
        except CellExecutionError as exc:
            failed += 1
            print(f"{path}: a cell failed\n{str(exc)[-3000:]}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
