# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Build chain as in libbpf-bootstrap:
#   bpf/X.bpf.c -> build/X.bpf.o -> bpftool gen skeleton -> build/X.skel.h
# User space: -Wall -Wextra -Werror. `make SAN=1` builds into build-san/ with
# AddressSanitizer and UBSan.

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/;s/ppc64le/powerpc/;s/s390x/s390/')

ifeq ($(SAN),1)
O ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
O ?= build
SAN_FLAGS :=
endif

PREFIX ?= /usr/local
VERSION := 0.1.0

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers $(SAN_FLAGS)
CPPFLAGS += -I$(O) -Ibpf -Ilib -DBPFPORT_VERSION=\"$(VERSION)\"
LDLIBS += -lbpf -lelf -lz
LDFLAGS += $(SAN_FLAGS)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Ivmlinux -Ibpf

BPF_HDRS := bpf/bpfport.h $(wildcard bpf/lib/*.h)
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst %.c,$(O)/%.o,$(LIB_SRCS))
LIB_HDRS := $(wildcard lib/*.h) bpf/bpfport.h
LOADER_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard loader/*.c))
CLI_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard cli/*.c))
UNIT_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard tests/unit/*.c))
DP_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard tests/datapath/*.c))
# ICMP and fragment tests: their own binary, sharing the packet builders.
ICMP_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard tests/datapath_icmp/*.c)) $(O)/tests/datapath/pkt.o \
	$(O)/tests/datapath/harness.o

# Debian packages the build, the demo and the tests need (README, .ci/run).
DEPS := clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool iproute2 make gcc libc6-dev \
	pkg-config python3 curl jq socat netcat-openbsd tcpdump iptables nftables util-linux \
	clang-format wrk nginx-light libclang-rt-dev docker.io busybox-static

.PHONY: all deps test test-unit bench bench-quick bench-deps clean install demo format format-check
all: $(O)/bpfport $(O)/bpfport-loader $(O)/bpfport-proxy $(O)/test_unit $(O)/test_datapath \
	$(O)/test_icmp $(O)/dpfuzz

$(O)/bpfport.bpf.o: bpf/bpfport.bpf.c $(BPF_HDRS) | $(O)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/bpfport.skel.h: $(O)/bpfport.bpf.o
	$(BPFTOOL) gen skeleton $< name bpfport > $@.tmp && mv $@.tmp $@

$(O)/%.o: %.c $(LIB_HDRS) $(wildcard tests/*/*.h) $(O)/bpfport.skel.h | $(O)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/datapath $(CFLAGS) -c $< -o $@

$(O)/bpfport: $(CLI_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(O)/bpfport-loader: $(LOADER_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Docker's userland-proxy-path program (proxy/, README "Use with Docker").
PROXY_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard proxy/*.c))
$(PROXY_OBJS): $(wildcard proxy/*.h)
$(O)/bpfport-proxy: $(PROXY_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Datapath fuzzer (tests/dpfuzz): its own binary, sharing the packet builders
# and the skeleton harness of tests/datapath.
DPFUZZ_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard tests/dpfuzz/*.c)) $(O)/tests/datapath/pkt.o \
	$(O)/tests/datapath/harness.o
$(O)/dpfuzz: $(DPFUZZ_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(O)/test_unit: $(UNIT_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(O)/test_datapath: $(DP_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(O)/test_icmp: $(ICMP_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(O):
	mkdir -p $@

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEPS)

# Unit tests also run under AddressSanitizer and UBSan (build-san/).
test: all
	$(MAKE) SAN=1 build-san/test_unit
	tests/run.sh

test-unit: $(O)/test_unit
	$(O)/test_unit

demo: all
	tests/demo.sh

# Benchmarks (README.md, "Performance"). Never part of
# `make test`: they take minutes and need the packages bench-deps installs.
# BENCH_ARGS passes options to bench/bench.sh (see bench/bench.sh --help).
$(O)/microbench: $(O)/bench/microbench.o
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

bench-deps:
	BUILD=$(O) bench/deps.sh

bench: all $(O)/microbench bench-deps
	BUILD=$(O) bench/bench.sh $(BENCH_ARGS)

bench-quick: all $(O)/microbench bench-deps
	BUILD=$(O) bench/bench.sh --quick $(BENCH_ARGS)

# Fuzzing (tests/fuzz/README.md): libFuzzer targets tests/fuzz/fuzz_NAME.c,
# built with clang, ASan and UBSan into $(O)/fuzz/ from the library and CLI
# sources compiled again with the fuzzer's instrumentation (two archives, so a
# target links only what it uses; the CLI's main() is renamed away). `make
# fuzz` runs each for FUZZ_SECONDS on a scratch copy of tests/fuzz/corpus/NAME
# and fails on any crash, leak, broken invariant or hang. The test tier `fuzz`
# (tests/run.sh) builds the targets itself and runs each for 30 s.
FUZZ_SECONDS ?= 60
# Packets through every datapath program (tests/dpfuzz), random seed, printed.
DPFUZZ_PACKETS ?= 1000000
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Wall -Wextra -Wno-missing-field-initializers $(FUZZ_SAN)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(O)/fuzz/fuzz_%)
FUZZ_LIB_OBJS := $(patsubst %.c,$(O)/fuzz/obj/%.o,$(LIB_SRCS))
FUZZ_CLI_OBJS := $(patsubst %.c,$(O)/fuzz/obj/%.o,$(wildcard cli/*.c))
FUZZ_HDRS := $(LIB_HDRS) $(wildcard cli/*.h) $(wildcard tests/fuzz/*.h)

.PHONY: fuzz fuzz-build
.SECONDARY: $(FUZZ_NAMES:%=$(O)/fuzz/obj/tests/fuzz/fuzz_%.o)
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build $(O)/dpfuzz
	BUILD=$(O) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_NO_BUILD=1 tests/fuzz/run.sh
	$(O)/dpfuzz -n $(DPFUZZ_PACKETS)

$(O)/fuzz/obj/%.o: %.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) -Icli -Itests/fuzz $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		$(if $(filter cli/main.c,$<),-Dmain=bpfport_cli_main) -c $< -o $@

# The project's sources are warned about by the normal build; ours must be clean.
$(O)/fuzz/obj/tests/fuzz/%.o: FUZZ_CFLAGS += -Werror

$(O)/fuzz/libbpfport-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(O)/fuzz/libbpfport-cli-fuzz.a: $(FUZZ_CLI_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(O)/fuzz/fuzz_%: $(O)/fuzz/obj/tests/fuzz/fuzz_%.o $(O)/fuzz/libbpfport-fuzz.a
	$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -Wl,--start-group $^ -Wl,--end-group $(LDLIBS) -o $@

# Targets that drive a CLI command link the CLI too.
$(O)/fuzz/fuzz_config: $(O)/fuzz/libbpfport-cli-fuzz.a

install: all
	install -D -m 0755 $(O)/bpfport $(DESTDIR)$(PREFIX)/sbin/bpfport
	install -D -m 0755 $(O)/bpfport-loader $(DESTDIR)$(PREFIX)/sbin/bpfport-loader
	install -D -m 0755 $(O)/bpfport-proxy $(DESTDIR)$(PREFIX)/sbin/bpfport-proxy
	install -D -m 0644 proxy/bpfport-proxy.8 $(DESTDIR)$(PREFIX)/share/man/man8/bpfport-proxy.8
	install -D -m 0644 loader/bpfport.service $(DESTDIR)/etc/systemd/system/bpfport.service
	install -D -m 0644 cli/bpfport.8 $(DESTDIR)$(PREFIX)/share/man/man8/bpfport.8
	install -D -m 0644 loader/bpfport-loader.8 $(DESTDIR)$(PREFIX)/share/man/man8/bpfport-loader.8
	install -D -m 0644 cli/bpfport.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/bpfport
	ln -sf bpfport $(DESTDIR)$(PREFIX)/share/bash-completion/completions/bpfport-loader

C_SOURCES = $(shell git ls-files '*.c' '*.h' | grep -v '^vmlinux/')

format:
	clang-format -i $(C_SOURCES)

format-check:
	tests/format-check.sh

clean:
	rm -rf build build-san
