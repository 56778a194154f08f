"""Every Python snippet of README.md and the docs pages runs as written.

Per file, the fenced ```python blocks run in order in one namespace (a later block
may use what an earlier one defined), as a reader pasting them one after the other
into one session would, in a fresh temporary working directory (what they write
lands there). Conventions:

* a block is skipped when the line just before its fence is an HTML comment
  starting ``<!-- no-run``, which gives the reason (``<!-- no-run: needs a CUDA GPU
  -->``); the comment shows neither on GitHub nor on the site;
* a line ``--8<-- "path"`` (pymdownx.snippets: the site includes the file there)
  runs that file of the repository, with ``__name__`` not ``"__main__"``, so an
  example's ``if __name__ == "__main__":`` block (which writes into docs/) is skipped;
* functions a block defines whose names start with ``test_`` are then called, as
  pytest would call them (a hypothesis test runs its examples).

A failing block is reported with its file and line.
"""
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```",
                   re.MULTILINE | re.DOTALL)
NO_RUN = re.compile(r"<!--\s*no-run\b")
INCLUDE = re.compile(r'^--8<-- "(?P<path>[^"]+)"$', re.MULTILINE)


def blocks(page):
    """(line, code) of each block of ``page`` to run, in order."""
    text = page.read_text(encoding="utf-8")
    found = []
    for fence in FENCE.finditer(text):
        before = text[:fence.start()].rstrip().rsplit("\n", 1)[-1]
        if NO_RUN.search(before):
            continue
        code = textwrap.dedent(fence["body"])
        code = INCLUDE.sub(lambda m: (ROOT / m["path"]).read_text(encoding="utf-8"), code)
        found.append((text.count("\n", 0, fence.start()) + 2, code))
    return found


RUNNABLE = [page for page in PAGES if blocks(page)]


def test_the_pages_with_snippets_are_found():
    names = {str(page.relative_to(ROOT)) for page in RUNNABLE}
    assert {"README.md", "docs/index.md", "docs/gallery.md"} <= names


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_snippet_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for line, code in blocks(page):
        before = dict(namespace)
        exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
        for name, value in list(namespace.items()):
            if name.startswith("test_") and callable(value) and before.get(name) is not value:
                value()


def test_no_run_marks_are_explained():
    """A skipped block says why."""
    for page in PAGES:
        for mark in re.findall(r"<!--\s*no-run(.*?)-->", page.read_text(encoding="utf-8")):
            assert mark.strip(" :"), f"{page.name}: a no-run mark without a reason"
