"""Where a failing gradcheck's report goes: a drawing of the failing graph, and a
hypothesis note.

The drawing is the graph ``viz`` draws, with the blamed node filled red and, on each
of its input edges, the local check's two numbers (analytic over numeric). It is
written as SVG (DOT text where Graphviz's ``dot`` is missing) into ``report_dir``, else
the directory named by the environment variable ``GRAPHGRAD_REPORT_DIR``, else one
temporary directory per process.

Inside a hypothesis test the report is also given to ``hypothesis.note``, so it prints
with the falsifying example. While hypothesis is still searching and shrinking (every
run but the final one), ``searching()`` is True: gradcheck then raises at once with
the first line only, and the blame, the drawing and the note wait for the final run.
"""
import functools
import os
import tempfile

REPORT_DIR_VARIABLE = "GRAPHGRAD_REPORT_DIR"
BLAMED = "#ff6b6b"  # the fill of the blamed node
MAX_RENDERED = 500  # nodes; a larger graph is written as DOT text (dot would take long)


def draw(verdict, report_dir=None):
    """Write the drawing of a ``blame.Verdict``; return its path."""
    import viz
    from viz.build import build
    from viz.graph import collect

    graph = collect(verdict.out)
    digraph = build(graph, lambda tensor: None, marks=_marks(verdict))
    blamed = "" if verdict.blamed is None else f"-n{verdict.blamed}"
    suffix = ".svg" if len(graph.nodes) <= MAX_RENDERED else ".dot"
    path = _new_file(_directory(report_dir), f"gradcheck{blamed}-", suffix)
    try:
        return viz.render(digraph, path)
    except viz.DotNotFoundError:
        os.remove(path)
        return viz.render(digraph, path[:-len(suffix)] + ".dot")


def _marks(verdict):
    """The blamed node, red, with analytic over numeric on its checked inputs' edges."""
    if verdict.blamed is None:
        return {}
    notes = {}
    for c in sorted(verdict.checks[verdict.blamed], key=lambda c: not c.passed):
        if isinstance(c.position, int) and c.numeric is not None:  # a failing one wins
            by = "engine" if c.second else "analytic"
            notes[c.position] = f"{by} {c.analytic:.4g}\nnumeric {c.numeric:.4g}"
    return {verdict.nodes[verdict.blamed]: (BLAMED, notes)}


def _directory(report_dir):
    directory = report_dir or os.environ.get(REPORT_DIR_VARIABLE) or _temporary()
    os.makedirs(directory, exist_ok=True)
    return directory


@functools.lru_cache(maxsize=None)
def _temporary():
    return tempfile.mkdtemp(prefix="graphgrad-gradcheck-")


def _new_file(directory, prefix, suffix):
    """The path of a new, empty file in ``directory`` (never one that exists)."""
    handle, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    os.close(handle)
    return path


def searching():
    """Whether a hypothesis test is running an example other than its final one."""
    context = _build_context()
    return context is not None and not context.is_final


def note(text):
    """``hypothesis.note(text)`` inside a hypothesis test; nothing elsewhere."""
    if _build_context() is not None:
        import hypothesis
        hypothesis.note(text)


def _build_context():
    """Hypothesis' context of the running test, or None (no test, or no hypothesis)."""
    try:
        from hypothesis.control import current_build_context, currently_in_test_context
    except ImportError:
        return None
    return current_build_context() if currently_in_test_context() else None
