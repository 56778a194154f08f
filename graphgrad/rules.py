"""The local chain rule of a node class, read from the math its docstring states.

Every node class opens its docstring with its forward formula and the gradient of
each input, separated by a semicolon (``Mul``)::

    z = x · y;   ∂L/∂x = ∂L/∂z · y,  ∂L/∂y = ∂L/∂z · x   (the DLFS MulLayer).

That sentence is the one place the rule is written: ``Node.rule()`` parses it into a
``Rule`` (output symbol ``z``, input symbols ``x, y``, one expression each), so a
viewer can show the chain-rule step of a node with its real numbers. A docstring
that states the gradient in words (``Maximum``) gives a ``Rule`` with no formulas
and its sentence as ``prose``.
"""
import re
from dataclasses import dataclass

_GRADIENT = re.compile(r"^∂L/∂(\S+) = (.+)$")
_SPLIT = re.compile(r",\s+(?=∂L/∂\S+ = )")  # between "∂L/∂x = …,  ∂L/∂y = …"
_SYMBOL = re.compile(r"\w*")  # the output: y of "y[n, c, i, j] = …"
_ASIDE = re.compile(r"\s{2,}\([^()]*\)\.?\s*$")  # "   (the DLFS MulLayer)."


@dataclass(frozen=True)
class Rule:
    """``forward`` (``z = x · y``), ``output`` (``z``), and for each input, in order,
    its symbol and the expression of its gradient (``("x", "∂L/∂z · y")``)."""

    forward: str
    output: str
    gradients: tuple  # ((symbol, expression), ...)
    prose: str = ""

    @property
    def seed(self):
        """The symbol of the incoming gradient: ``∂L/∂z``."""
        return f"∂L/∂{self.output}"


def parse(docstring):
    """The ``Rule`` stated by the first paragraph of ``docstring``."""
    first = (docstring or "").strip().split("\n\n")[0].replace("``", "")
    forward, _, gradients = first.partition(";")
    forward = " ".join(forward.split())
    output = _SYMBOL.match(forward).group() if " = " in forward else ""
    text = " ".join(_ASIDE.sub("", gradients).split()).rstrip(".")
    parts = [_GRADIENT.match(part) for part in _SPLIT.split(text)] if text else []
    if not output or not parts or not all(parts):
        return Rule(forward, output, (), " ".join(first.split()))
    return Rule(forward, output, tuple(match.groups() for match in parts))
