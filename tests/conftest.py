"""Hypothesis profiles, chosen with the environment variable HYPOTHESIS_PROFILE:

* ``default`` (and ``ci``, the same): a few dozen examples per property, so the
  whole suite stays fast;
* ``long``: 10,000 examples per property, for fuzzing the expression tests:
  ``HYPOTHESIS_PROFILE=long pytest tests/test_expressions.py``.

Examples stay random from run to run (no ``derandomize``); a failure prints the blob
that reproduces it (``@reproduce_failure``).
"""
import os

import pytest
from hypothesis import settings

settings.register_profile("default", deadline=None, max_examples=40, print_blob=True)
settings.register_profile("ci", settings.get_profile("default"))
settings.register_profile("long", settings.get_profile("default"), max_examples=10_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "gpu: needs CuPy and a CUDA GPU (skipped elsewhere); pytest -m gpu")


@pytest.fixture(params=[(0o022, 0o644), (0o002, 0o664)], ids=["umask022", "umask002"])
def new_file_mode(request):
    """Run the test under two umasks; the value is the mode ``open(path, "w")`` then
    gives a new file (0o666 less the umask). The umask is restored afterwards."""
    umask, mode = request.param
    previous = os.umask(umask)
    try:
        yield mode
    finally:
        os.umask(previous)
