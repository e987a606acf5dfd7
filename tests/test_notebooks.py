"""Every concept notebook executes top to bottom against the real services, and shows its figures.

The figure rule (CONTRIBUTING.md, "Figures"): every notebook stores at least one figure — a PNG in
a code cell's output, drawn with ``course.figures.axes(title, xlabel, ylabel)`` — and the cell
right after each figure is a Markdown caption starting ``**Figure.**`` that says what to see. A
notebook with no measured series says why in its metadata (``"course": {"no_figures": "…"}``).
Those checks read the committed outputs, so they cost nothing and need no services.
"""

from __future__ import annotations

import base64
import re
import struct
from pathlib import Path

import nbformat
import pytest

from course import notebooks
from course.paths import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
CAPTION = re.compile(r"^\*\*Figure\.\*\* \S")
MIN_PIXELS = 300  # narrower than this and axis labels cannot be read on the site


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    notebooks.execute(path)  # executes in memory; the committed file is not rewritten


def _png_size(encoded: str) -> tuple[int, int]:
    data = base64.b64decode(encoded)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "an image/png output that is not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk always comes first
    return width, height


def _figures(cells: list[nbformat.NotebookNode]) -> list[tuple[int, str]]:
    """``(cell index, base64 PNG)`` of every figure stored in a code cell's outputs."""
    return [(i, output["data"]["image/png"]) for i, cell in enumerate(cells) if cell.cell_type == "code"
            for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_stores_captioned_figures(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    cells = notebook.cells
    figures = _figures(cells)
    if not figures:
        exempt = bool(notebook.metadata.get("course", {}).get("no_figures"))
        assert exempt, (
            f"{path.name} stores no figure: draw each measured distribution, curve or timeline with "
            "course.figures and re-run `python -m course.notebooks --write`, or say in the notebook's "
            'metadata why it has none: "course": {"no_figures": "…"}')
        return
    for index, encoded in figures:
        where = f"{path.name}, cell {index + 1}"
        width, height = _png_size(encoded)
        assert width >= MIN_PIXELS and height >= MIN_PIXELS // 2, \
            f"{where}: a {width}×{height} px figure is too small to read"
        assert "figures.axes(" in cells[index].source, \
            f"{where}: draw it with course.figures.axes(title, xlabel, ylabel): a title, axes with units"
        caption = cells[index + 1] if index + 1 < len(cells) else None
        assert caption is not None and caption.cell_type == "markdown" and CAPTION.match(caption.source), (
            f"{where}: the next cell must be a Markdown caption starting '**Figure.**' that says what to "
            f"see; got {caption.source[:60] if caption is not None else 'no cell at all'!r}")
