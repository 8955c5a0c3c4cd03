# Thin wrapper over CMake + ctest. `make demo` and `make test` do all set-up on Debian 12.
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test test-real test-asan test-tsan fuzz mutate demo bench clean
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

# Open-ended fuzzing (make test's fuzz_* tests are seeded and the same on every run): each
# libFuzzer target (fuzz/fuzz.cmake) for FUZZ_SECONDS with a random seed, new inputs kept in
# $(BUILD)/fuzz-corpus-new/NAME, crashes in $(BUILD)/fuzz-artifacts/; FUZZ=name runs one.
FUZZ_SECONDS ?= 300
FUZZ ?= *
fuzz: build
	@ls $(BUILD)/fuzz/$(FUZZ).args >/dev/null 2>&1 || { echo "no fuzz target built (is clang installed?)"; exit 2; }
	@rc=0; for a in $(BUILD)/fuzz/$(FUZZ).args; do \
	    echo "== fuzzing $$(basename $$a .args) for $(FUZZ_SECONDS) s"; \
	    bash fuzz/run.sh open $(FUZZ_SECONDS) $$a || rc=1; \
	done; exit $$rc

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
