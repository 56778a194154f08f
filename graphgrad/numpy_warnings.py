"""numpy's floating-point warnings from inside a node, said again at the user's line.

numpy warns where its ufunc ran, inside graphgrad and without a word about the
operation: ``graphgrad/nodes/linalg.py:21: RuntimeWarning: overflow encountered in
matmul``. While a node computes (``forward`` in ``Node.apply`` or in a replay,
``backward`` in the reverse sweep), such a warning is issued again, naming the node
and its operands, from the first line of the stack outside graphgrad and numpy, the
user's:

```text
train.py:12: FloatingPointWarning: overflow encountered in matmul, in MatMul (@)
on x 'W1' float64 (784, 50), float64 (100, 784)
```

``FloatingPointWarning`` is a ``RuntimeWarning`` and numpy's text comes first, so
filters written for numpy's warnings (``filterwarnings("ignore", "overflow
encountered")``, ``category=RuntimeWarning``) still apply to it.

How, at no cost to an operation that does not warn: ``ENTRY``, an entry of
``warnings.filters``, carries as its message pattern an object whose ``match(text)``
Python's warnings machinery calls for each warning that no earlier entry matched.
For numpy's floating-point texts raised while a node computes, it issues the new
warning and answers "match"; the entry's action, "ignore", drops numpy's own. It
answers "no match" to everything else and to the new warning, which so meets the
user's filters at the user's module and line.

The entry goes first into the filter list of the moment and into the process's
base list (the one the outermost ``catch_warnings`` block restores), so it is in
every block entered later. Two things put something before it or leave it out: a
filter the user adds later, and a ``catch_warnings`` block entered before graphgrad
was imported (pytest runs all tests inside one) restoring its list. Then an "error"
filter turns numpy's warning into an exception inside the node, which ``Node.apply``
and the sweep raise again naming the node (``raise_naming``); other filters
("always", as ``pytest.warns`` adds) see numpy's own warning, until a new leaf
(``gg.tensor``), a ``Tape``, a backward pass or a replay puts the entry first again
(``keep_first``: one comparison when it is first). ``Node.apply`` does not check:
that would cost ~5 % of a scalar node.
"""
import os
import re
import sys
import threading
import warnings

import numpy as np

NUMPY_TEXT = re.compile(r"(divide by zero|overflow|underflow|invalid value) encountered")
INTERNAL = tuple(os.path.dirname(os.path.abspath(package.__file__)) + os.sep
                 for package in (sys.modules[__package__], np))
_local = threading.local()  # .busy: this thread is issuing the new warning
_moving = threading.Lock()  # one thread at a time moves the entry


class FloatingPointWarning(RuntimeWarning):
    """numpy's floating-point warning from inside a node, naming the node."""


class _InNode:
    """The message pattern of ``ENTRY``: matches numpy's floating-point warnings
    raised while a node computes, after saying them again at the user's line."""

    def match(self, text):
        if getattr(_local, "busy", False) or not NUMPY_TEXT.match(text):
            return False
        where = computing_node(sys._getframe(1))
        if where is None:
            return False
        _local.busy = True
        try:
            warn_at_user_line(f"{text}, in {where}")
        finally:
            _local.busy = False
        return True


ENTRY = ("ignore", _InNode(), RuntimeWarning, None, 0)


def keep_first():
    """Put ``ENTRY`` in front of ``warnings.filters`` unless it is there."""
    _put_first(warnings.filters)


def _put_first(filters):
    with _moving:
        if filters and filters[0] is ENTRY:
            return
        if ENTRY in filters:
            filters.remove(ENTRY)
        filters.insert(0, ENTRY)
        getattr(warnings, "_filters_mutated", lambda: None)()  # forget what was shown


def install():
    """``ENTRY`` first in the current filter list and in the base list, which the
    outermost ``catch_warnings`` block restores (graphgrad may be imported inside
    one: pytest collects tests in one)."""
    keep_first()
    base = getattr(sys.modules.get("_warnings"), "filters", None)
    if isinstance(base, list) and base is not warnings.filters:
        _put_first(base)


def raise_naming(warning, where):
    """Raise ``warning``, numpy's made an exception by an "error" filter inside a
    node, again as a ``FloatingPointWarning`` naming the node (``where``)."""
    if isinstance(warning, FloatingPointWarning) or not NUMPY_TEXT.match(str(warning)):
        raise warning
    raise FloatingPointWarning(f"{warning}, in {where}") from warning


def computing_node(frame):
    """Which node ``frame`` (where numpy warned) computes for, in words: ``MatMul (@)
    on float64 (2, 3), float64 (3, 4)``, ``the backward of Exp (exp) on …``; None
    outside a node's ``forward`` and ``backward``."""
    callers = _callers()
    child = None
    while frame is not None:
        role = callers.get(frame.f_code)
        if role is not None:
            computing = child is not None and child.f_code.co_name in _COMPUTES[role]
            return _describe(role, frame.f_locals) if computing else None
        child, frame = frame, frame.f_back
    return None


# what each caller calls to compute: numpy warning anywhere else is not a node's
_COMPUTES = {"apply": ("forward",), "replay": ("forward",),
             "sweep": ("backward", "_backward_recorded")}


def _callers():
    """The code objects that run nodes' ``forward`` and ``backward``, by role."""
    from .autograd import sweep
    from .node import Node
    from .replay import CompiledStep
    return {Node.apply.__code__: "apply", CompiledStep.__call__.__code__: "replay",
            sweep.__code__: "sweep"}


def _describe(role, local):
    if role == "apply":
        return local["self"].describe(local["inputs"])
    node = local["node"]
    text = node.describe(node.inputs)
    return f"the backward of {text}" if role == "sweep" else text


def warn_at_user_line(message):
    """Issue ``FloatingPointWarning(message)`` from the innermost frame outside
    graphgrad and numpy."""
    if sys.version_info >= (3, 12):
        warnings.warn(message, FloatingPointWarning, skip_file_prefixes=INTERNAL)
        return
    frame, level = sys._getframe(1), 2  # level 2: the caller of this function
    while frame is not None and frame.f_code.co_filename.startswith(INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, FloatingPointWarning, stacklevel=level)


install()  # at import: a forward pass may warn before any backward pass
