# MMX Explorer: every target sets up .venv first (idempotent, keyed on requirements.txt).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
REQ_HASH := $(shell $(PYTHON) -c "import hashlib;print(hashlib.sha256(open('requirements.txt','rb').read()).hexdigest()[:12])")
STAMP := $(VENV)/.installed-$(REQ_HASH)
HOST ?= 127.0.0.1
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: setup run test bench models assets screenshots clean-cache

setup: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: setup
	$(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: setup
	@$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "ERROR: pytest collected no tests (exit 5): the suite is missing" >&2; fi; \
	exit $$status

bench: setup
	$(PY) -m benchmarks

models: setup
	$(PY) -m mmx_core make-models

assets: setup
	$(PY) -m mmx_core bundle-published
	$(PY) -m mmx_core precompute

screenshots: setup
	$(PY) -m pytest tests/app/test_browser.py -k screenshots

clean-cache:
	rm -rf cache
