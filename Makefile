# Two entry points: `make run` and `make test`. Both set everything up first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup build run test lint typecheck bench clean browser proxy reference mutate

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "setuptools>=68" wheel "Cython>=3.0" "numpy>=1.26"
	$(PY) -m pip install -q --no-build-isolation -e '.[test]'
	touch $(STAMP)

# Cython extensions: rebuilt in place whenever a .pyx changed (cythonize skips the rest).
build: $(STAMP)
	$(PY) setup.py -q build_ext --inplace

setup: build

# Widget tests drive Debian's chromium through Playwright (never `playwright install`,
# which downloads a browser). Installed once, as root, when missing.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "note: /usr/bin/chromium missing and not root: widget tests will skip (fail with CI=true)"; fi; \
	fi

# The reverse-proxy test runs docs/deploy/nginx.conf in front of the server: Debian's
# nginx-light, installed once as root when missing (like the browser).
proxy:
	@if [ ! -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light \
	      && (service nginx stop >/dev/null 2>&1 || true); \
	  else echo "note: /usr/sbin/nginx missing and not root: the proxy tests will skip (fail with CI=true)"; fi; \
	fi

# The C++ reference (kit-algo/ULTRA, ../shared/reference/ultra) for tests/test_vs_reference.py
# and benchmarks/vs_reference.py: its build needs Debian's libnuma-dev (numa.h), installed
# once as root when missing, then build.sh compiles the driver (kept while up to date).
REFERENCE := ../shared/reference/ultra
reference:
	@if ! echo '#include <numa.h>' | $${CXX:-g++} -x c++ -fsyntax-only - 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnuma-dev; \
	  else echo "note: numa.h missing and not root: the reference tests will skip (fail with CI=true)"; fi; \
	fi
	@if [ -x $(REFERENCE)/build.sh ]; then $(REFERENCE)/build.sh \
	  || echo "note: the ULTRA reference did not build: its tests will skip (fail with CI=true)"; \
	else echo "note: $(REFERENCE) missing: the reference tests will skip (fail with CI=true)"; fi

run: setup
	$(VENV)/bin/owl-planner serve

lint: setup
	$(VENV)/bin/ruff check planner feeds api tests benchmarks

# Files, strictness and per-library exceptions live in pyproject.toml [tool.mypy].
typecheck: setup
	$(VENV)/bin/mypy

test: setup lint typecheck browser proxy reference
	$(VENV)/bin/pytest -q -rs

# Mutation testing (tests/mutate.py): a fixed list of plausible slips, each applied alone
# in a temporary copy with the tests mapped to its file; exits 1 if one survives.
# A few only: make mutate MUTATE="--only 'csa-*' query-max-trips"
mutate: setup
	$(PY) -m tests.mutate $(MUTATE)

# The API benchmark drives the server with Debian's wrk (falls back to a Python client).
bench: setup
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk; } || true
	$(PY) benchmarks/compile.py
	$(PY) benchmarks/routing.py
	$(PY) benchmarks/multimodal.py
	$(PY) benchmarks/api.py

clean:
	rm -rf build planner/**/*.so planner/**/*.cpp .cache
