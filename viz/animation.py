"""Backpropagation step by step: one drawing per step of the reverse sweep.

The frames show the real gradients of a backward already run, revealed in the order
``backward`` computes them: consumers before producers (``reverse_order``'s order).
"""
import io
from pathlib import Path

from graphgrad.serialization import atomic_writer

from .build import build
from .files import pipe
from .graph import collect, output_of

FORMATS = ("svg", "png", "gif")
GIF_FRAME_MS = 900


def animate(target, directory, format="svg"):
    """Write ``frame_000.svg``, ``frame_001.svg``, ... into ``directory``; return the paths.

    Frame 0 shows the forward values only; frame 1 adds the seed gradient on each
    output's edge; then each node the backward sweep visited (its output holds a
    gradient), in backward order, gets a frame of its own, filled in yellow, in which
    the gradients of its inputs appear as soon as they are complete (a tensor used
    twice: once both of its consumers are done). n such nodes make n + 2 frames; a
    node of a Tape that the loss does not use gets none. ``format`` is "svg", "png", or "gif": PNG frames plus
    ``backprop.gif`` (needs Pillow). ``target`` is what ``viz.draw`` takes.
    """
    if format not in FORMATS:
        raise ValueError(f"viz.animate: format {format!r} is not one of {', '.join(FORMATS)}")
    graph = collect(target)
    if all(out.grad is None for out in graph.outputs):
        raise ValueError("viz.animate shows the gradients of a backward already run: "
                         "call backward() on the output first")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    kind = "svg" if format == "svg" else "png"
    paths = []
    for frame, digraph in enumerate(frames(graph)):
        path = directory / f"frame_{frame:03d}.{kind}"
        with atomic_writer(path) as file:
            file.write(pipe(digraph, kind))
        paths.append(path)
    if format == "gif":
        write_gif(paths, directory / "backprop.gif")
    return paths


def frames(graph):
    """The Digraph of every frame. A gradient not shown yet is drawn transparent, so
    it keeps its place and the layout stays the same from frame to frame."""
    backward_order = swept(graph)
    appears = appearance(graph, backward_order)
    for frame in range(len(backward_order) + 2):
        def grad_color(tensor, frame=frame):
            if tensor.grad is None:
                return None
            return "red" if appears[tensor] <= frame else "transparent"

        current = backward_order[frame - 2] if frame >= 2 else None
        yield build(graph, grad_color, highlight=current)


def swept(graph):
    """The nodes the backward sweep visited, in its order: those whose output holds a
    gradient, consumers before producers."""
    return [node for node in graph.nodes[::-1] if output_of(node).grad is not None]


def appearance(graph, backward_order):
    """The frame in which each tensor's gradient is complete, hence shown."""
    appears = {out: 1 for out in graph.outputs}
    for frame, node in enumerate(backward_order, start=2):
        for x in node.inputs:
            appears[x] = frame  # its last consumer in backward order completes it
    return appears


def write_gif(paths, path):
    """Join PNG frames into a looping GIF (Pillow, imported only for this)."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("viz.animate(format='gif') needs Pillow: pip install pillow; "
                          "format='png' or 'svg' works without it") from error
    images = [Image.open(p) for p in paths]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=GIF_FRAME_MS, loop=0)
    with atomic_writer(path) as file:
        file.write(buffer.getvalue())
