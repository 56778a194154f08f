"""Write drawings out: SVG, PNG and PDF through graphviz's ``dot``; DOT source without it."""
from pathlib import Path

import graphviz

from graphgrad.serialization import atomic_writer

from .build import draw
from .graph import collect

FORMATS = ("svg", "png", "pdf", "dot")
JUPYTER_MAX_NODES = 500  # larger graphs show as text in Jupyter: dot would take long


class DotNotFoundError(RuntimeError):
    """Rendering needs the ``dot`` program of the OS package graphviz."""


def render(target, path, format=None):
    """Write the drawing of ``target`` to ``path`` and return the path.

    ``target`` is what ``viz.draw`` takes (drawn with its defaults) or a Digraph it
    returned. ``format`` ("svg", "png", "pdf" or "dot") defaults to the suffix of
    ``path``; "dot" writes the DOT source and needs no ``dot`` binary. The file is
    written whole or not at all: a failure leaves no partial file behind.
    """
    path = Path(path)
    format = (format or path.suffix.lstrip(".")).lower()
    if format not in FORMATS:
        raise ValueError(
            f"viz.render: cannot write {str(path)!r} as {format!r}: give a path "
            f"ending in .svg, .png, .pdf or .dot, or format= one of {', '.join(FORMATS)}")
    digraph = target if isinstance(target, graphviz.Digraph) else draw(target)
    data = digraph.source.encode() if format == "dot" else pipe(digraph, format)
    with atomic_writer(path) as file:
        file.write(data)
    return path


def to_svg(target):
    """The drawing of ``target`` (as for ``render``) as SVG text."""
    digraph = target if isinstance(target, graphviz.Digraph) else draw(target)
    return pipe(digraph, "svg").decode()


def repr_svg(tensor):
    """What Jupyter shows for a Tensor: the SVG of its graph.

    None (Jupyter then shows the text repr) for a leaf tensor, for a graph of more
    than ``JUPYTER_MAX_NODES`` nodes, or when the ``dot`` program is missing.
    """
    nodes = collect(tensor).nodes
    if not nodes or len(nodes) > JUPYTER_MAX_NODES:
        return None
    try:
        return to_svg(tensor)
    except DotNotFoundError:
        return None


def pipe(digraph, format):
    """``digraph`` laid out by ``dot`` as bytes of ``format``."""
    try:
        return digraph.pipe(format=format)
    except graphviz.ExecutableNotFound as error:
        raise DotNotFoundError(
            f"viz: drawing {format.upper()} needs the `dot` program of Graphviz, which "
            f"is not installed or not on PATH; install it with `apt-get install "
            f"graphviz` (macOS: `brew install graphviz`). Without it, "
            f"viz.draw(...).source and .dot files still work.") from error
