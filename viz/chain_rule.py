"""One node's step of the chain rule, written out with its real numbers.

The rule comes from the node class (``Node.rule()``, the math its docstring states);
the numbers from the graph: for the apple ``Mul`` of the DLFS shopping example,
``∂L/∂x = ∂L/∂z · y = 1.1 × 2 = 2.2``. Each result is this node's own term of the
input's gradient, computed by running the node's ``backward`` again on a copy of it
(the sweep may have freed what the node saved); a tensor used twice also gets terms
from its other consumers, so its total ``.grad`` can be larger.
"""
import copy
import re

import numpy as np

from graphgrad.backend import to_numpy

from .graph import output_of
from .labels import number, value

_PLAIN = re.compile(r"[\s·/−+()\[\]<>^²\d.]*")  # what an expression may hold besides symbols
_FUNCTIONS = re.compile(r"\b(exp|log|tanh|e)\b")


def chain_step(node, grads=True):
    """``{"forward": "z = x · y", "lines": [...], "prose": ""}``: for each input that
    takes a gradient, the line ``∂L/∂x = ∂L/∂z · y = 1.1 × 2 = 2.2`` (numbers only
    where every value in it is a scalar; the result wherever it can be computed;
    a part equal to the one before it is written once). ``grads=False``: the rule
    alone, ``∂L/∂x = ∂L/∂z · y``, as before any backward pass."""
    rule = type(node).rule()
    out = output_of(node)
    grad = out.grad if grads else None
    terms = local_gradients(node, grad)
    symbols = {rule.seed: grad, rule.output: out.data}
    symbols.update((symbol, x.data) for (symbol, _), x in zip(rule.gradients, node.inputs))
    lines = []
    for i, ((symbol, expression), x) in enumerate(zip(rule.gradients, node.inputs)):
        if not x.requires_grad:
            continue  # a constant operand: no gradient flows to it
        parts = [f"∂L/∂{symbol}", expression]
        if grad is not None:
            parts.append(substitute(expression, symbols))
        if terms is not None and i < len(terms) and terms[i] is not None:
            parts.append(value(terms[i]))
        lines.append(" = ".join(dict.fromkeys(p for p in parts if p is not None)))
    return {"forward": rule.forward, "lines": lines, "prose": rule.prose}


def local_gradients(node, dout):
    """This node's terms of its inputs' gradients for ``dout``, or None if it cannot
    run again (no gradient yet, or a forward that needs what only the sweep had)."""
    if dout is None or not hasattr(node, "inputs"):
        return None
    twin = copy.copy(node)
    try:
        twin.forward(*[x.data for x in node.inputs])
        terms = twin.backward(dout)
    except Exception:  # noqa: BLE001 -- any node class: the step is then shown without numbers
        return None
    return terms if isinstance(terms, tuple) else (terms,)


def substitute(expression, symbols):
    """``expression`` with each symbol replaced by its scalar value and · by ×, or
    None when a value is an array or the expression holds words."""
    names = sorted(symbols, key=len, reverse=True)
    pattern = re.compile("|".join(rf"(?<![\w∂/]){re.escape(s)}(?![A-Za-z_])" for s in names))
    if not _PLAIN.fullmatch(_FUNCTIONS.sub("", pattern.sub("", expression))):
        return None
    used = {match.group() for match in pattern.finditer(expression)}
    if any(symbols[s] is None or np.size(to_numpy(symbols[s])) != 1 for s in used):
        return None
    return pattern.sub(lambda m: scalar(symbols[m.group()]), expression).replace("·", "×")


def scalar(data):
    """A scalar as the chain-rule line writes it: negative ones in parentheses."""
    text = number(np.asarray(to_numpy(data)).reshape(()))
    return f"({text})" if text.startswith("-") else text
