# portside: one Makefile for the library, the programs, the tests and packaging.
# `make` builds, `make check` tests (installing what is missing first), `make demo`
# shows a forwarded container, `make asan` runs the tests under ASan+UBSan.

VERSION := $(shell cat VERSION)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
# podman and CRI-O read hooks.d from here whatever PREFIX is.
HOOKSDIR ?= /usr/share/containers/oci/hooks.d
DESTDIR ?=

BUILD ?= build
CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := libseccomp libcap json-c libuv

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-missing-field-initializers
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
# The user's CFLAGS come last so that they win.
override CFLAGS := -std=gnu11 -D_GNU_SOURCE -O2 -g $(WARN) $(HARDEN) -MMD -MP \
	-DPORTSIDE_VERSION='"$(VERSION)"' -DPORTSIDE_SIDECAR_PATH='"$(LIBEXECDIR)/portside/portside-sidecar"' \
	-DPORTSIDE_HOOK_PATH='"$(LIBEXECDIR)/oci/hooks.d/portside-hook"' $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS) $(CFLAGS)
override LDFLAGS := -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS) $(LDFLAGS)
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

OCI_SRC := $(wildcard oci/*.c)
LIB_SRC := $(wildcard lib/*.c)
CTL_SRC := $(wildcard ctl/*.c)
HOOK_SRC := $(wildcard hook/*.c)
SIDECAR_SRC := $(wildcard sidecar/*.c)
UNIT_SRC := $(wildcard tests/unit/test-*.c)

OCI_OBJ := $(OCI_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ := $(CTL_SRC:%.c=$(BUILD)/%.o)
HOOK_OBJ := $(HOOK_SRC:%.c=$(BUILD)/%.o)
SIDECAR_OBJ := $(SIDECAR_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

PROGRAMS := $(BUILD)/portsidectl $(BUILD)/portside-hook $(BUILD)/portside-sidecar
# Helpers the integration tests put into their containers: static, no sanitizer.
TEST_HELPERS := $(BUILD)/tests/udp-echo $(BUILD)/tests/hostile

.PHONY: all check unit integration asan fuzz demo bench deps deps-if-missing install uninstall deb \
	clean fmt fmt-check lint

all: $(PROGRAMS) $(UNIT_BIN) $(TEST_HELPERS)

$(BUILD)/tests/udp-echo: tests/helpers/udp-echo.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -static -o $@ $<

$(BUILD)/tests/hostile: tests/helpers/hostile.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -static -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/liboci.a: $(OCI_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/libportside.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

# Each program is a thin main over a library of its own, so that unit tests
# reach the parts below the programs.
$(BUILD)/libctl.a: $(filter-out $(BUILD)/ctl/main.o,$(CTL_OBJ))
	$(AR) rcs $@ $^

$(BUILD)/libhook.a: $(filter-out $(BUILD)/hook/main.o,$(HOOK_OBJ))
	$(AR) rcs $@ $^

$(BUILD)/libsidecar.a: $(filter-out $(BUILD)/sidecar/main.o,$(SIDECAR_OBJ))
	$(AR) rcs $@ $^

$(BUILD)/portsidectl: $(BUILD)/ctl/main.o $(BUILD)/libctl.a $(BUILD)/libportside.a $(BUILD)/liboci.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/portside-hook: $(BUILD)/hook/main.o $(BUILD)/libhook.a $(BUILD)/libportside.a $(BUILD)/liboci.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/portside-sidecar: $(BUILD)/sidecar/main.o $(BUILD)/libsidecar.a $(BUILD)/libportside.a $(BUILD)/liboci.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libsidecar.a $(BUILD)/libhook.a $(BUILD)/libportside.a \
		$(BUILD)/liboci.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# ---- tests ----

deps:
	packaging/deps.sh

deps-if-missing:
	@packaging/deps.sh --if-missing

check: deps-if-missing
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) integration

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

integration: all
	PORTSIDE_BUILD=$(abspath $(BUILD)) bats --tap tests/integration

demo: deps-if-missing
	$(MAKE) all
	PORTSIDE_BUILD=$(abspath $(BUILD)) packaging/demo.sh

# Throughput, requests/s and memory next to direct and socat (not part of check).
bench: deps-if-missing
	$(MAKE) all
	PORTSIDE_BUILD=$(BUILD) tests/bench/run.sh

# ASan+UBSan build in its own tree, then the same tests against it.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan: deps-if-missing
	$(MAKE) BUILD=build/asan EXTRA_CFLAGS="$(SAN_FLAGS) -O1" EXTRA_LDFLAGS="$(SAN_FLAGS)" all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		$(MAKE) BUILD=build/asan EXTRA_CFLAGS="$(SAN_FLAGS) -O1" EXTRA_LDFLAGS="$(SAN_FLAGS)" unit integration

# libFuzzer targets, one per parser, each run FUZZ_TIME seconds on a copy of its
# seed corpus (the seeds in the tree are never written to).
FUZZ_TIME ?= 15
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1 -std=gnu11 -D_GNU_SOURCE \
	$(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
fuzz: deps-if-missing
	@mkdir -p $(BUILD)/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
		clang $(FUZZ_FLAGS) -o $(BUILD)/fuzz/fuzz-$$t tests/fuzz/fuzz-$$t.c $(OCI_SRC) \
			$$($(PKG_CONFIG) --libs json-c); \
		rm -rf $(BUILD)/fuzz/corpus-$$t; mkdir -p $(BUILD)/fuzz/corpus-$$t; \
		echo "fuzz: $$t for $(FUZZ_TIME)s"; \
		$(BUILD)/fuzz/fuzz-$$t -max_total_time=$(FUZZ_TIME) -max_len=20000 -timeout=10 \
			-print_final_stats=0 $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t \
			> $(BUILD)/fuzz/$$t.log 2>&1 || { tail -40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
		grep -E '^Done|#[0-9]+.*DONE' $(BUILD)/fuzz/$$t.log | tail -1; \
	done

# ---- install ----

install: all
	install -D -m 0755 $(BUILD)/portsidectl $(DESTDIR)$(BINDIR)/portsidectl
	install -D -m 0755 $(BUILD)/portside-hook $(DESTDIR)$(LIBEXECDIR)/oci/hooks.d/portside-hook
	install -D -m 0755 $(BUILD)/portside-sidecar $(DESTDIR)$(LIBEXECDIR)/portside/portside-sidecar
	install -D -m 0644 packaging/policy/cloud-ide.json $(DESTDIR)$(DATADIR)/portside/policy-cloud-ide.json
	install -d $(DESTDIR)$(HOOKSDIR)
	sed 's|@HOOK@|$(LIBEXECDIR)/oci/hooks.d/portside-hook|' packaging/hooks.d/portside.json.in \
		>$(DESTDIR)$(HOOKSDIR)/portside.json
	chmod 0644 $(DESTDIR)$(HOOKSDIR)/portside.json

uninstall:
	rm -f $(DESTDIR)$(HOOKSDIR)/portside.json
	rm -f $(DESTDIR)$(BINDIR)/portsidectl
	rm -f $(DESTDIR)$(LIBEXECDIR)/oci/hooks.d/portside-hook
	rm -f $(DESTDIR)$(LIBEXECDIR)/portside/portside-sidecar
	-rmdir $(DESTDIR)$(LIBEXECDIR)/portside 2>/dev/null
	rm -f $(DESTDIR)$(DATADIR)/portside/policy-cloud-ide.json
	-rmdir $(DESTDIR)$(DATADIR)/portside 2>/dev/null

# A Debian package from the tree: portside_VERSION_ARCH.deb in the top folder.
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB = portside_$(VERSION)_$(DEB_ARCH).deb
deb: $(DEB)
$(DEB): packaging/deb/control.in packaging/deb/postrm $(OCI_SRC) $(LIB_SRC) $(CTL_SRC) $(HOOK_SRC) $(SIDECAR_SRC)
	rm -rf $(BUILD)/deb
	# Built apart, with PREFIX=/usr: the hook finds the sidecar by its
	# installed path, compiled in.
	$(MAKE) BUILD=$(BUILD)/deb-build PREFIX=/usr DESTDIR=$(abspath $(BUILD)/deb) install
	strip --strip-unneeded $(BUILD)/deb/usr/bin/portsidectl $(BUILD)/deb/usr/libexec/oci/hooks.d/portside-hook \
		$(BUILD)/deb/usr/libexec/portside/portside-sidecar
	install -d $(BUILD)/deb/DEBIAN
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
		-e "s|@SIZE@|$$(du -sk $(BUILD)/deb/usr | cut -f1)|" packaging/deb/control.in >$(BUILD)/deb/DEBIAN/control
	install -m 0755 packaging/deb/postrm $(BUILD)/deb/DEBIAN/postrm
	dpkg-deb --root-owner-group --build $(BUILD)/deb $@

clean:
	rm -rf build portside_*.deb

# ---- style ----

FMT_FILES := $(wildcard oci/*.[ch] lib/*.[ch] ctl/*.[ch] hook/*.[ch] sidecar/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c tests/helpers/*.c)
fmt:
	clang-format -i $(FMT_FILES)
fmt-check:
	clang-format --dry-run --Werror $(FMT_FILES)

-include $(shell find $(BUILD) -type f -name '*.d' 2>/dev/null)
