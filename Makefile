# Two commands on a fresh machine: `make demo` and `make test`.
#
# Installs come from lock files (every transitive package at an exact version, with
# hashes), so a fresh machine gets exactly what CI tested. pyproject.toml keeps ranges
# for people who install the library; `make lock` refreshes the locks from those ranges
# and `make test-latest` runs the suite against the newest versions they allow.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
# pip itself is pinned here: the lock is written for pip's hash-checking mode.
PIP_PIN := pip==26.0.1
# Under CI=true a real component that cannot be installed is a failure, not a warning.
STRICT := $(filter true,$(CI))

.PHONY: demo test test-latest lock lint format bench clean venv system-deps .venv-keystone \
	.venv-statsforecast .venv-placement

venv: $(STAMP)

# torch is not in the lock: it is the CPU build from this machine's wheel (a plain
# `torch` from the index is a multi-GB CUDA build). Its own dependencies are locked,
# so it goes in last with --no-deps.
$(STAMP): $(LOCK) pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (need Python 3.11)"; exit 2; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install "$(PIP_PIN)"
	$(PIP) install --require-hashes --no-deps -r $(LOCK)
	$(PIP) install --no-deps "torch==2.13.0"
	$(PIP) install --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $(STAMP)

# Real Keystone for the integration tests, in its own venv and lock: its many pins never
# touch ours. Outside CI a failed install leaves the stamp unwritten and the Keystone
# tests skip, saying why; under CI=true it fails the run.
KEYSTONE_VENV  := .venv-keystone
KEYSTONE_LOCK  := requirements-keystone.lock
KEYSTONE_STAMP := $(KEYSTONE_VENV)/.installed

.venv-keystone: $(KEYSTONE_STAMP)

$(KEYSTONE_STAMP): $(KEYSTONE_LOCK)
	@test -x $(KEYSTONE_VENV)/bin/python || $(PYTHON) -m venv $(KEYSTONE_VENV)
	@$(KEYSTONE_VENV)/bin/python -m pip --disable-pip-version-check -q install "$(PIP_PIN)"
	@$(KEYSTONE_VENV)/bin/python -m pip --disable-pip-version-check -q install \
	    --require-hashes --no-deps -r $(KEYSTONE_LOCK) \
	  && touch $(KEYSTONE_STAMP) \
	  || { echo "error: could not install keystone from $(KEYSTONE_LOCK)"; \
	       if [ -n "$(STRICT)" ]; then exit 1; fi; \
	       echo "warning: its integration tests will be skipped"; }

# statsforecast for the side-by-side forecasting benchmark (bench/forecast_accuracy.py),
# in its own venv and lock: it pins pandas<3, which ours is not. Not a daemon dependency.
SF_VENV  := .venv-statsforecast
SF_LOCK  := requirements-statsforecast.lock
SF_STAMP := $(SF_VENV)/.installed

.venv-statsforecast: $(SF_STAMP)

$(SF_STAMP): $(SF_LOCK)
	@test -x $(SF_VENV)/bin/python || $(PYTHON) -m venv $(SF_VENV)
	@$(SF_VENV)/bin/python -m pip --disable-pip-version-check -q install "$(PIP_PIN)"
	$(SF_VENV)/bin/python -m pip --disable-pip-version-check -q install \
	    --require-hashes --no-deps -r $(SF_LOCK)
	@touch $(SF_STAMP)

# Real OpenStack Placement (behind the real Keystone) for the Nova placement tests, the
# same way: its own venv and hashed lock; a failed install fails the run under CI=true.
PLACEMENT_VENV  := .venv-placement
PLACEMENT_LOCK  := requirements-placement.lock
PLACEMENT_STAMP := $(PLACEMENT_VENV)/.installed

.venv-placement: $(PLACEMENT_STAMP)

$(PLACEMENT_STAMP): $(PLACEMENT_LOCK)
	@test -x $(PLACEMENT_VENV)/bin/python || $(PYTHON) -m venv $(PLACEMENT_VENV)
	@$(PLACEMENT_VENV)/bin/python -m pip --disable-pip-version-check -q install "$(PIP_PIN)"
	@$(PLACEMENT_VENV)/bin/python -m pip --disable-pip-version-check -q install \
	    --require-hashes --no-deps -r $(PLACEMENT_LOCK) \
	  && touch $(PLACEMENT_STAMP) \
	  || { echo "error: could not install placement from $(PLACEMENT_LOCK)"; \
	       if [ -n "$(STRICT)" ]; then exit 1; fi; \
	       echo "warning: its integration tests will be skipped"; }

# Debian's servers for the integration tests (installed only when run as root and missing).
# redis-server (tooz membership) and postgresql (the fleet's shared state) serve the
# fleet tests; Debian keeps initdb/pg_ctl under /usr/lib/postgresql/*/bin, pg_ctlcluster
# (postgresql-common) is the command on PATH that says it is there. etcd-server and
# zookeeper are tooz's other two backends (the zookeeper package pulls a Java runtime;
# its server is a jar, checked by path).
SYSTEM_PACKAGES := prometheus redis-server postgresql etcd-server zookeeper
SYSTEM_COMMANDS := prometheus promtool redis-server pg_ctlcluster etcd java /usr/share/java/zookeeper.jar
system-deps:
	@missing=""; for c in $(SYSTEM_COMMANDS); do { command -v $$c || test -e $$c; } >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian's $(SYSTEM_PACKAGES) for the integration tests (missing:$$missing)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null) \
	      || { echo "error: could not install $(SYSTEM_PACKAGES)"; if [ -n "$(STRICT)" ]; then exit 1; fi; }; \
	  else \
	    echo "warning:$$missing missing and not root; their integration tests will be skipped"; \
	    if [ -n "$(STRICT)" ]; then exit 1; fi; \
	  fi; \
	fi

demo: $(STAMP)
	$(VENV)/bin/autoscaler simulate --out demo-out

test: $(STAMP) system-deps .venv-keystone .venv-placement
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m pytest -q

# Refresh the locks from pyproject's ranges (and the Keystone pins) with pip-tools.
LOCK_VENV := .venv-lock
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links
lock:
	@test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && \
	  $(LOCK_VENV)/bin/python -m pip --disable-pip-version-check -q install "pip-tools==7.5.1"; }
	$(PIP_COMPILE) --upgrade --strip-extras --extra ml --extra test --extra fleet --extra sweep --unsafe-package torch \
	  -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) --upgrade --allow-unsafe --strip-extras -o $(KEYSTONE_LOCK) requirements-keystone.in
	$(PIP_COMPILE) --upgrade --allow-unsafe --strip-extras -o $(SF_LOCK) requirements-statsforecast.in
	$(PIP_COMPILE) --upgrade --allow-unsafe --strip-extras -o $(PLACEMENT_LOCK) requirements-placement.in
	@echo "locks refreshed: review 'git diff $(LOCK) $(KEYSTONE_LOCK) $(SF_LOCK) $(PLACEMENT_LOCK)', run 'make test', commit"

# The suite against the newest versions pyproject's ranges allow, in a venv of its own:
# drift is found on purpose, before `make lock` takes it in.
LATEST_VENV := .venv-latest
test-latest: system-deps .venv-keystone .venv-placement
	rm -rf $(LATEST_VENV) && $(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip --disable-pip-version-check -q install --upgrade pip
	$(LATEST_VENV)/bin/python -m pip --disable-pip-version-check -q install "torch==2.13.0"
	$(LATEST_VENV)/bin/python -m pip --disable-pip-version-check -q install --upgrade \
	  --upgrade-strategy eager -e ".[ml,test,fleet,sweep]"
	$(LATEST_VENV)/bin/python -m pip freeze --exclude-editable
	$(LATEST_VENV)/bin/python -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP) .venv-statsforecast
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) $(KEYSTONE_VENV) $(PLACEMENT_VENV) $(LOCK_VENV) $(LATEST_VENV) build *.egg-info demo-out \
	  .pytest_cache .ruff_cache
