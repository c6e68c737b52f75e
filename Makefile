# taskscope — eBPF observer of async runtimes.
#
#   make            build build/taskscope
#   make deps       install the Debian packages the build and tests need
#   make demo       build, start the bundled demo service, report on it
#   make test       deps + build + unit tests + end-to-end tests (root)
#   make bench      overhead benchmark (not part of test)
#   make fuzz       libFuzzer harnesses (tests/fuzz), FUZZ_SECONDS each (300)
#   make fuzz-smoke the same, 30 s each; one PASS/FAIL line per harness
#   make unit-asan  unit tests built with ASan and UBSan, run
#   make vmlinux    regenerate vmlinux/vmlinux.h from the running kernel's BTF

OUTPUT := build
# sudo resets PATH: find a rustup toolchain of root (or of the sudo caller)
# before falling back to Debian's cargo.
CARGO_DIRS := $(wildcard /root/.cargo/bin $(HOME)/.cargo/bin)
ifneq ($(SUDO_USER),)
CARGO_DIRS += $(wildcard $(shell getent passwd $(SUDO_USER) | cut -d: -f6)/.cargo/bin)
endif
empty :=
space := $(empty) $(empty)
ifneq ($(strip $(CARGO_DIRS)),)
export PATH := $(PATH):$(subst $(space),:,$(strip $(CARGO_DIRS)))
endif
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
ARCH := $(shell uname -m | sed 's/x86_64/x86/' | sed 's/aarch64/arm64/')

# CFLAGS is the user's (make CFLAGS=...); what the code needs to compile at
# all lives in TS_CFLAGS, which a command-line CFLAGS can't override.
CFLAGS ?= -g -O2
TS_CFLAGS := -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation -Werror \
	-D_GNU_SOURCE -std=gnu11 -MMD -MP
USER_DIRS := $(sort $(dir $(wildcard user/*/*.c user/*/*.h)))
INCLUDES := -I$(OUTPUT) -Ibpf -Icli -Iusdt $(patsubst %/,-I%,$(USER_DIRS))
ALL_CFLAGS = $(TS_CFLAGS) $(CFLAGS) $(INCLUDES)
LDLIBS := -lbpf -lelf -ldw -lz -liberty -lncursesw -ltinfo -lm -ljson-c -lpthread \
	$(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

USER_SRCS := $(wildcard user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(patsubst cli/%.c,$(OUTPUT)/cli/%.o,$(CLI_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

DEB_PKGS := clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev \
	libiberty-dev libncurses-dev systemtap-sdt-dev bpftrace pkg-config \
	make gcc g++ lld python3 tmux procps binutils elfutils \
	librust-tokio-dev librust-async-std-dev librust-futures-dev \
	librust-smol-dev python3-pytest libclang-rt-dev gdb \
	librust-hyper-dev wrk strace \
	libmicrohttpd-dev xxd prometheus chromium graphviz libjson-c-dev

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.PHONY: all deps demo test unit e2e targets bench clean vmlinux fuzz fuzz-smoke fuzz-build \
	unit-asan
.DELETE_ON_ERROR:
.SECONDARY:

all: $(OUTPUT)/taskscope

$(OUTPUT) $(OUTPUT)/cli $(OUTPUT)/tests:
	$(Q)mkdir -p $@

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c bpf/taskscope.h $(wildcard bpf/*.bpf.h) vmlinux/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf \
		-Wall -Werror -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# Header dependencies come from -MMD (.d files next to the objects); the
# skeletons are order-only so every object waits for them on a clean build.
$(OUTPUT)/user/%.o: user/%.c | $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/cli/%.o: cli/%.c | $(BPF_SKELS) $(OUTPUT)/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/taskscope: $(USER_OBJS) $(CLI_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(USER_OBJS) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(OUTPUT)/deps
	$(Q)$(CC) $(ALL_CFLAGS) -MF $(OUTPUT)/deps/$*.d -Itests/unit $< $(USER_OBJS) $(LDLIBS) -o $@

# The dashboard's files (taskscope serve), compiled in as byte arrays.
SERVE_ASSETS := $(wildcard user/serve/assets/*)
$(OUTPUT)/serve_assets.inc: $(SERVE_ASSETS) | $(OUTPUT)
	$(call msg,XXD,$@)
	$(Q)(cd user/serve/assets && for f in $(notdir $(SERVE_ASSETS)); do \
		xxd -i $$f | sed -e 's/^unsigned char/static const unsigned char/' -e '/_len = /d'; \
	done) > $@
$(OUTPUT)/user/serve/serve_assets.o $(OUTPUT)/asan/user/serve/serve_assets.o: $(OUTPUT)/serve_assets.inc

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)

# Installs only what is missing, so a prepared machine pays nothing.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v cargo >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cargo rustc >/dev/null; }

# The bench_* crates are built by `make bench` only: they are not test targets.
targets:
	$(call msg,CARGO,tests/targets)
	$(Q)cd tests/targets && cargo build --release --quiet --workspace \
		$$(for d in tokio/bench_*; do [ -d "$$d" ] && [ "$$d" != tokio/bench_http ] && \
			printf -- '--exclude %s ' "$${d#tokio/}"; done)
	$(Q)cd tests/targets && cargo test --release --quiet --no-run -p hung_tests 2>/dev/null
	$(call msg,MAKE,tests/targets/cruntime)
	$(Q)$(MAKE) --no-print-directory -s -C tests/targets/cruntime
	$(call msg,CARGO,tests/targets/releases)
	$(Q)tests/targets/releases/build.sh >/dev/null

unit: $(UNIT_BINS)

demo: deps
	$(Q)$(MAKE) --no-print-directory all targets
	$(Q)tests/demo.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all targets unit $(ASAN_UNIT_BINS) fuzz-build
	$(Q)tests/run.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all targets
	$(Q)cd tests/targets && cargo build --release --quiet --workspace
	$(Q)bench/run.sh

# --- sanitizers and fuzzing -----------------------------------------------
# UBSan aborts (no recovery) so undefined behaviour fails a test or a run
# the way a crash does.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

ASAN_DIR := $(OUTPUT)/asan
ASAN_OBJS := $(patsubst user/%.c,$(ASAN_DIR)/user/%.o,$(USER_SRCS))
ASAN_UNIT_BINS := $(patsubst tests/unit/%.c,$(ASAN_DIR)/tests/%,$(UNIT_SRCS))

$(ASAN_DIR)/user/%.o: user/%.c | $(BPF_SKELS)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(ASAN_UNIT_BINS): $(ASAN_DIR)/tests/%: tests/unit/%.c $(ASAN_OBJS)
	$(call msg,TEST-ASAN,$@)
	$(Q)mkdir -p $(@D) $(ASAN_DIR)/deps
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MF $(ASAN_DIR)/deps/$*.d -Itests/unit $< \
		$(ASAN_OBJS) $(LDLIBS) -o $@

# One line per test binary; its whole output stays in build/asan/tests/*.log.
unit-asan: $(ASAN_UNIT_BINS)
	$(Q)fail=0; for t in $(ASAN_UNIT_BINS); do \
		if UBSAN_OPTIONS=print_stacktrace=1 $$t >$$t.log 2>&1; then \
			echo "PASS unit-asan $${t##*/}"; \
		else \
			rc=$$?; why=$$(grep -m1 -E '^FAIL |ERROR: (Address|Leak)Sanitizer|runtime error:' $$t.log | \
			       sed 's/^==[0-9]*==//'); \
			echo "FAIL unit-asan $${t##*/}: $${why:-exit status $$rc} (log $$t.log)"; fail=1; \
		fi; \
	done; exit $$fail

# libFuzzer needs clang; the parsers under test and what they call are
# rebuilt with coverage and sanitizers into an archive, so each harness
# links only the objects it uses.
FUZZ_CC ?= clang
RUSTC ?= rustc
FUZZ_SECONDS ?= 300
FUZZ_DIR := $(OUTPUT)/fuzz
FUZZ_NAMES := fuzz_elf fuzz_usdt_notes fuzz_dwarf fuzz_core fuzz_recording
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))
FUZZ_LIB_SRCS := $(wildcard user/common/*.c user/runtime/*.c user/dwarf/*.c user/target/*.c) \
	user/model/task_model.c user/record/rec_snapshot.c user/record/recording.c
FUZZ_LIB_OBJS := $(patsubst user/%.c,$(FUZZ_DIR)/obj/user/%.o,$(FUZZ_LIB_SRCS))
FUZZ_CFLAGS = $(TS_CFLAGS) -Wno-unknown-warning-option -g -O1 $(INCLUDES) $(SAN_FLAGS)
FUZZ_SEEDS := $(FUZZ_DIR)/seeds/mini_tokio $(FUZZ_DIR)/seeds/mini_async_task
# opt-level 1 keeps the seeds small; a negative inline threshold keeps the
# drop glue calls the ELF reader decodes.
SEED_RUSTFLAGS := --edition 2021 -C opt-level=1 -C llvm-args=-inline-threshold=-1000 \
	-C debuginfo=2 -C panic=abort

$(FUZZ_DIR)/obj/user/%.o: user/%.c
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/libts_fuzz.a: $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_DIR)/%: tests/fuzz/%.c tests/fuzz/fuzz_file.h $(FUZZ_DIR)/libts_fuzz.a
	$(call msg,FUZZER,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MF $(FUZZ_DIR)/$*.d -fsanitize=fuzzer -Itests/fuzz $< \
		$(FUZZ_DIR)/libts_fuzz.a $(LDLIBS) -o $@

# Seeds are built, never committed: without rustc the harnesses start from
# the C targets only.
$(FUZZ_DIR)/seeds/mini_tokio: tests/fuzz/seeds/mini_tokio.rs
	$(call msg,RUSTC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd $(@D) && MAKEFLAGS= $(RUSTC) $(SEED_RUSTFLAGS) --crate-name tokio $(CURDIR)/$< -o $(@F) || \
		echo "  (no rustc: $@ not built)"

$(FUZZ_DIR)/seeds/mini_async_task: tests/fuzz/seeds/mini_tokio.rs
	$(call msg,RUSTC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd $(@D) && MAKEFLAGS= $(RUSTC) $(SEED_RUSTFLAGS) --crate-name async_task --cfg async_task \
		$(CURDIR)/$< -o $(@F) || echo "  (no rustc: $@ not built)"

fuzz-build: $(FUZZ_BINS) $(FUZZ_SEEDS)

fuzz: fuzz-build
	$(Q)tests/fuzz/fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build
	$(Q)tests/fuzz/fuzz.sh 30

clean:
	rm -rf $(OUTPUT)
