"""viz: draw graphgrad graphs in the style of the DLFS apple/orange figure.

```python
import viz
viz.draw(price)                      # graphviz.Digraph: values, red gradients
viz.render(price, "price.svg")       # .svg .png .pdf (needs `dot`) or .dot
viz.animate(price, "frames/")        # backprop step by step, one file per step
print(viz.text(price))               # one line per node: c = add a b
viz.html(price, "price.html")        # a page that plays forward and backward
viz.show(price)                      # the same page inline in Jupyter
```

A target is a Tensor, a list of Tensors or a ``gg.Tape``. The drawing reads the
public graph only (``creator``, ``inputs``, ``op``, ``scope``, ``.data``, ``.grad``).
"""
from .animation import animate
from .build import draw
from .files import DotNotFoundError, render, repr_svg, to_svg
from .html import html, show
from .listing import text

__all__ = ["draw", "render", "to_svg", "repr_svg", "animate", "text", "html", "show",
           "DotNotFoundError"]
