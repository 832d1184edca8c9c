# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench clean venv system-deps .venv-keystone

venv: $(STAMP)

# torch goes in first and pinned: an unpinned torch from a dependency would pull GBs of CUDA.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (need Python 3.11)"; exit 2; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=24" "setuptools>=68" wheel
	$(PIP) install "torch==2.13.0"
	$(PIP) install -e ".[ml,test]"
	@touch $(STAMP)

# Real Keystone for the integration tests, in its own venv: its many pins never touch ours.
# On failure the stamp is not written and the Keystone tests skip, saying why.
KEYSTONE_VENV  := .venv-keystone
KEYSTONE_STAMP := $(KEYSTONE_VENV)/.installed

.venv-keystone: $(KEYSTONE_STAMP)

$(KEYSTONE_STAMP):
	@test -x $(KEYSTONE_VENV)/bin/python || $(PYTHON) -m venv $(KEYSTONE_VENV)
	@$(KEYSTONE_VENV)/bin/python -m pip --disable-pip-version-check -q install \
	    "keystone==30.0.0" "gunicorn==27.0.1" \
	  && touch $(KEYSTONE_STAMP) \
	  || echo "warning: could not install keystone; its integration tests will be skipped"

# Debian's prometheus for the integration tests (installed only when run as root and missing).
system-deps:
	@if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian's prometheus for the integration tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) \
	      || echo "warning: could not install prometheus; its integration tests will be skipped"; \
	  else echo "warning: prometheus missing and not root; its integration tests will be skipped"; fi; \
	fi

demo: $(STAMP)
	$(VENV)/bin/autoscaler simulate --out demo-out

test: $(STAMP) system-deps .venv-keystone
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) $(KEYSTONE_VENV) build *.egg-info demo-out .pytest_cache .ruff_cache
