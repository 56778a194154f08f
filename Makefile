# Each target installs what it needs, so a fresh machine needs only `make demo` / `make test`.
PYTHON ?= python3

.PHONY: install deps browser demo test mutants bench docs

# graphviz's dot draws
deps:
	@command -v dot >/dev/null || (apt-get update -qq && apt-get install -y -qq graphviz)

# headless Chromium runs the viewer's tests (tests/test_viewer_browser.py); where it
# cannot be installed those tests skip, saying why, and the rest still run
browser:
	@(command -v chromium >/dev/null && command -v chromedriver >/dev/null) || \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver) || \
		echo "make: chromium could not be installed; the browser tests will skip"

install: deps
	$(PYTHON) -m pip install -q -e '.[test]'

demo: install
	OPENBLAS_NUM_THREADS=1 $(PYTHON) -m graphgrad.cli demo

test: install browser
	OPENBLAS_NUM_THREADS=1 $(PYTHON) -m pytest -q -p no:cacheprovider

# make mutants: does the suite catch real bugs? tools/mutants.py applies each of its
# deliberate bugs (a backward off by 1e-5, a dropped accumulation term, an optimizer off
# by 1%, ...) to a copy of graphgrad/, viz/ and tests/, runs the suite on it with -x, and
# fails if any bug survives. Needs the test extras (make test); a few minutes.
mutants:
	OPENBLAS_NUM_THREADS=1 $(PYTHON) tools/mutants.py

# The benchmarks pin BLAS to one thread themselves (benchmarks/blas.py).
bench: install
	$(PYTHON) -m pip install -q -e '.[bench]'
	$(PYTHON) -m benchmarks

# The site (getting started, tutorials with their outputs, gallery, benchmarks, API
# reference) into site/; offline; --strict: a broken reference fails the build.
docs: deps
	$(PYTHON) -m pip install -q -e '.[docs]'
	OPENBLAS_NUM_THREADS=1 NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict
