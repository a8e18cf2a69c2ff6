# Everything runs from a fresh machine: `make test` installs what it needs (scripts/bootstrap.sh).
# Every tool writes under build/ (ANSIBLE_HOME, XDG_CACHE_HOME, and a HOME of its own for ansible-test,
# whose cache path is fixed to ~/.ansible/test), never into the user's home: `make test` checks that last.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
BUILD := $(CURDIR)/build
COLLECTIONS := $(BUILD)/collections
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/localai/gallery
TEST_HOME := $(BUILD)/home
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_HOME := $(BUILD)/ansible-home
# The test "hosts" are this machine: their remote temporary directory (not under ANSIBLE_HOME) goes here too.
export ANSIBLE_REMOTE_TMP := $(BUILD)/remote-tmp
export XDG_CACHE_HOME := $(BUILD)/cache
export PATH := $(BIN):$(PATH)
export no_proxy := 127.0.0.1,localhost
export NO_PROXY := 127.0.0.1,localhost

.PHONY: test deps units fuzz-short fuzz engine reliability sanity integration galaxy molecule lint home-untouched matrix demo \
	bench clean

test: deps home-mark units fuzz-short engine reliability sanity lint integration galaxy molecule home-untouched
	@echo "make test: all suites passed"

deps:
	@scripts/bootstrap.sh

# Unit tests start no server; engine tests run the engine against real registries on loopback.
units: deps
	PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

# Property-based fuzzing of everything that parses untrusted bytes: about 2 minutes here, about 30 in `make fuzz`.
FUZZ = PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning \
	--hypothesis-show-statistics tests/fuzz
fuzz-short: deps
	HYPOTHESIS_PROFILE=short $(FUZZ) | tee $(BUILD)/fuzz-short.log | grep -E "passed|failed|::test|passing"

fuzz: deps
	HYPOTHESIS_PROFILE=long $(FUZZ) | tee $(BUILD)/fuzz-long.log | grep -E "passed|failed|::test|passing"

engine: deps
	PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest -q -p no:cacheprovider -rs tests/integration/engine

reliability: deps
	PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest -q -p no:cacheprovider -rs tests/reliability

# ansible-test wants the collection at .../ansible_collections/localai/gallery as a real path: test a copy.
# A skipped sanity test (a missing program, an unsupported Python) fails the step: "passed" means all ran.
sanity: deps
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A  # ansible-test lists files through git
	cd $(SANITY_ROOT) && HOME=$(TEST_HOME) $(BIN)/ansible-test sanity --color no --python 3.11 --requirements \
		2>&1 | tee $(BUILD)/sanity.log
	@! grep -E 'Skipping sanity test|Skipping tests disabled|Required program .* not found' $(BUILD)/sanity.log \
		|| (echo "sanity: a test was skipped (see above)"; exit 1)

# An ANSIBLE_HOME of its own: molecule's prerun installs a copy of the collection into build/ansible-home,
# which ansible-lint would otherwise resolve modules from (a copy as old as the last molecule run).
lint: deps
	HOME=$(TEST_HOME) ANSIBLE_HOME=$(BUILD)/lint-home $(BIN)/ansible-lint --offline --profile production roles \
		playbooks extensions/molecule

integration: deps
	HOME=$(TEST_HOME) tests/integration/run.sh

# The way Galaxy users get it: build the artifact, install it into its own collections path, run a target there.
galaxy: deps
	HOME=$(TEST_HOME) tests/galaxy.sh

molecule: deps
	tests/molecule.sh

# Nothing under the user's home was written by this run.
home-mark:
	@mkdir -p $(BUILD) && touch $(BUILD)/.test-started
home-untouched:
	@written=$$(find $(HOME)/.ansible $(HOME)/.ansible_async $(HOME)/.cache/localai.gallery $(HOME)/.cache/molecule \
		-newer $(BUILD)/.test-started 2>/dev/null | head -5 || true); \
	if [ -n "$$written" ]; then echo "make test wrote into $(HOME):" $$written; exit 1; fi

# ansible-core versions and Python interpreters we claim (meta/runtime.yml, README): see tests/matrix.sh.
matrix: deps
	HOME=$(TEST_HOME) tests/matrix.sh

demo: deps
	scripts/demo.sh

bench: deps
	$(BIN)/python benchmarks/install_throughput.py
	$(BIN)/python benchmarks/module_overhead.py
	$(BIN)/python benchmarks/fleet_requests.py
	$(BIN)/python benchmarks/mirror_bytes.py
	$(BIN)/python benchmarks/fleet_scale.py

clean:
	rm -rf build tests/output
