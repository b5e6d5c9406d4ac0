# The two commands of a new user: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
export FS_DATA_DIR ?= ./var

.PHONY: run test install bench migration

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e .
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/fieldservice migrate
	$(VENV)/bin/fieldservice demo
	FS_DEMO=1 $(VENV)/bin/fieldservice serve

test:
	bash tests/run_all.sh

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/pages.py

# After changing a tables.py: write the next (additive) migration.
migration: $(VENV)/.installed
	PICCOLO_CONF=server.db.piccolo_conf $(VENV)/bin/piccolo migrations new fieldservice --auto
