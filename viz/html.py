"""The interactive backprop viewer: one self-contained HTML page per graph.

    viz.html(price, "price.html")   # open it in a browser, from file:// too
    viz.show(price)                 # the same page inline in Jupyter

The page holds everything it uses: the drawing (SVG laid out by ``dot`` now, with
ids on every operation, tensor and edge: ``data-node``, ``data-op``, labels of class
``gg-value`` and ``gg-grad``), the data it plays (``playback.py``, one JSON object),
and the viewer's own CSS and JavaScript (``static/``, edited as such and inlined
here). It loads nothing from the network. Names and values reach the page as text:
escaped in the SVG and in the JSON, and set with ``textContent`` by the script.
"""
import html as html_text
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from graphgrad.serialization import atomic_writer

from .build import VALUE_SIZE, Drawing, gradient_color
from .files import pipe
from .fold import Fold
from .graph import Graph, collect, name_of, output_of
from .playback import playback

STATIC = Path(__file__).with_name("static")
SVG_NS = "http://www.w3.org/2000/svg"
UNFOLD_OPS = 120  # an unfolded box draws at most this many of its operations
UNFOLD_BOXES = 12  # and at most this many boxes get a drawing of their insides
VALUE_FONT_SIZE = f"{VALUE_SIZE:.2f}"  # how dot writes a compact node's value line
IFRAME_HEIGHT = 560

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


def html(target, path=None, *, grads=True, expand=True, rankdir="LR"):
    """The viewer page of ``target`` (what ``viz.draw`` takes): written to ``path``
    (returned as a Path), or returned as text when ``path`` is None. ``rankdir`` is
    the flow's direction, as in ``viz.draw``."""
    graph = collect(target)
    drawing = Drawing(graph, gradient_color(grads), expand=expand, ids=True)
    data = playback(drawing, grads)
    svg = mark(pipe(drawing.digraph(rankdir), "svg"), drawing, data)
    page = PAGE.format(
        title=html_text.escape(title(graph)), css=(STATIC / "viewer.css").read_text(),
        svg=svg, unfolds=unfolds(drawing, grads), data=script_json(data),
        js=(STATIC / "viewer.js").read_text())
    if path is None:
        return page
    path = Path(path)
    with atomic_writer(path) as file:
        file.write(page.encode("utf-8"))
    return path


def show(target, *, grads=True, expand=True, rankdir="LR"):
    """Display the viewer of ``target`` inline in Jupyter (an iframe whose ``srcdoc``
    holds the escaped page), and return the IPython HTML object."""
    from IPython.display import HTML, display

    page = html(target, grads=grads, expand=expand, rankdir=rankdir)
    frame = HTML(f'<div><iframe srcdoc="{html_text.escape(page, quote=True)}" '
                 f'style="width: 100%; height: {IFRAME_HEIGHT}px; border: 1px solid #ccc" '
                 f'title="graphgrad backprop viewer"></iframe></div>')  # a div: IPython
    # warns of a bare iframe, meaning a URL, which IPython.display.IFrame takes
    display(frame)
    return frame


def title(graph):
    """The page title: the outputs' names."""
    names = [name_of(out) for out in graph.outputs if name_of(out)]
    return f"{', '.join(names) or 'graph'} · graphgrad backprop viewer"


def mark(svg, drawing, data):
    """The SVG of ``drawing`` with the viewer's attributes: ``data-node`` and
    ``data-op`` on operations, ``data-tensor`` on what writes a tensor, classes
    ``gg-value`` / ``gg-grad`` on its value and gradient texts."""
    root = ET.fromstring(svg)
    for group in root.iter(f"{{{SVG_NS}}}g"):
        element = group.get("id", "")
        node = data["nodes"].get(element)
        if node is not None and "op" in node:
            group.set("data-node", element[4:])
            group.set("data-op", node["op"])
        if element in data["shows"]:
            group.set("data-tensor", str(data["shows"][element]))
            edge = "edge" in group.get("class", "")
            for text in group.iter(f"{{{SVG_NS}}}text"):
                if text.get("fill") == "red":
                    text.set("class", "gg-grad")
                elif edge or text.get("font-size") == VALUE_FONT_SIZE:
                    text.set("class", "gg-value")
    root.set("id", "gg-svg")
    return ET.tostring(root, encoding="unicode")


def unfolds(drawing, grads):
    """Hidden drawings of what each box holds (its first UNFOLD_OPS operations)."""
    parts = []
    for name, box in list(drawing.boxes.items())[:UNFOLD_BOXES]:
        nodes = box.nodes if isinstance(box, Fold) else [
            n for n in drawing.graph.nodes if drawing.group(n) is box]
        inner = Drawing(inside(nodes[:UNFOLD_OPS]), gradient_color(grads), fold=False)
        root = ET.fromstring(pipe(inner.digraph("LR"), "svg"))
        for element in root.iter():
            element.attrib.pop("id", None)  # dot's node1, edge1, ... are the page's too
        svg = ET.tostring(root, encoding="unicode")
        more = len(nodes) - UNFOLD_OPS
        note = f"<p>the first {UNFOLD_OPS} of its {len(nodes):,} ops</p>" if more > 0 else ""
        parts.append(f'<div class="gg-unfold" data-box="gg-{name}" hidden>{note}{svg}</div>')
    return "\n".join(parts)


def inside(nodes):
    """The Graph of ``nodes`` alone: its outputs are those no node of them uses."""
    used = {x for node in nodes for x in node.inputs}
    return Graph(list(nodes), [output_of(n) for n in nodes if output_of(n) not in used])


def script_json(data):
    """``data`` as JSON that cannot end its ``<script>`` element: ``<``, ``>`` and
    ``&`` written as \\u escapes, which JSON.parse reads back unchanged."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<header id="gg-bar">
  <button id="gg-home" title="start (Home)">|◀</button>
  <button id="gg-back" title="step back (←)">◀</button>
  <button id="gg-play" title="play / pause (space)">▶ play</button>
  <button id="gg-next" title="step forward (→)">▶</button>
  <button id="gg-end" title="end (End)">▶|</button>
  <input id="gg-slider" type="range" min="0" max="0" value="0" aria-label="step">
  <span id="gg-step"></span>
  <input id="gg-find" type="search" placeholder="find a tensor by name" aria-label="find">
  <span id="gg-found"></span>
  <button id="gg-fit" title="fit the drawing to the window">fit</button>
</header>
<p id="gg-note"></p>
<main>
  <div id="gg-view"><div id="gg-canvas">{svg}</div></div>
  <aside id="gg-panel"><p class="gg-hint">Click an operation to see its inputs, its
  output and its step of the chain rule; click a cluster's name to fold it; drag to
  pan, scroll to zoom.</p></aside>
</main>
<div id="gg-unfolded" hidden>
  <button id="gg-fold">fold back</button>
  <div id="gg-unfold-body"></div>
</div>
<div id="gg-unfolds" hidden>
{unfolds}
</div>
<script type="application/json" id="gg-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""
