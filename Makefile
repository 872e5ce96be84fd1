# The two commands of the README:
#   make serve   install relaybox into .venv and run the platform with its embedded defaults
#   make test    install everything the tests need (dev tools, official clients) and run the suite
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: serve test install media test-clients lint bench clean

$(STAMP): pyproject.toml relaybox/media/_rtpcore.c relaybox/media/_spool.c
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

media: $(STAMP)
	scripts/setup-media.sh

serve: $(STAMP) media
	$(VENV)/bin/relaybox serve $(ARGS)

test-clients:
	scripts/setup-test-clients.sh
	scripts/setup-relay-sdk.sh

test: $(STAMP) media test-clients
	scripts/setup-sip.sh
	scripts/setup-freeform.sh $(VENV)/bin/python
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check relaybox tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/python bench/gateway.py

clean:
	rm -rf $(VENV) .venvs tests/clients/node_modules
