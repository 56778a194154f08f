"""docs/onnx.md runs: its Python blocks, in order, print what the page shows after
them (numbers to 1% relative, or both below 1e-12: the accuracy of a TwoLayerNet
exported and run in ONNX Runtime on the shipped MNIST images, and graphgrad's)."""
import contextlib
import io
import re
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime", reason="the onnx extra installs onnxruntime")

PAGE = Path(__file__).resolve().parent.parent / "docs" / "onnx.md"
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.S)
NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")


def examples():
    """(code, printed text or None) for each Python block of the page."""
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    pairs = []
    for i, (kind, body) in enumerate(blocks):
        if kind == "python":
            follows = blocks[i + 1] if i + 1 < len(blocks) else ("", "")
            pairs.append((body, follows[1] if follows[0] == "text" else None))
    return pairs


def same_up_to_numbers(actual, documented):
    words = NUMBER.sub("#", actual), NUMBER.sub("#", documented)
    numbers = [(float(a), float(d)) for a, d in zip(NUMBER.findall(actual),
                                                    NUMBER.findall(documented))]
    return words[0] == words[1] and all(
        abs(a - d) <= 0.01 * abs(d) or max(abs(a), abs(d)) < 1e-12 for a, d in numbers)


def test_the_page_runs_and_prints_what_it_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace, outputs = {}, []
    for code, documented in examples():
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(PAGE), "exec"), namespace)
        outputs.append(printed.getvalue())
        if documented is not None:
            assert same_up_to_numbers(printed.getvalue(), documented), (
                f"{PAGE.name} shows\n{documented}but the code printed\n{printed.getvalue()}")
    onnxruntime, graphgrad = NUMBER.findall(outputs[0])
    assert onnxruntime == graphgrad and float(onnxruntime) > 0.9
    assert (tmp_path / "two_layer_net_onnx.svg").read_text().startswith("<?xml")
