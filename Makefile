# MMX Explorer: every target sets up .venv first (idempotent, keyed on requirements.txt).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
REQ_HASH := $(shell $(PYTHON) -c "import hashlib;print(hashlib.sha256(open('requirements.txt','rb').read()).hexdigest()[:12])")
STAMP := $(VENV)/.installed-$(REQ_HASH)
HOST ?= 127.0.0.1
PORT ?= 8501
PYTEST_ARGS ?=
WORKERS ?= 2
CERT ?=
KEY ?=
HTTP_PORT ?=


.PHONY: setup run serve test bench models assets screenshots clean-cache

setup: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

# One process for this machine; beyond it Streamlit's own endpoints would answer before any sign-in: use serve.
run: setup
	@$(PY) -c "import sys; from mmx_core.appkit.access import is_loopback; sys.exit(not is_loopback(sys.argv[1]))" \
		'$(HOST)' || { echo "make run serves this machine only (HOST=127.0.0.1); for HOST=$(HOST) use make serve," \
		"which signs visitors in before anything of the app answers (README, 'Serving to others')" >&2; exit 2; }
	$(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

# Many visitors: nginx signs them in, then spreads them over WORKERS Streamlit processes (README, "Serving to others").
serve: setup
	$(PY) -m mmx_core serve --host $(HOST) --port $(PORT) --workers $(WORKERS) \
		$(if $(CERT),--cert $(CERT)) $(if $(KEY),--key $(KEY)) $(if $(HTTP_PORT),--http-port $(HTTP_PORT))

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
