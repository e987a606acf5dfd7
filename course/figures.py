"""Figures for the concept notebooks: one look, one shape, stored in the notebook as a PNG.

A latency tail, a curve that bends and a timeline are seen at a glance and missed in a table, so
the notebooks draw them (CONTRIBUTING.md, "Figures"). Everything here is headless — matplotlib's
Agg canvas, no pyplot and no GUI backend — and :func:`show` puts the PNG bytes in the cell's
output, so the executed notebook carries the picture and the site shows it offline.

    fig, ax = figures.axes("Wall time as tasks grow", "tasks", "wall time (s)")
    ax.plot(sizes, seconds, marker="o", label="sync")
    figures.show(fig)
"""

from __future__ import annotations

import io

from matplotlib.axes import Axes
from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 7.0, 3.6, 100


def axes(title: str, xlabel: str, ylabel: str, *, ncols: int = 1, sharey: bool = True,
         width_in: float = WIDTH_IN, height_in: float = HEIGHT_IN) -> tuple[Figure, Axes]:
    """A figure with one set of axes, titled and labelled — a figure without units reads as a guess.

    With ``ncols > 1`` the title goes on the figure, every panel gets the x label, and the panels
    share the y axis (so their heights compare at a glance) unless ``sharey=False`` — then give
    each panel its own y label. :func:`panels` reaches the other axes.
    """
    fig = Figure(figsize=(width_in * (1 if ncols == 1 else 1.15), height_in), dpi=DPI,
                 layout="constrained")
    grid = fig.subplots(1, ncols, sharey=sharey and ncols > 1, squeeze=False)[0]
    for ax in grid:
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
    grid[0].set_ylabel(ylabel)
    if ncols == 1:
        grid[0].set_title(title)
    else:
        fig.suptitle(title)
    return fig, grid[0]


def panels(fig: Figure) -> list[Axes]:
    """Every set of axes of a figure made by :func:`axes`, left to right."""
    return list(fig.axes)


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (Agg canvas: works with no display and no GUI toolkit)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def show(fig: Figure) -> None:
    """Store the figure as an ``image/png`` output of the running cell."""
    from IPython.display import Image, display

    display(Image(data=png(fig), format="png"))
