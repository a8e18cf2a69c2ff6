# Everything runs from a fresh machine: `make test` installs what it needs (scripts/bootstrap.sh).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(CURDIR)/build/collections
SANITY_ROOT := $(CURDIR)/build/sanity/ansible_collections/localai/gallery
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)
export no_proxy := 127.0.0.1,localhost
export NO_PROXY := 127.0.0.1,localhost

.PHONY: test deps units engine reliability sanity integration molecule lint demo bench clean

test: deps units engine reliability sanity lint integration molecule
	@echo "make test: all suites passed"

deps:
	@scripts/bootstrap.sh

# Unit tests start no server; engine tests run the engine against real registries on loopback.
units: deps
	PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

engine: deps
	PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest -q -p no:cacheprovider -rs tests/integration/engine

reliability: deps
	PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest -q -p no:cacheprovider -rs tests/reliability

# ansible-test wants the collection at .../ansible_collections/localai/gallery as a real path: test a copy.
sanity: deps
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A  # ansible-test lists files through git
	cd $(SANITY_ROOT) && $(BIN)/ansible-test sanity --color no --python 3.11 --requirements

lint: deps
	$(BIN)/ansible-lint --offline --profile production roles playbooks extensions/molecule

integration: deps
	tests/integration/run.sh

molecule: deps
	tests/molecule.sh

demo: deps
	scripts/demo.sh

bench: deps
	$(BIN)/python benchmarks/install_throughput.py
	$(BIN)/python benchmarks/fleet_requests.py

clean:
	rm -rf build tests/output
