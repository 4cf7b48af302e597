# Creative Admin: `make demo` runs the product, `make test` runs the tests.
# Needs only Python 3.11+, git and make; everything else installs into .venv.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo test stack setup setup-dev fonts vast-client lint bench figures fuzz clean reference-renders

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

fonts: $(VENV)/.installed
	PY=$(PY) bash scripts/ensure-cjk-font.sh

setup: $(VENV)/.installed fonts

setup-dev: $(VENV)/.installed-dev fonts vast-client

vast-client:
	bash scripts/ensure-vast-client.sh

demo: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "Creative Admin is starting on http://$(HOST):$(PORT)/"
	@echo "  admin:      http://$(HOST):$(PORT)/admin/"
	@echo "  dashboards: http://$(HOST):$(PORT)/dashboards/"
	@echo "  API docs:   http://$(HOST):$(PORT)/api/docs/"
	$(PY) manage.py runserver $(HOST):$(PORT)

test: setup-dev
	$(PY) -m ruff check .
	$(PY) -m pytest -m "not integration"

# The production-like stack (gunicorn + TLS, Celery worker and beat, PostgreSQL, Redis, S3 stand-in).
stack: setup-dev fonts
	bash scripts/prod-stack.sh

lint: setup-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: setup-dev
	$(PY) -m bench

# The production figures in one report (~15 min): load held at p99 <= 50 ms for 60 s, faults survived,
# bad inputs tried, events lost. Needs PostgreSQL and Redis (started if not answering).
figures: setup-dev
	bash -c 'source scripts/services.sh && services_ensure'
	$(PY) -m bench.production

# The long form of the fuzzing tests (`make test` runs a few examples of each): 1,000 generated
# requests per API operation and 1,000 inputs per validator, a new random seed each run.
FUZZ_EXAMPLES ?= 1000
fuzz: setup-dev
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/security/test_api_fuzz.py tests/security/test_validator_fuzz.py \
		-p no:cacheprovider --timeout=0 -q

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache

reference-renders: setup-dev
	$(PY) -m synthesis.tests.reference_renders
