"""Every tutorial notebook in notebooks/ runs top to bottom without an error.

Each notebook is executed in a fresh Jupyter kernel (nbclient) with GRAPHGRAD_QUICK=1,
the notebooks' small-iteration setting, in a temporary working directory, so nothing
is written into the repository. A cell that raises fails the test and the message
shows the cell and its traceback. The notebooks draw with graphviz, so they need the
`dot` program (`make deps` installs it).
"""
import shutil
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the test extra installs nbformat")
nbclient = pytest.importorskip("nbclient", reason="the test extra installs nbclient")
pytest.importorskip("ipykernel", reason="the test extra installs ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 120

pytestmark = pytest.mark.skipif(shutil.which("dot") is None,
                                reason="the notebooks draw graphs: needs graphviz's dot")


def test_the_seven_notebooks_are_there():
    assert len(NOTEBOOKS) == 7, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHGRAD_QUICK", "1")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        f"{path.name}: the first cell should be a markdown title saying what it shows"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        f"{path.name}: commit notebooks with outputs stripped"
    start = time.perf_counter()
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell on any error
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
