import builtins
import os
import pickle
import re
import stat
import subprocess
import warnings

import numpy as np
import pytest

from graphgrad.serialization import (
    UnsafePickleError, atomic_writer, load_params, save_npz, save_params)


def sample_params():
    rng = np.random.default_rng(0)
    return {
        "W1": rng.normal(size=(4, 3)).astype(np.float32),
        "b1": np.zeros(3, dtype=np.float64),
        "steps": np.arange(5, dtype=np.int64),
    }


def assert_params_equal(loaded, expected):
    assert loaded.keys() == expected.keys()
    for name, array in expected.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)


def test_npz_round_trip(tmp_path):
    path = tmp_path / "params.npz"
    save_npz(path, sample_params())
    assert_params_equal(load_params(path), sample_params())
    assert os.listdir(tmp_path) == ["params.npz"]


def test_save_npz_keeps_a_path_without_suffix_exactly(tmp_path):
    # save_npz writes exactly the given path; load_params, like save_params, reads
    # "weights" as "weights.npz", so such a file is only readable with np.load.
    path = tmp_path / "weights"
    save_npz(path, sample_params())
    assert os.listdir(tmp_path) == ["weights"]
    with np.load(path) as npz:
        assert_params_equal(dict(npz), sample_params())
    with pytest.raises(FileNotFoundError, match=r"weights\.npz"):
        load_params(path)


NPZ_MAGIC, PICKLE_MAGIC = b"PK\x03\x04", b"\x80"


@pytest.mark.parametrize("name, written, magic", [
    ("params.npz", "params.npz", NPZ_MAGIC),
    ("weights", "weights.npz", NPZ_MAGIC),  # as numpy.savez does
    ("params.pkl", "params.pkl", PICKLE_MAGIC),
    ("params.pickle", "params.pickle", PICKLE_MAGIC),
    ("PARAMS.PKL", "PARAMS.PKL", PICKLE_MAGIC),
])
def test_save_params_writes_the_format_of_the_suffix(tmp_path, name, written, magic):
    path = save_params(tmp_path / name, sample_params())
    assert path == str(tmp_path / written)
    assert os.listdir(tmp_path) == [written]
    assert (tmp_path / written).read_bytes().startswith(magic)
    assert_params_equal(load_params(tmp_path / name), sample_params())
    assert_params_equal(load_params(path), sample_params())


def test_saved_pickle_is_what_the_dlfs_book_writes(tmp_path):
    # DLFS: with open(file_name, "wb") as f: pickle.dump(params, f)
    path = save_params(tmp_path / "params.pkl", sample_params())
    with open(path, "rb") as file:
        assert file.read() == pickle.dumps(sample_params())
    with open(path, "rb") as file:  # and the book's load_params reads it back
        assert_params_equal(pickle.load(file), sample_params())


@pytest.mark.parametrize("name", ["params.txt", "params.npy", "weights.v2", "params.pkl.gz"])
def test_save_params_refuses_other_suffixes_before_writing(tmp_path, name):
    path = tmp_path / name
    words = r": unsupported suffix .* in .*" + re.escape(name) + r".*\.npz, \.pkl or \.pickle"
    with pytest.raises(ValueError, match="save_params" + words):
        save_params(path, sample_params())
    assert os.listdir(tmp_path) == []
    path.write_bytes(pickle.dumps(sample_params()))
    with pytest.raises(ValueError, match="load_params" + words):
        load_params(path)


@pytest.mark.parametrize("name", ["params.pkl", "weights"])
def test_save_params_refuses_object_arrays_before_writing(tmp_path, name):
    with pytest.raises(ValueError, match="'bad'.*object array"):
        save_params(tmp_path / name, {"bad": np.array([1, "x"], dtype=object)})
    assert os.listdir(tmp_path) == []


def test_save_npz_replaces_existing_file(tmp_path):
    path = tmp_path / "params.npz"
    save_npz(path, {"old": np.ones(2)})
    save_npz(path, sample_params())
    assert_params_equal(load_params(path), sample_params())


def test_failed_save_leaves_no_file_and_keeps_existing_target(tmp_path, monkeypatch):
    def half_written_savez(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    target = tmp_path / "params.npz"
    target.write_bytes(b"previous contents")
    monkeypatch.setattr(np, "savez", half_written_savez)
    for path in (target, tmp_path / "new.npz"):
        with pytest.raises(OSError, match="disk full"):
            save_npz(path, sample_params())
    assert os.listdir(tmp_path) == ["params.npz"]
    assert target.read_bytes() == b"previous contents"


def test_atomic_writer_writes_all_or_nothing(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"):
        with atomic_writer(target) as file:
            file.write(b"half")
            raise OSError("disk full")
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):  # the rename fails
        with atomic_writer(tmp_path / "folder") as file:
            file.write(b"data")
    assert sorted(os.listdir(tmp_path)) == ["folder", "out.bin"]
    assert target.read_bytes() == b"old"
    with atomic_writer(target) as file:
        file.write(b"new")
    assert target.read_bytes() == b"new"


def test_a_file_that_cannot_be_created_is_named_as_the_caller_named_it(tmp_path):
    """Not the hidden temporary file beside it: the path the caller gave."""
    target = tmp_path / "missing" / "out.bin"
    with pytest.raises(FileNotFoundError,
                       match=r"No such file or directory: '.*missing/out\.bin'") as error:
        with atomic_writer(target) as file:
            file.write(b"data")
    assert error.value.filename == str(target) and ".tmp" not in str(error.value)
    assert os.listdir(tmp_path) == []


def test_saved_file_gets_the_mode_open_gives(tmp_path, new_file_mode):
    (tmp_path / "plain").write_bytes(b"")
    save_npz(tmp_path / "params.npz", sample_params())
    save_params(tmp_path / "params.pkl", sample_params())
    for name in ("plain", "params.npz", "params.pkl"):
        assert oct(stat.S_IMODE((tmp_path / name).stat().st_mode)) == oct(new_file_mode)


def test_save_npz_refuses_object_arrays(tmp_path):
    with pytest.raises(ValueError, match="'bad'.*object array"):
        save_npz(tmp_path / "p.npz", {"bad": np.array([1, "x"], dtype=object)})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("suffix", [".pkl", ".pickle"])
def test_pickle_of_array_dict_loads(tmp_path, protocol, suffix):
    path = tmp_path / f"params{suffix}"
    extra = {"scalar": np.float32(1.5), "number": 3, "layers": [np.ones(2), np.zeros(2)]}
    path.write_bytes(pickle.dumps({**sample_params(), **extra}, protocol=protocol))
    loaded = load_params(path)
    assert_params_equal({k: loaded[k] for k in sample_params()}, sample_params())
    assert loaded["scalar"].dtype == np.float32 and loaded["scalar"] == 1.5
    assert loaded["number"] == 3
    np.testing.assert_array_equal(loaded["layers"], [[1, 1], [0, 0]])


def test_numpy1_style_pickle_loads_without_warnings(tmp_path):
    data = pickle.dumps(sample_params(), protocol=2)
    data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy._core" not in data
    path = tmp_path / "sample_weight.pkl"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_params_equal(load_params(path), sample_params())


class Exploit:
    """Pickles as a call to ``func(*args)``."""

    def __init__(self, func, *args):
        self.reduce = (func, args)

    def __reduce__(self):
        return self.reduce


def exploits(pwned):
    return {
        "os.system": Exploit(os.system, f"touch {pwned}"),
        "builtins.eval": Exploit(builtins.eval, f"open({str(pwned)!r}, 'w').close()"),
        "subprocess.Popen": Exploit(subprocess.Popen, ["touch", str(pwned)]),
        "builtins.exec": Exploit(builtins.exec, f"open({str(pwned)!r}, 'w').close()"),
    }


@pytest.mark.parametrize("protocol", [0, 2, 5])
@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "subprocess.Popen", "builtins.exec"])
def test_malicious_pickle_is_refused_without_running(tmp_path, kind, protocol):
    pwned = tmp_path / "pwned"
    payload = exploits(pwned)[kind]
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"W1": np.ones(2), "x": payload}, protocol=protocol))
    func = payload.reduce[0]
    forbidden = f"{func.__module__}.{func.__qualname__}"  # os.system pickles as posix.system
    with pytest.raises(UnsafePickleError, match=re.escape(str(path)) + ".*forbidden global "
                                                + re.escape(forbidden)):
        load_params(path)
    assert not pwned.exists()


def test_unsafe_pickle_is_refused_as_any_bad_file_is(tmp_path):
    """A caller's one ``except ValueError`` around load_params (as for a corrupt file)
    also catches the refusal of a malicious pickle."""
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"W1": exploits(tmp_path / "pwned")["os.system"]}))
    with pytest.raises(ValueError, match="forbidden global"):
        load_params(path)


def test_other_numpy_globals_are_refused(tmp_path):
    path = tmp_path / "np.pkl"
    path.write_bytes(b"\x80\x02cnumpy\nload\nq\x00X\x03\x00\x00\x00abcq\x01\x85q\x02Rq\x03.")
    with pytest.raises(UnsafePickleError, match=r"numpy\.load"):
        load_params(path)


@pytest.mark.parametrize("content, words", [
    ([np.ones(2)], "expected a dict of arrays, got list"),
    ({"W1": np.ones(2), "name": "conv"}, "entry 'name' is not a numeric array"),
    ({"W1": [np.ones(2), np.ones(3)]}, "entry 'W1' is not a numeric array"),
    ({1: np.ones(2)}, "entry 1 is not a numeric array"),
])
def test_pickle_content_must_be_dict_of_numeric_arrays(tmp_path, content, words):
    path = tmp_path / "content.pkl"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(ValueError, match=r"content\.pkl.*" + re.escape(words)):
        load_params(path)


@pytest.mark.parametrize("name", ["params.pkl", "params.npz"])
def test_truncated_file_raises_value_error(tmp_path, name):
    full = tmp_path / f"full-{name}"
    if name.endswith(".npz"):
        save_npz(full, sample_params())
    else:
        full.write_bytes(pickle.dumps(sample_params()))
    path = tmp_path / name
    path.write_bytes(full.read_bytes()[:-40])
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*corrupt"):
        load_params(path)


def test_garbage_npz_raises_value_error(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"not a zip archive at all")
    with pytest.raises(ValueError, match=r"garbage\.npz.*corrupt"):
        load_params(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_params(tmp_path / "absent.npz")


# -- a model's load_params --------------------------------------------------------------

def model_file(tmp_path, **changed):
    """A TwoLayerNet(4, 3, 2) and the .npz of its params with ``changed`` entries."""
    from graphgrad.models import TwoLayerNet
    net = TwoLayerNet(4, 3, 2)
    params = {key: value.copy() for key, value in net.params.items()}
    params.update(changed)
    return net, save_params(tmp_path / "w.npz", params)


@pytest.mark.parametrize("value", [np.ones((4, 3)) + 1j, np.full((4, 3), 1 + 0j)],
                         ids=["complex", "complex, zero imaginary part"])
def test_model_load_params_refuses_values_its_dtype_cannot_hold(tmp_path, value):
    # copied into float64 params, 1 + 1j became 1 with only a ComplexWarning
    net, path = model_file(tmp_path, W1=value)
    before = {key: param.copy() for key, param in net.params.items()}
    with pytest.raises(ValueError, match=r"w\.npz: parameter 'W1' is complex128, which the "
                                         r"model's float64 cannot hold"):
        net.load_params(path)
    for key, param in before.items():
        np.testing.assert_array_equal(net.params[key], param)  # nothing changed


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, np.bool_])
def test_model_load_params_takes_narrower_real_values_into_its_dtype(tmp_path, dtype):
    value = (np.arange(12).reshape(4, 3) % 2).astype(dtype)
    net, path = model_file(tmp_path, W1=value)
    net.load_params(path)
    assert net.params["W1"].dtype == np.float64
    np.testing.assert_array_equal(net.params["W1"], value.astype(np.float64))
