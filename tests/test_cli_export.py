"""graphgrad export FILE.py: the `fn` and `inputs` convention, its options, its errors."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx extra installs onnx")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra installs onnxruntime")

from graphgrad.cli import main  # noqa: E402

NET = """
    import numpy as np
    import graphgrad as gg
    from graphgrad.models import TwoLayerNet

    np.random.seed(0)
    net = TwoLayerNet(4, 3, 2)
    fn = net.loss_graph
    inputs = (np.ones((5, 4)), np.array([0, 1, 1, 0, 1]))
    input_names = ["x", "t"]
    if __name__ == "__main__":
        raise SystemExit(9)
"""


def script(tmp_path, text, name="net.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_exports_fn_on_inputs_with_gradients(tmp_path, capsys):
    output = tmp_path / "net.onnx"
    assert main(["export", str(script(tmp_path, NET)), "-o", str(output), "--gradients"]) == 0
    assert str(output) in capsys.readouterr().out
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x", "t"]
    names = [o.name for o in session.get_outputs()]
    assert names == ["output", "grad_W1", "grad_b1", "grad_W2", "grad_b2"]
    loss, *_ = session.run(None, {"x": np.ones((5, 4)), "t": np.array([0, 1, 1, 0, 1])})
    assert loss == pytest.approx(np.log(2), rel=1e-3)


def test_default_output_and_opset(tmp_path, monkeypatch):
    path = script(tmp_path, "import graphgrad as gg\nfn = gg.exp\ninputs = [1.0]\n",
                  name="exp.py")
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(path), "--opset", "18"]) == 0
    assert onnx.load(tmp_path / "exp.onnx").opset_import[0].version == 18


@pytest.mark.parametrize("text, message", [
    ("x = 3\n", "defines no fn and no inputs at module level"),
    ("fn = 3\ninputs = ()\n", "`fn` is a int"),
    ("import graphgrad as gg\nfn = lambda x: x * 2\ninputs = [[1.0, 2.0]]\n",
     "needs fn to return one scalar"),
])
def test_a_bad_script_is_a_clear_error(tmp_path, capsys, text, message):
    args = ["export", str(script(tmp_path, text)), "-o", str(tmp_path / "m.onnx")]
    assert main(args + (["--gradients"] if "scalar" in message else [])) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_command_line_help_documents_the_convention():
    result = subprocess.run([sys.executable, "-m", "graphgrad.cli", "export", "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0
    assert "fn " in result.stdout and "inputs " in result.stdout and "--gradients" in result.stdout
