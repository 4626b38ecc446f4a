# picocenter - see README.md.  `make` builds build/picocenter,
# `make check` installs missing Debian packages, builds and runs every test.

CC      ?= gcc
CFLAGS  ?= -O2 -g
# Always on, whatever CFLAGS the caller passes:
# libpq's header only: the library itself is loaded by hub/pq_lib.c.
PC_CFLAGS := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -I/usr/include/postgresql
LDLIBS  := -lssl -lcrypto -lzstd -lxxhash -lpthread -ldl -lsqlite3 -ljansson -lm
LDLIBS  += -lmnl -lnftables -lnftnl -lseccomp -lldns

# src/init/ is picocenter-init, a program of its own (static, see below).
SRCS    := $(filter-out src/init/%,$(wildcard src/*/*.c)) src/main.c
OBJS    := $(SRCS:%.c=build/obj/%.o)
LIBSRCS := $(filter-out src/main.c src/cli/%,$(SRCS))
LIBOBJS := $(LIBSRCS:%.c=build/obj/%.o)

# Test programs: tests/<suite>/progs/NAME.c -> build/tests/<suite>/NAME
TPROGSRC := $(wildcard tests/*/progs/*.c)
TPROGS   := $(patsubst tests/%.c,build/tests/%,$(subst /progs/,/,$(TPROGSRC)))
TPROGFLAGS := -std=c17 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -pthread

# Fuzz targets: fuzz/NAME.c (libFuzzer entry points) -> build/fuzz/NAME
FUZZSRC := $(wildcard fuzz/*.c)

.PHONY: all check deps test asan fuzz clean demo
all: build/picocenter build/picocenter-init $(TPROGS)

build/picocenter: $(OBJS)
	$(CC) $(PC_CFLAGS) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The init of apps' trees (src/init/init.c): static and without a C
# library (src/init/sys.h), so that it runs in any box root and costs an
# app a few pages; the daemon finds it next to its own binary.
INIT_CFLAGS := -Os -static -nostdlib -no-pie -fno-stack-protector -fno-builtin \
	-fno-tree-loop-distribute-patterns -fno-asynchronous-unwind-tables -fcf-protection=none \
	-Wl,--build-id=none -s
build/picocenter-init: src/init/init.c src/init/sys.h
	@mkdir -p $(dir $@)
	$(CC) $(PC_CFLAGS) $(INIT_CFLAGS) -o $@ $<

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(PC_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# Programs named u-*.c are unit tests of the library and link with it.
define tprog_rule
$(1): $(2) $(if $(filter u-%,$(notdir $(1))),$(LIBOBJS))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(TPROGFLAGS) $(if $(filter u-%,$(notdir $(1))),-Isrc) -o $$@ $$(filter %.c %.o,$$^) -lm -lrt $(if $(filter u-%,$(notdir $(1))),$$(LDLIBS))
endef
$(foreach s,$(TPROGSRC),$(eval $(call tprog_rule,$(patsubst tests/%.c,build/tests/%,$(subst /progs/,/,$(s))),$(s))))

deps:
	scripts/deps.sh

# A tour of `picocenter serve` (scripts/demo.sh); leaves nothing behind.
demo: deps
	$(MAKE) all
	scripts/demo.sh

check: deps
	$(MAKE) all
	tests/run.sh

test: all
	tests/run.sh

# The whole binary built with AddressSanitizer and UBSan.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan: build/asan/picocenter
build/asan/picocenter: $(SRCS) $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	clang $(PC_CFLAGS) $(ASAN_FLAGS) -o $@ $(SRCS) $(LDFLAGS) $(LDLIBS)

# The library is compiled once for every target (instrumented for the
# fuzzer, not linked with its main), then each target links with it.
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -O1 -g -Isrc -I/usr/include/postgresql
FUZZLIBOBJS := $(LIBSRCS:%.c=build/fuzz/obj/%.o)
fuzz: $(FUZZSRC:fuzz/%.c=build/fuzz/%)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c -o $@ $<
build/fuzz/%: fuzz/%.c $(FUZZLIBOBJS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(FUZZLIBOBJS:.o=.d)
