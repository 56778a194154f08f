"""Readers for IDX files and the (Fashion-)MNIST datasets, with the
"Deep Learning from Scratch" ``load_mnist`` conventions.

Nothing is ever downloaded: the MNIST test set ships in ``graphgrad/data``
and Fashion-MNIST comes from the Debian package ``dataset-fashion-mnist``.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "load_mnist", "load_fashion_mnist"]

MNIST_DIR = Path(__file__).resolve().parent / "data"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

_GZIP_MAGIC = b"\x1f\x8b"
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MAX_DIMS = 4
_MAX_DATA_BYTES = 2**31
_CHUNK_BYTES = 1 << 20
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_NUM_CLASSES = 10
_IMAGE_SHAPE = (28, 28)


def _read_at_most(stream, limit):
    """Read up to ``limit`` bytes in chunks, so memory grows with the data actually present."""
    chunks = []
    while limit > 0:
        chunk = stream.read(min(limit, _CHUNK_BYTES))
        if not chunk:
            break
        chunks.append(chunk)
        limit -= len(chunk)
    return b"".join(chunks)


def _parse_idx(stream, path):
    """Parse an IDX stream: validate the header, then read exactly the data it announces."""
    header = stream.read(4)
    if len(header) < 4:
        raise ValueError(f"{path}: truncated header ({len(header)} of 4 magic bytes)")
    if header[:2] != b"\x00\x00":
        raise ValueError(f"{path}: wrong magic {header[:2].hex()}, expected 0000")
    code, ndim = header[2], header[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: wrong magic, unknown dtype code 0x{code:02x}")
    if not 1 <= ndim <= _MAX_DIMS:
        raise ValueError(f"{path}: {ndim} dimensions, expected 1 to {_MAX_DIMS}")
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"{path}: truncated header ({len(sizes)} of {4 * ndim} size bytes)")
    shape = tuple(int(n) for n in np.frombuffer(sizes, dtype=">u4"))
    dtype = np.dtype(_IDX_DTYPES[code])
    claimed = math.prod(shape) * dtype.itemsize
    if claimed > _MAX_DATA_BYTES:
        raise ValueError(f"{path}: oversize header, shape {shape} claims {claimed} bytes "
                         f"(limit {_MAX_DATA_BYTES})")
    data = _read_at_most(stream, claimed + 1)
    if len(data) < claimed:
        raise ValueError(f"{path}: truncated data, {len(data)} of {claimed} bytes for shape {shape}")
    if len(data) > claimed:
        raise ValueError(f"{path}: trailing bytes after the {claimed} data bytes for shape {shape}")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path):
    """Read an IDX file (raw, or gzip-compressed if it starts with 1f 8b) into a numpy array.

    The result has the header's shape and a native-endian dtype (e.g. uint8 images of
    shape ``(N, 28, 28)``). A missing file raises ``FileNotFoundError``; a malformed one
    (bad magic or dtype code, 0 or more than 4 dimensions, truncated header or data,
    trailing bytes, a header claiming more than 2**31 bytes, broken gzip) raises
    ``ValueError`` naming the file. At most the claimed size plus one byte is read, so a
    lying header never causes an allocation larger than the file really holds.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _parse_idx(raw, path)
        with gzip.GzipFile(fileobj=raw) as stream:
            try:
                return _parse_idx(stream, path)
            except (EOFError, OSError, zlib.error) as error:
                raise ValueError(f"{path}: corrupt gzip stream ({error})") from error


def _find(directory, name):
    """Return ``directory/name`` or ``directory/name.gz``, whichever exists, else None."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_ubyte(path):
    """``read_idx(path)``, which must hold unsigned bytes (IDX code 0x08), as MNIST's
    pixels 0..255 and labels 0..9 do; another type is a ValueError naming the file."""
    array = read_idx(path)
    if array.dtype != np.uint8:
        raise ValueError(f"{path} holds {array.dtype}, expected unsigned bytes (uint8) as "
                         f"MNIST's images and labels are")
    return array


def _read_pair(images_path, labels_path):
    """Read matching image and label files, checking their types, shapes and counts."""
    images, labels = _read_ubyte(images_path), _read_ubyte(labels_path)
    if images.shape[1:] != _IMAGE_SHAPE or labels.ndim != 1:
        raise ValueError(f"{images_path} and {labels_path}: expected (N, 28, 28) images and (N,) "
                         f"labels, got shapes {images.shape} and {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} has {len(images)} images but {labels_path} has "
                         f"{len(labels)} labels")
    if labels.size and not 0 <= labels.min() <= labels.max() < _NUM_CLASSES:
        raise ValueError(f"{labels_path}: labels outside 0..{_NUM_CLASSES - 1}")
    return images, labels


def _convert(images, labels, normalize, flatten, one_hot_label):
    """Apply the DLFS ``normalize``/``flatten``/``one_hot_label`` options to one split."""
    if normalize:
        images = images.astype(np.float32) / np.float32(255)
    n = len(images)
    images = images.reshape(n, -1) if flatten else images.reshape(n, 1, *images.shape[1:])
    if one_hot_label:
        labels = np.eye(_NUM_CLASSES, dtype=np.float32)[labels]
    return images, labels


def _load(directory, normalize, flatten, one_hot_label, split, install_hint):
    """Shared body of the MNIST-format loaders (see ``load_mnist``)."""
    directory = Path(directory)
    found = {prefix: [_find(directory, name) for name in names] for prefix, names in _FILES.items()}
    train_complete = all(found["train"])
    if not all(found["t10k"]) or (any(found["train"]) and not train_complete):
        expected = ", ".join(f"{name}[.gz]" for names in _FILES.values() for name in names)
        raise FileNotFoundError(f"dataset files missing in {directory}: expected {expected} "
                                f"(the t10k pair alone is enough); nothing is downloaded "
                                f"(no network access).{install_hint}")
    test = _read_pair(*found["t10k"])
    if train_complete:
        train = _read_pair(*found["train"])
    else:
        if not 0 < split < len(test[0]):
            raise ValueError(f"split={split} must lie strictly between 0 and {len(test[0])}")
        train = tuple(array[:split] for array in test)
        test = tuple(array[split:] for array in test)
    return tuple(_convert(*pair, normalize, flatten, one_hot_label) for pair in (train, test))


def load_mnist(normalize=True, flatten=True, one_hot_label=False, path=None, split=8000):
    """Load MNIST as ``((x_train, t_train), (x_test, t_test))``, DLFS style.

    ``normalize``: float32 pixels in [0, 1], else the raw uint8 values.
    ``flatten``: images of shape (N, 784), else (N, 1, 28, 28).
    ``one_hot_label``: labels as (N, 10) float32 one-hot rows, else integer labels.

    ``path`` is a directory holding the standard files ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``,
    each optionally gzipped; it defaults to ``graphgrad/data``, which ships only the
    10,000-image t10k set. When the train files are absent, the t10k set is split
    deterministically (and silently): its first ``split`` images become the training set
    and the rest the test set (8,000 / 2,000 by default). Missing files raise
    ``FileNotFoundError``; malformed or mismatched ones, or files of another type than
    unsigned bytes, raise ``ValueError`` naming the file.
    """
    return _load(MNIST_DIR if path is None else path, normalize, flatten, one_hot_label,
                 split, install_hint="")


def load_fashion_mnist(normalize=True, flatten=True, one_hot_label=False, path=None, split=8000):
    """Load Fashion-MNIST exactly like ``load_mnist`` (same options, files and split rule).

    ``path`` defaults to ``/usr/share/datasets/fashion-mnist``, installed by
    ``apt-get install dataset-fashion-mnist`` (60,000 training and 10,000 test images).
    """
    hint = " Install it with: apt-get install dataset-fashion-mnist"
    return _load(FASHION_MNIST_DIR if path is None else path, normalize, flatten, one_hot_label,
                 split, install_hint=hint)
