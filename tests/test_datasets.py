import gzip
import re
import struct
import tracemalloc

import numpy as np
import pytest

from graphgrad.datasets import (
    FASHION_MNIST_DIR,
    MNIST_DIR,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)

IDX_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D, "float64": 0x0E}
TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_header(code, shape):
    """IDX header bytes for a dtype code and a shape."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def idx_bytes(array):
    """Serialise an array to IDX bytes (big-endian data)."""
    header = idx_header(IDX_CODES[array.dtype.name], array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_file(path, data, compress=False):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_pair(directory, names, images, labels, compress=True):
    suffix = ".gz" if compress else ""
    write_file(directory / (names[0] + suffix), idx_bytes(images), compress)
    write_file(directory / (names[1] + suffix), idx_bytes(labels), compress)


def fake_split(n, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def test_read_shipped_mnist_test_set():
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images.flags.writeable


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (0, 5)])
def test_idx_round_trip(tmp_path, dtype, shape, compress):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=shape) * 100).astype(dtype)
    loaded = read_idx(write_file(tmp_path / "a.idx", idx_bytes(array), compress))
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


TEN_BYTES = idx_header(0x08, (10,))
MALFORMED = {
    "wrong magic": (b"\x01\x00" + TEN_BYTES[2:] + bytes(10), "wrong magic"),
    "unknown dtype code": (idx_header(0x07, (10,)) + bytes(10), "unknown dtype code 0x07"),
    "zero dims": (idx_header(0x08, ()), "0 dimensions"),
    "too many dims": (idx_header(0x08, (1,) * 5) + bytes(1), "5 dimensions"),
    "truncated magic": (b"\x00\x00", "truncated header"),
    "truncated sizes": (idx_header(0x08, (2, 3, 4))[:-2], "truncated header"),
    "truncated data": (TEN_BYTES + bytes(9), "truncated data, 9 of 10 bytes"),
    "trailing bytes": (TEN_BYTES + bytes(11), "trailing bytes"),
    "oversize claim": (idx_header(0x08, (2**32 - 1,)) + bytes(10), "oversize header"),
    "oversize 4-d claim": (idx_header(0x0E, (2**32 - 1,) * 4), "oversize header"),
    "lying claim under cap": (idx_header(0x08, (2**31 - 1,)) + bytes(10), "truncated data"),
}


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_idx_raises_value_error_naming_file(tmp_path, case, compress):
    data, words = MALFORMED[case]
    path = write_file(tmp_path / "bad-file.idx", data, compress)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + re.escape(words)):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("count", [2**31 - 1, 2**32 - 1])
def test_lying_header_does_not_allocate(tmp_path, count, compress):
    path = write_file(tmp_path / "liar.idx", idx_header(0x08, (count,)) + bytes(100), compress)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="liar.idx"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_corrupt_gzip_raises_value_error(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = write_file(tmp_path / "cut.idx.gz", data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.idx\.gz.*corrupt gzip"):
        read_idx(path)


def test_missing_idx_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        read_idx(tmp_path / "nope.idx")


def test_load_mnist_default_splits_shipped_test_set():
    (x_train, t_train), (x_test, t_test) = load_mnist()
    assert x_train.shape == (8000, 784) and x_test.shape == (2000, 784)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() == 1
    assert t_train.shape == (8000,) and t_test.shape == (2000,)
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(x_train * 255, images[:8000].reshape(8000, -1))
    np.testing.assert_array_equal(x_test * 255, images[8000:].reshape(2000, -1))
    np.testing.assert_array_equal(t_train, labels[:8000])
    np.testing.assert_array_equal(t_test, labels[8000:])


def test_load_mnist_options():
    (x_train, t_train), (x_test, t_test) = load_mnist(
        normalize=False, flatten=False, one_hot_label=True, split=9000)
    assert x_train.shape == (9000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == np.uint8 and x_train.max() == 255
    assert t_train.shape == (9000, 10) and t_test.shape == (1000, 10)
    assert t_train.dtype == np.float32 and np.all(t_train.sum(axis=1) == 1)
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(t_train.argmax(axis=1), labels[:9000])


def test_load_mnist_uses_real_train_files_when_present(tmp_path):
    train, test = fake_split(20, seed=1), fake_split(5, seed=2)
    write_pair(tmp_path, TRAIN_FILES, *train, compress=False)
    write_pair(tmp_path, TEST_FILES, *test, compress=True)
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=False, path=tmp_path)
    np.testing.assert_array_equal(x_train, train[0].reshape(20, 784))
    np.testing.assert_array_equal(t_train, train[1])
    np.testing.assert_array_equal(x_test, test[0].reshape(5, 784))
    np.testing.assert_array_equal(t_test, test[1])


def test_load_mnist_split_of_test_only_directory(tmp_path):
    images, labels = fake_split(5, seed=3)
    write_pair(tmp_path, TEST_FILES, images, labels)
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False, path=tmp_path, split=3)
    np.testing.assert_array_equal(x_train, images[:3, None] / np.float32(255))
    np.testing.assert_array_equal(t_test, labels[3:])
    with pytest.raises(ValueError, match="split=5"):
        load_mnist(path=tmp_path, split=5)


def test_load_mnist_missing_directory(tmp_path):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(FileNotFoundError,
                       match=re.escape(str(missing)) + ".*t10k-images-idx3-ubyte.*nothing is downloaded"):
        load_mnist(path=missing)


def test_load_mnist_rejects_half_a_train_pair(tmp_path):
    write_pair(tmp_path, TEST_FILES, *fake_split(5, seed=4))
    images, _ = fake_split(5, seed=5)
    write_file(tmp_path / TRAIN_FILES[0], idx_bytes(images))
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_mnist(path=tmp_path)


def test_load_mnist_mismatched_counts(tmp_path):
    images, labels = fake_split(5, seed=6)
    write_pair(tmp_path, TEST_FILES, images, labels[:4])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz.*5 images.*"
                                         r"t10k-labels-idx1-ubyte\.gz.*4 labels"):
        load_mnist(path=tmp_path)


def test_load_mnist_rejects_out_of_range_labels(tmp_path):
    images, labels = fake_split(5, seed=7)
    labels[2] = 10
    write_pair(tmp_path, TEST_FILES, images, labels)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz.*outside 0\.\.9"):
        load_mnist(path=tmp_path)


@pytest.mark.parametrize("images_dtype, labels_dtype, wrong", [
    (np.uint8, np.float32, "t10k-labels-idx1-ubyte.gz holds float32"),
    (np.uint8, np.int8, "t10k-labels-idx1-ubyte.gz holds int8"),
    (np.int16, np.uint8, "t10k-images-idx3-ubyte.gz holds int16"),
    (np.float64, np.uint8, "t10k-images-idx3-ubyte.gz holds float64"),
])
def test_load_mnist_refuses_files_that_are_not_unsigned_bytes(tmp_path, images_dtype,
                                                               labels_dtype, wrong):
    # valid IDX files, but not MNIST's: labels of 3.5, pixels of 300 or -1 were returned
    images, labels = fake_split(5, seed=8)
    write_pair(tmp_path, TEST_FILES, images.astype(images_dtype), labels.astype(labels_dtype))
    with pytest.raises(ValueError, match=rf"{re.escape(str(tmp_path))}/{re.escape(wrong)}, "
                                         r"expected unsigned bytes \(uint8\)"):
        load_mnist(path=tmp_path, split=3)


@pytest.mark.parametrize("shape", [(5, 784, 1), (5, 28, 27), (5, 14, 56)])
def test_load_mnist_refuses_images_that_are_not_28_by_28(tmp_path, shape):
    # the docstring promises (N, 784) or (N, 1, 28, 28): (5, 784, 1) came out (5, 1, 784, 1)
    images, labels = fake_split(5, seed=9)
    write_pair(tmp_path, TEST_FILES, images.reshape(5, -1)[:, :np.prod(shape[1:])]
               .reshape(shape), labels)
    with pytest.raises(ValueError, match=rf"t10k-images-idx3-ubyte\.gz.*expected \(N, 28, 28\) "
                                         rf"images .*got shapes {re.escape(str(shape))}"):
        load_mnist(path=tmp_path, split=3)


def test_load_fashion_mnist_missing_mentions_apt(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(path=tmp_path)


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist not installed")
def test_load_fashion_mnist_installed():
    (x_train, t_train), (x_test, t_test) = load_fashion_mnist(normalize=False)
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.uint8
    assert t_train.shape == (60000,) and t_test.shape == (10000,)
    assert set(np.unique(t_test)) == set(range(10))
