# hopwatch build.
#   make            build/hopwatch (BPF embedded through one skeleton)
#   make static     build/hopwatch-static (no shared-library dependencies)
#   make test       every test tier (unit, fuzz smoke, bad input, bpf as root, kernels)
#   make test-kernels  the static agent booted under qemu on Debian's 5.10, 6.1 and 6.12
#                   cloud kernels and the running kernel (KERNEL_CACHE=DIR, default
#                   build/kernels)
#   make bench      benchmarks (not part of make test)
#   make deps       install the Debian packages the build and the tests need
#   V=1             show the commands
#   VERSION=V       the version compiled in (default `git describe --always --dirty`); the
#                   files that print it are built again when it changes

BUILD       ?= build
CC          ?= cc
CLANG       ?= clang
BPFTOOL     ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' \
	-e 's/s390x/s390/' -e 's/riscv64/riscv/' -e 's/loongarch64/loongarch/')

WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-truncation -Wstrict-prototypes
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 $(WARN) -D_GNU_SOURCE -DHW_VERSION='"$(VERSION)"' \
	     $(if $(wildcard user/stream/syslog.c),-DHW_HAVE_SYSLOG) \
	     -Iinclude -Iuser -I$(BUILD)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Wno-unused-function \
	      -Iinclude -I$(BUILD) -Ibpf
LIBS      := -lbpf -linih -lelf -lz -lzstd -lnats -lssl -lcrypto
STATIC_LIBS := -Wl,-Bstatic -lbpf -linih -lelf -lz -lzstd -Wl,-Bdynamic

HDRS      := $(wildcard include/hopwatch/*.h)
# maps.bpf.c first: the definitions before the files that declare them extern
BPF_SRCS  := bpf/maps.bpf.c $(filter-out bpf/maps.bpf.c,$(wildcard bpf/*.bpf.c))
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
USER_SRCS := $(shell find user -name '*.c' -not -path 'user/nonats/*' | sort)
USER_HDRS := $(shell find user -name '*.h')
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(filter-out user/main.c,$(USER_SRCS)))
MAIN_OBJ  := $(BUILD)/user/main.o
# what needs libnats, which has no static library: the static build links stubs instead
NATS_SRCS := user/stream/nats.c user/stream/nats_send.c user/collect/collect.c user/collect/collect_out.c user/collect/collect_part.c user/collect/collect_group.c user/collect/collect_nats.c
NONATS_SRCS := $(wildcard user/nonats/*.c)
STATIC_OBJS := $(filter-out $(patsubst %.c,$(BUILD)/%.o,$(NATS_SRCS)),$(LIB_OBJS)) \
	       $(patsubst %.c,$(BUILD)/%.o,$(NONATS_SRCS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(UNIT_SRCS))

.PHONY: all static test test-kernels unit bench deps deps-build deps-test clean fuzz check-format format
all: $(BUILD)/hopwatch

# Debian packages are installed first when missing (tools/deps.sh; needs root then).
$(BUILD)/vmlinux.h: | deps-build
	$(Q)mkdir -p $(@D)
	$(call msg,BTF,$@)
	$(Q)test -r $(VMLINUX_BTF) || { echo "error: no kernel BTF at '$(VMLINUX_BTF)' (set VMLINUX_BTF=FILE)" >&2; exit 2; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(HDRS) $(wildcard bpf/*.bpf.h)
	$(Q)mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# All programs linked into one object, one skeleton.
$(BUILD)/hopwatch.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/hopwatch.skel.h: $(BUILD)/hopwatch.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name hopwatch_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/user/%.o: user/%.c $(HDRS) $(USER_HDRS) $(BUILD)/hopwatch.skel.h
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The version compiled in (HW_VERSION, `git describe`) follows the tree: the files that use it
# are built again when it changes, not only when they do.
VERSION_STAMP := $(BUILD)/version.stamp
VERSION_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(shell grep -l HW_VERSION $(USER_SRCS)))
$(VERSION_STAMP): FORCE
	$(Q)mkdir -p $(@D)
	$(Q)printf '%s\n' '$(VERSION)' | cmp -s - $@ || printf '%s\n' '$(VERSION)' > $@
$(VERSION_OBJS): $(VERSION_STAMP)
.PHONY: FORCE
FORCE:

$(BUILD)/tests/unit/%.o: tests/unit/%.c $(wildcard tests/unit/*.h) $(HDRS) $(USER_HDRS) $(BUILD)/hopwatch.skel.h
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/hopwatch: $(MAIN_OBJ) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

static: $(BUILD)/hopwatch-static
$(BUILD)/hopwatch-static: $(MAIN_OBJ) $(STATIC_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -static $(LDFLAGS) $^ -lbpf -linih -lelf -lz -lzstd -lssl -lcrypto -o $@

$(BUILD)/unit-tests: $(UNIT_OBJS) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

# libFuzzer targets: one per parser of outside input.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_BASE   := -g -O1 -std=gnu11 -D_GNU_SOURCE -DHW_VERSION='"$(VERSION)"' -Iinclude -Iuser \
	       -I$(BUILD) -fno-sanitize-recover=undefined
FUZZ_CFLAGS := $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined
# the parsers and the model, without what needs the kernel, libnats or OpenSSL (syslog_tls.c,
# and syslog.c that calls it; the pure syslog_fmt.c stays)
FUZZ_LIB  := $(filter-out user/main.c user/loader.c user/agent/%.c user/check.c user/stream/syslog.c user/stream/syslog_tls.c $(NATS_SRCS),$(USER_SRCS)) \
	     $(NONATS_SRCS)
# compiled once for every target (instrumented for coverage, without libFuzzer's main)
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz-obj/%.o,$(FUZZ_LIB))
$(BUILD)/fuzz-obj/%.o: %.c $(HDRS) $(USER_HDRS) | deps-build
	$(Q)mkdir -p $(@D)
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_BASE) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS) $(HDRS) $(USER_HDRS) | deps-build
	$(Q)mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_OBJS) -linih -lz -lzstd -o $@
fuzz: $(FUZZ_BINS)

# the tests read JetStream streams with it
$(BUILD)/jsdump: tests/tools/jsdump.c user/stream/batch.c user/stream/batch.h | deps-build
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -Iuser -o $@ $< user/stream/batch.c -lnats -lz -lzstd

# a forged login: a program calling libpam as if it were a service (tests/bpf/test_trust.py)
$(BUILD)/pamforge: tests/tools/pamforge.c | deps-test
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lpam

# load generator shared by the tests and the benchmarks
$(BUILD)/storm: tests/bench/storm.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# the machine's floor beside the agent's CPU in make bench (no agent: wake-ups and writes)
$(BUILD)/floor: tests/bench/floor.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# the workload of the kernel matrix, linked against the host's libpam (tests/kernels)
$(BUILD)/hwguest: tests/kernels/guest.c | deps-build
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -Wno-unused-parameter -o $@ $< -lpam

test-kernels: deps-test
	$(Q)$(MAKE) --no-print-directory static $(BUILD)/hwguest
	$(Q)python3 tests/run.py kernels/

unit: $(BUILD)/unit-tests
	$(Q)$(BUILD)/unit-tests

test: deps-test
	$(Q)$(MAKE) --no-print-directory all static $(BUILD)/unit-tests $(BUILD)/storm $(BUILD)/jsdump \
		$(BUILD)/pamforge $(BUILD)/hwguest \
		$(FUZZ_BINS)
	$(Q)python3 tests/run.py

bench: all $(BUILD)/storm $(BUILD)/floor $(BUILD)/jsdump
	$(Q)python3 tests/bench/bench.py
	$(Q)python3 tests/bench/nats_bench.py
	$(Q)python3 tests/bench/nats_bench.py --profiles --n 2000
	$(Q)python3 tests/bench/fleet_sim.py

# Debian packages: build, then what the tests drive for real.
DEPS_BUILD := clang clang-format llvm libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev libinih-dev make gcc pkg-config \
	      libnats-dev libssl-dev
DEPS_TEST  := python3 python3-yaml libclang-rt-14-dev libpam0g-dev iproute2 util-linux procps openssh-server openssh-client sshpass passwd sudo systemd \
	      dpkg-dev lintian logrotate man-db curl nats-server rsyslog openssl strace \
	      qemu-system-x86 busybox-static cpio libpam-modules xz-utils zstd \
	      softether-vpnbridge softether-vpnserver softether-vpncmd tcpdump \
	      chromium fonts-dejavu-core \
	      xrdp xorgxrdp freerdp2-x11 xvfb
deps:
	$(Q)./tools/deps.sh $(DEPS_BUILD) $(DEPS_TEST)
deps-build:
	$(Q)./tools/deps.sh $(DEPS_BUILD)
deps-test:
	$(Q)./tools/deps.sh $(DEPS_BUILD) $(DEPS_TEST)

# every C file of ours against .clang-format (tests/cli/test_format.py runs it in make test)
FORMAT_SRCS := $(USER_SRCS) $(USER_HDRS) $(wildcard bpf/*.c bpf/*.h) $(HDRS) \
	       $(wildcard tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/bench/*.c tests/tools/*.c tests/kernels/*.c)
check-format:
	$(Q)clang-format --dry-run -Werror $(FORMAT_SRCS)
format:
	$(Q)clang-format -i $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD)

# Debian package from build/hopwatch: build/hopwatch_VERSION_ARCH.deb (tools/mkdeb.sh,
# packaging/debian/, docs/install.md); DEB_VERSION=V sets the package version.
.PHONY: deb
deb: $(BUILD)/hopwatch
	$(Q)./tools/deps.sh dpkg-dev
	$(Q)./tools/mkdeb.sh --binary $(BUILD)/hopwatch --out $(BUILD) $(if $(DEB_VERSION),--version '$(DEB_VERSION)')
