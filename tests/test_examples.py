"""The scripts in examples/ regenerate the drawings in docs/: run on copies, into a
scratch docs/ folder, they write every picture docs/ holds, with the same labels."""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PICTURES = ("*.svg", "*.png", "*.gif")
MAGIC = {".svg": b"<?xml", ".png": b"\x89PNG", ".gif": b"GIF8"}

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")


def pictures(docs):
    return sorted(path.name for pattern in PICTURES for path in docs.glob(pattern))


def texts(svg_path):
    """The text of every label of a drawing, as a sorted list."""
    return sorted(t.text or "" for t in ET.parse(svg_path).iter("{http://www.w3.org/2000/svg}text"))


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """A scratch docs/ folder, filled by running each example next to it."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(ROOT / "examples", root / "examples")
    (root / "docs").mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    for example in sorted((root / "examples").glob("*.py")):
        subprocess.run([sys.executable, str(example)], env=env, check=True,
                       capture_output=True, timeout=120)
    return root / "docs"


def test_examples_write_every_picture_in_docs(regenerated):
    assert pictures(regenerated) == pictures(ROOT / "docs")
    for name in pictures(regenerated):
        assert (regenerated / name).read_bytes().startswith(MAGIC[Path(name).suffix]), name


def test_the_drawings_in_docs_are_up_to_date(regenerated):
    for svg in sorted(regenerated.glob("*.svg")):
        assert texts(svg) == texts(ROOT / "docs" / svg.name), svg.name
