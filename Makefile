# layerscope — the two commands: `make demo` and `make test` (each installs what it needs).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUNTIME_STAMP := $(VENV)/.runtime-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench bench-tools stress fixtures registry-bin chromium-bin report-example clean

# The demo needs only the runtime dependencies; the tests add the test tools on top (issue #18).
$(RUNTIME_STAMP): pyproject.toml
	@$(PY) -c 'import ensurepip, venv' 2>/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv python3-pip; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# The CNCF distribution registry the integration tests start on 127.0.0.1 (Debian: docker-registry).
registry-bin:
	@command -v docker-registry >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends docker-registry; }

# Headless Chromium, in which tests/report/test_html_chromium.py renders the HTML report (Debian: chromium).
chromium-bin:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

# docs/report-example.html and its screenshot docs/report-example.png (README).
report-example: $(STAMP) chromium-bin
	$(BIN)/python scripts/screenshot_report.py

# The main job on the built-in example, offline: a Windows app image on Server Core LTSC 2019 (May 2022),
# first on its own, then on a node whose AMI baked the September 2022 base (drift).
# The benchmark's baselines and its peak-RSS probe (Debian: curl gzip pigz zstd skopeo time).
bench-tools:
	@for t in curl gzip pigz zstd skopeo /usr/bin/time; do command -v $$t >/dev/null 2>&1 || missing=1; done; \
	[ -z "$$missing" ] || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
		--no-install-recommends curl gzip pigz zstd skopeo time; }

# Benchmarks against same-run baselines; writes BENCHMARKS.md (not part of `make test`; ~10 min, data cached),
# then `report`/`recommend` over generated fleets of 1,000 and 5,000 images (its own section; ~10 min more).
bench: $(STAMP) registry-bin bench-tools
	@# Both parts run; a missed target in the first still fails `make bench`, after the fleet rows are written.
	$(BIN)/python scripts/bench.py; status=$$?; \
	$(BIN)/python scripts/fleet_report_bench.py --images 1000 5000 --section BENCHMARKS.md && exit $$status

demo: $(RUNTIME_STAMP)
	$(BIN)/layerscope analyze oci:fixtures/layout:windows-app --no-progress --no-store --contents
	@echo
	$(BIN)/layerscope analyze oci:fixtures/layout:windows-app --profile fixtures/demo-node.yaml --no-progress --no-store
	@echo
	$(BIN)/layerscope analyze oci:fixtures/layout:windows-app --ami Windows_Server-2019-English-Core-ECS_Optimized-2022.06.20 --no-progress --no-store
	@echo
	$(BIN)/layerscope analyze oci:fixtures/layout:windows-app --nodes fixtures/nodes.json --no-progress --no-store

test: $(STAMP) registry-bin chromium-bin
	$(BIN)/python -m pytest -q

# Heavy load and bomb variants (pyproject's addopts deselect them from `make test`); CI runs this too.
stress: $(STAMP) registry-bin
	$(BIN)/python -m pytest -q -m stress

lint: $(STAMP)
	$(BIN)/ruff check layerscope tests scripts
	$(BIN)/ruff format --check layerscope tests scripts
	$(BIN)/mypy

fixtures: $(STAMP)
	$(BIN)/python scripts/make_fixtures.py fixtures/layout

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
