# Thin wrapper over CMake + ctest. `make demo` and `make test` do all set-up on Debian 12.
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test test-real demo bench clean

all: build

deps:
	@scripts/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE real

test-real: build
	@DRIP_EXTRA_PKGS="sqlite3 git redis-server redis-tools nginx apache2-utils g++" scripts/deps.sh
	cd $(BUILD) && ctest --output-on-failure -L real

demo: build
	@echo "== drip run -- $(BUILD)/bin/examples/lost_list (a linked list whose head pointer is lost)"
	-@$(BUILD)/bin/drip run -- $(BUILD)/bin/examples/lost_list

bench: build
	bench/run.sh

clean:
	rm -rf $(BUILD)
