"""The documentation site builds with `mkdocs build --strict`: a broken link, a missing
page or image, or an API reference that names nothing fails the build, hence the test.

The notebooks are converted without being executed here (GRAPHGRAD_DOCS_EXECUTE=false);
tests/test_notebooks.py executes them. `make docs` builds the site with their outputs.
"""
import ast
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the test extra installs mkdocs (also: make docs)")
pytest.importorskip("mkdocs_jupyter", reason="the test extra installs mkdocs-jupyter")
pytest.importorskip("mkdocstrings", reason="the test extra installs mkdocstrings[python]")

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("site")
    env = dict(os.environ, GRAPHGRAD_DOCS_EXECUTE="false", NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(site_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-6000:]}"
    return site_dir


def page(site, path):
    return (site / path / "index.html").read_text(encoding="utf-8")


def test_every_notebook_is_a_page(site):
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        html = page(site, f"notebooks/{notebook.stem}")
        assert "import graphgrad" in html or "from graphgrad" in html, notebook.name


def test_gallery_shows_every_example_with_its_source(site):
    text = page(site, "gallery")
    words = html.unescape(re.sub(r"<[^>]+>", "", text))
    for example in sorted((ROOT / "examples").glob("*.py")):
        name = example.stem
        assert f"{name}.svg" in text, f"no drawing of examples/{name}.py in the gallery"
        summary = ast.get_docstring(ast.parse(example.read_text(encoding="utf-8"))).splitlines()[0]
        assert summary in words, f"source of examples/{name}.py not included in the gallery"


def test_api_reference_documents_the_public_api(site):
    core = page(site, "api/graphgrad")
    for name in ("Tensor", "backward", "sigmoid", "softmax_with_loss", "no_grad", "Tape",
                 "scope", "Node"):
        assert name in core, name
    assert "TwoLayerNet" in page(site, "api/nn") and "Adam" in page(site, "api/nn")
    assert "gradcheck" in page(site, "api/testing")
    assert "load_mnist" in page(site, "api/datasets")
    assert "animate" in page(site, "api/viz")


def test_onnx_page_shows_the_exported_model_and_its_reference(site):
    text = page(site, "onnx")
    assert "onnxruntime accuracy" in text and "grad_W1" in text
    assert "graphgrad.onnx.export.export" in text and "UnsupportedOperationError" in text


def code_blocks(text):
    """The text of every <pre> block of a page: its code as the reader sees it."""
    return [html.unescape(re.sub(r"<[^>]+>", "", block))
            for block in re.findall(r"<pre\b[^>]*>(.*?)</pre>", text, re.S)]


def test_docstring_examples_render_as_code(site):
    # Docstring examples are fenced (```python, ```pycon, ```text). Indented code is no
    # code block once the docstring is dedented (the package example ran on as one
    # paragraph), `>>>` outside an Examples: section is a Markdown blockquote, and a
    # reST `::` is printed as it stands.
    core = code_blocks(page(site, "api/graphgrad"))
    assert any('apple = gg.tensor(100.0, name="apple")' in block
               and "price.backward()" in block for block in core), "the package example"
    assert any("m = Mul(); m.forward(100, 2)" in block
               and "m.backward(1)" in block for block in core), "the node example"
    assert any('with scope("sigmoid"):' in block for block in core)
    assert any("layer = Affine(W, b)" in block for block in code_blocks(page(site, "api/nn")))
    assert any(">>> arrays((2, 2), separated=True).example()" in block
               for block in code_blocks(page(site, "api/testing")))
    for api in sorted((ROOT / "docs" / "api").glob("*.md")):
        text = page(site, f"api/{api.stem}")
        assert "<blockquote>" not in text, f"a >>> example outside a code block: api/{api.stem}"
        assert not re.search(r"::\s*</p>", text), f"a reST '::' before a code block: api/{api.stem}"


def test_node_reference_documents_every_node_once(site):
    # docs/api/nodes.md names the submodules one by one (the package's re-exports would
    # repeat every class), so a node in a new submodule needs a line there
    import graphgrad.nodes

    text = page(site, "api/nodes")
    for name in graphgrad.nodes.__all__:
        anchors = re.findall(rf'id="graphgrad\.nodes\.(?:\w+\.)?{name}"', text)
        assert len(anchors) == 1, f"{name}: {anchors or 'not documented'}"
