# The README's two commands: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test setup setup-test migrate lint bench clean

$(PY):
	@interp=$$(scripts/find-python) || exit 1; \
	echo "Using $$interp"; \
	"$$interp" -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(STAMP)

setup: $(STAMP)
	@mkdir -p data
	@[ -f .env ] || scripts/make-env > .env
	@scripts/compile-messages
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py setup_roles
	$(PY) manage.py create_demo_accounts

run: setup
	$(PY) manage.py collectstatic --no-input -v 0
	scripts/run-local

setup-test: $(DEV_STAMP)
	@scripts/ensure-chromium
	@scripts/compile-messages

test: setup-test
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) staticfiles
