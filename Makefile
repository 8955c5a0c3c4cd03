# Thin wrapper over CMake + ctest. `make demo` and `make test` do all set-up on Debian 12.
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test test-real test-asan test-tsan mutate demo bench clean
.PHONY: install deb

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
	@DRIP_EXTRA_PKGS="sqlite3 git redis-server redis-tools nginx apache2-utils g++ gawk busybox lua5.4 ruby tcl8.6 parallel sudo" scripts/deps.sh
	cd $(BUILD) && ctest --output-on-failure -L real

# drip's own code (CLI, common code, libdrip-safe and their tests) under a sanitizer; libdrip.so
# and the programs it is preloaded into stay plain (see DRIP_SANITIZE in CMakeLists.txt).
test-asan: deps
	@cmake -S . -B build-asan -DDRIP_SANITIZE=address,undefined >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -LE 'real|fuzz'

test-tsan: deps
	@cmake -S . -B build-tsan -DDRIP_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	cd build-tsan && setarch -R ctest --output-on-failure -j $(JOBS) -LE 'real|fuzz'

# Mutation check (tests/mutate.py): each bug of tests/mutations.txt applied to a scratch copy,
# built, and the tests it names run; ends with "N killed, M survived, K equivalent".
mutate: deps
	python3 tests/mutate.py --jobs $(JOBS)

demo: build
	@echo "== drip run -- $(BUILD)/bin/examples/lost_list (a linked list whose head pointer is lost)"
	-@$(BUILD)/bin/drip run -- $(BUILD)/bin/examples/lost_list

# drip installed under PREFIX (bin/drip, lib/drip/libdrip.so, libdrip-safe, headers, drip(1),
# bash completion, pkg-config and CMake package files); `make deb`: build/package/drip_*.deb.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

deb: build
	cd $(BUILD) && cpack -G DEB
	@ls $(BUILD)/package/drip_*.deb

bench: build
	bench/run.sh

clean:
	rm -rf $(BUILD)
