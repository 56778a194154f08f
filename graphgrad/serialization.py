"""Saving and loading parameter dictionaries (name -> numpy array).

The suffix names the format: ``.npz`` (no suffix: ``.npz`` is added), or ``.pkl`` /
``.pickle``, the "Deep Learning from Scratch" pickle (a dict of numpy arrays, as the
book's ``save_params`` writes and its pretrained weights are). Files are written
atomically; pickles are read through a restricted unpickler that can only rebuild
numpy arrays, dtypes and scalars. ``atomic_writer`` is the one all-or-nothing file
writer of graphgrad and viz.
"""

import _compat_pickle
import codecs
import contextlib
import importlib
import os
import pickle
import secrets

import numpy as np

__all__ = ["UnsafePickleError", "atomic_writer", "save_params", "save_npz", "save_pickle",
           "load_params"]

_SUFFIXES = (".npz", ".pkl", ".pickle")


class UnsafePickleError(ValueError):
    """A pickle referenced a global outside the numpy allow-list; nothing was executed."""


def _allowed_globals():
    """Map each ``(module, name)`` that numpy array pickles use to the object to return.

    Both the numpy 1 (``numpy.core``) and numpy 2 (``numpy._core``) spellings resolve to
    the installed numpy's objects, so no module is imported while unpickling.
    """
    core = "numpy._core" if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else "numpy.core"
    multiarray = importlib.import_module(f"{core}.multiarray")
    numeric = importlib.import_module(f"{core}.numeric")
    allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Protocol 2 has no bytes opcode: array data is pickled as _codecs.encode(text, "latin1").
        ("_codecs", "encode"): codecs.encode,
    }
    for prefix in ("numpy.core", "numpy._core"):
        allowed[f"{prefix}.multiarray", "_reconstruct"] = multiarray._reconstruct
        allowed[f"{prefix}.multiarray", "scalar"] = multiarray.scalar
        allowed[f"{prefix}.numeric", "_frombuffer"] = numeric._frombuffer
    return allowed


_ALLOWED_GLOBALS = _allowed_globals()


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler whose only reachable globals are those in ``_ALLOWED_GLOBALS``."""

    def __init__(self, file, path):
        super().__init__(file)
        self._path = path

    def find_class(self, module, name):
        """Return an allow-listed numpy global; refuse anything else.

        Python 2 names (``__builtin__``, ``commands``...) written by protocols 0-2 are
        first translated to their Python 3 names, as the stock unpickler does.
        """
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return _ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise UnsafePickleError(f"{self._path}: forbidden global {module}.{name} in pickle "
                                    f"(only numpy arrays, dtypes and scalars may be loaded)") from None


@contextlib.contextmanager
def atomic_writer(path):
    """Open ``path`` for writing bytes, all or nothing:

    ```python
    with atomic_writer("price.svg") as file:
        file.write(data)
    ```

    The bytes go to a new hidden file beside ``path`` (``.price.svg.<random>.tmp``),
    which is flushed, fsynced and renamed onto ``path`` when the block ends. If the
    block raises, the temporary file is removed and an existing ``path`` is left
    untouched; if the file cannot be created (a missing folder), the error names
    ``path``. The file gets the mode ``open(path, "wb")`` gives a new file: 0o666
    less the umask (0o644 under the usual umask 0o022).
    """
    directory, name = os.path.split(os.path.abspath(path))
    temp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        file = open(temp, "xb")  # "x": never write into a file that is already there
    except OSError as error:  # named as the caller named it, not as the hidden file
        raise type(error)(error.errno, error.strerror, str(path)) from None
    try:
        with file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def _params_path(path, operation):
    """The file ``save_params`` and ``load_params`` use for ``path``, as a str:

    ```text
    _params_path("w.npz", ...)   -> "w.npz"        (also .pkl, .pickle, any case)
    _params_path("weights", ...) -> "weights.npz"  (as numpy.savez names it)
    ```

    Any other suffix raises ``ValueError`` naming ``operation`` ("save_params" or
    "load_params"), the path and the supported suffixes.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if not suffix:
        return path + ".npz"
    if suffix not in _SUFFIXES:
        raise ValueError(f"{operation}: unsupported suffix {suffix!r} in {path!r}; use .npz, "
                         f".pkl or .pickle (no suffix: .npz is added)")
    return path


def save_params(path, params):
    """Save ``params`` (name -> array) in the format ``path``'s suffix names, atomically,
    and return the path written:

    ```text
    save_params("params.npz", params)  -> "params.npz"   numpy .npz
    save_params("weights", params)     -> "weights.npz"  no suffix: .npz is added
    save_params("params.pkl", params)  -> "params.pkl"   DLFS pickle (also .pickle)
    ```

    ``load_params`` reads back every name this takes, the same way ("weights" is
    "weights.npz"). Another suffix, or an object array, raises ``ValueError`` before
    anything is written.
    """
    path = _params_path(path, "save_params")
    is_npz = os.path.splitext(path)[1].lower() == ".npz"
    (save_npz if is_npz else save_pickle)(path, params)
    return path


def _arrays(path, params):
    """``params`` as numpy arrays; an object array (not loadable) raises ``ValueError``."""
    arrays = {name: np.asarray(value) for name, value in params.items()}
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise ValueError(f"{path}: parameter {name!r} is an object array, which cannot be saved")
    return arrays


def save_npz(path, params):
    """Save ``params`` (name -> array) to the ``.npz`` file at exactly ``path``, atomically
    (``atomic_writer``). Object arrays are refused with ``ValueError`` since
    ``load_params`` could not read them back.
    """
    path = os.fspath(path)
    arrays = _arrays(path, params)
    with atomic_writer(path) as file:
        np.savez(file, **arrays)


def save_pickle(path, params):
    """Save ``params`` (name -> array) to the pickle at exactly ``path``, atomically: the
    bytes of the DLFS book's ``save_params`` (``pickle.dump`` of a dict of numpy
    arrays), so the book's ``load_params`` reads it, and so does ``load_params``.
    Object arrays are refused with ``ValueError``.
    """
    path = os.fspath(path)
    arrays = _arrays(path, params)
    with atomic_writer(path) as file:
        pickle.dump(arrays, file)


def _as_param_dict(obj, path):
    """Check that ``obj`` is a dict of numeric arrays (lists and numbers are converted)."""
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict of arrays, got {type(obj).__name__}")
    params = {}
    for name, value in obj.items():
        try:
            array = np.asarray(value)
        except ValueError:
            array = None
        if not isinstance(name, str) or array is None or array.dtype.kind not in "biufc":
            raise ValueError(f"{path}: entry {name!r} is not a numeric array "
                             f"(got {type(value).__name__})")
        params[name] = array
    return params


def load_params(path):
    """Load a parameter dict (name -> numpy array) from a ``.npz``, ``.pkl`` or ``.pickle`` file.

    A path without a suffix is read as ``save_params`` wrote it: "weights" reads
    "weights.npz" (unlike ``np.load``, which opens exactly "weights"). Pickles go
    through a restricted unpickler: a reference to any global other than the numpy
    ones needed to rebuild arrays raises ``UnsafePickleError`` (a ``ValueError``)
    naming the file and the global, before anything is executed. An unknown suffix, a
    corrupt or truncated file, or content that is not a dict of numeric arrays raises
    ``ValueError`` naming the file; a missing file raises ``FileNotFoundError``.
    """
    path = _params_path(path, "load_params")
    suffix = os.path.splitext(path)[1].lower()
    with open(path, "rb") as file:
        try:
            if suffix == ".npz":
                with np.load(file, allow_pickle=False) as npz:
                    obj = dict(npz)
            else:
                obj = _NumpyOnlyUnpickler(file, path).load()
        except UnsafePickleError:
            raise
        except Exception as error:
            raise ValueError(f"{path}: corrupt or unreadable {suffix} file "
                             f"({type(error).__name__}: {error})") from error
    return _as_param_dict(obj, path)
