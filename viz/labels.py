"""How a drawing writes values, gradients and names: short, escaped, as a person would.

Every label of a drawing is an HTML-like graphviz label (``<...>``); user text goes in
only through ``escape``, so names with quotes, braces, ``<``, ``&``, backslashes or
newlines cannot break the DOT source.
"""
import html

import numpy as np

from graphgrad.backend import to_numpy

DIGITS = 4  # significant digits: 715.0000000000001 -> 715, 0.7310585786 -> 0.7311
IN_FULL = 12  # arrays with at most this many elements are written out in full


def number(x):
    """A number as a person writes it: ``715``, ``2.2``, ``0.0001235``, ``1.5e-7``."""
    x = float(x)
    if x == 0:
        return "0"  # also -0.0
    if not np.isfinite(x):
        return str(x)
    if 1e-4 <= abs(x) < 1e6:
        return np.format_float_positional(
            x, precision=DIGITS, unique=False, fractional=False, trim="-")
    mantissa, exponent = f"{x:.{DIGITS - 1}e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def value(data):
    """A tensor value in a few characters: ``715``; up to ``IN_FULL`` elements in
    full, a matrix one row per line (``[[1 2]`` over `` [3 4]]``); beyond, what the
    summary shows, said: ``4×3, min -0.52, max 1.3``, the range of the finite
    elements, and how many are NaN or infinite (``, 2 NaN, 1 inf``)."""
    a = np.asarray(to_numpy(data))  # a copy from the GPU, for a tensor on one
    if a.size <= IN_FULL:
        return _nested(a)
    parts = ["×".join(str(n) for n in a.shape)]
    finite = a[np.isfinite(a)] if a.dtype.kind in "fc" else a
    if finite.size:
        parts += [f"min {number(finite.min())}", f"max {number(finite.max())}"]
    if a.dtype.kind in "fc":
        nan = int(np.isnan(a).sum())
        inf = a.size - finite.size - nan
        parts += [f"{nan} NaN"] * bool(nan) + [f"{inf} inf"] * bool(inf)
    return ", ".join(parts)


def _nested(a, indent=""):
    """numpy's layout: ``[1 2.5 3]``; one innermost row per line, indented under
    its bracket."""
    if a.ndim == 0:
        return number(a)
    if a.ndim == 1:
        return "[" + " ".join(number(x) for x in a) + "]"
    inner = indent + " "
    return "[" + f"\n{inner}".join(_nested(row, inner) for row in a) + "]"


def escape(text):
    """``text`` made safe inside an HTML-like label; newlines become line breaks."""
    printable = "".join(
        c if c.isprintable() or c == "\n" else c.encode("unicode_escape").decode()
        for c in str(text))
    return html.escape(printable).replace("\n", "<BR/>")


def html_label(*lines):
    """An HTML-like label of already escaped lines, one under the other.

    An empty label is ``""``: dot rejects an empty HTML-like one.
    """
    text = "<BR/>".join(lines)
    return f"<{text}>" if text else ""


def edge_label(tensor, grad_color=None, name=None, note=None):
    """The forward value (``name = value`` given a name) over the gradient, in
    ``grad_color`` (no gradient line when None), over a ``note`` in red, if any."""
    return html_label(*value_lines(tensor, grad_color, name), *note_lines(note))


def value_lines(tensor, grad_color=None, name=None, size=None):
    """The escaped lines of ``edge_label``; in ``size`` points when given."""
    text = value(tensor.data) if name is None else f"{name} = {value(tensor.data)}"
    lines = [escape(text)]
    if grad_color is not None:
        lines.append(f'<FONT COLOR="{grad_color}">{escape(value(tensor.grad))}</FONT>')
    if size is None:
        return lines
    return [f'<FONT POINT-SIZE="{size}">{line}</FONT>' for line in lines]


def note_lines(note):
    """A note (plain text, may hold newlines) as red label lines; none for None."""
    return [] if note is None else [f'<FONT COLOR="red">{escape(note)}</FONT>']
