# portside: one Makefile for the library, the programs, the tests and packaging.
# `make` builds, `make check` tests (installing what is missing first), `make demo`
# shows a forwarded container, `make asan` runs the tests under ASan+UBSan.

VERSION := $(shell cat VERSION)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
# systemd units (portside-metrics.timer, off until enabled) and where the
# service writes: Debian's prometheus-node-exporter textfile directory.
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
TEXTFILE_DIR ?= /var/lib/prometheus/node-exporter
# podman and CRI-O read hooks.d from here whatever PREFIX is.
HOOKSDIR ?= /usr/share/containers/oci/hooks.d
# Where the hook and the sidecar are installed; the hooks.d file names both.
HOOK_PATH = $(LIBEXECDIR)/oci/hooks.d/portside-hook
SIDECAR_PATH = $(LIBEXECDIR)/portside/portside-sidecar
# The runtime wrapper containerd runs as runc (packaging/kubernetes/).
WRAPPER_PATH = $(LIBEXECDIR)/portside/portside-runc
# The node installer that points containerd at it (packaging/kubernetes/).
NODE_PATH = $(LIBEXECDIR)/portside/portside-node
DESTDIR ?=
# The uids the sidecars run as, one a sidecar, each also its gid (lib/uids.h):
# no passwd entry is needed. Above systemd's ranges for dynamic users
# (61184-65519) and nspawn containers (524288-1879048191), below its foreign
# range (2147352576-) and 2^31, which some tools read as negative.
SIDECAR_UID_BASE ?= 2046820352
SIDECAR_UID_COUNT ?= 65536

BUILD ?= build
CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := libseccomp libcap json-c libuv

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-missing-field-initializers
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
# The user's CFLAGS come last so that they win.
override CFLAGS := -std=gnu11 -D_GNU_SOURCE -O2 -g $(WARN) $(HARDEN) -MMD -MP -I$(BUILD)/gen \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS) $(CFLAGS)
override LDFLAGS := -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS) $(LDFLAGS)
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# The hook and the sidecar run at every container start: linked with the
# libraries' static archives where the -dev packages ship them (Debian's
# libuv is libuv_a.a), so that the dynamic loader has only libc to map and
# relocate (on the 2-core VM: 3.3 to 2.6 ms from exec to exit for the
# sidecar, and a sidecar's private relocated pages shared in one binary).
# Without all four, dynamically, as everything else.
archive = $(firstword $(foreach a,$(1),$(filter /%,$(shell $(CC) -print-file-name=$(a)))))
STATIC_ARCHIVES := $(call archive,libseccomp.a) $(call archive,libcap.a) $(call archive,libjson-c.a) \
	$(call archive,libuv_a.a libuv.a)
START_LIBS := $(if $(word 4,$(STATIC_ARCHIVES)),$(STATIC_ARCHIVES) -lpthread -ldl -lrt,$(LIBS))
# And with libc too, as a static PIE (still loaded at a random address), when
# all four archives and libc's static start file are there and no sanitizer
# is in the build (its runtime is a shared library): no dynamic loader at
# all, 0.9 ms less from exec to exit for the sidecar on the 2-core VM. libuv
# brings uv_os_get_passwd, whose getpwuid_r the linker warns of; nothing
# here calls it (uids.c reads the files with fgetpwent, no NSS).
STATIC_PIE := $(if $(and $(word 4,$(STATIC_ARCHIVES)),$(filter /%,$(shell $(CC) -print-file-name=rcrt1.o)),$(if $(findstring sanitize,$(EXTRA_LDFLAGS) $(LDFLAGS)),,y)),y)
START_LDFLAGS := $(if $(STATIC_PIE),$(filter-out -pie,$(LDFLAGS)) -static-pie,$(LDFLAGS))

BASE_SRC := $(wildcard base/*.c)
OCI_SRC := $(wildcard oci/*.c) $(BASE_SRC)
LIB_SRC := $(wildcard lib/*.c)
CTL_SRC := $(wildcard ctl/*.c)
HOOK_SRC := $(wildcard hook/*.c)
TABLE_SRC := $(wildcard table/*.c)
SIDECAR_SRC := $(wildcard sidecar/*.c)
WRAP_SRC := $(wildcard wrap/*.c)
UNIT_SRC := $(wildcard tests/unit/test-*.c)

OCI_OBJ := $(OCI_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ := $(CTL_SRC:%.c=$(BUILD)/%.o)
HOOK_OBJ := $(HOOK_SRC:%.c=$(BUILD)/%.o)
TABLE_OBJ := $(TABLE_SRC:%.c=$(BUILD)/%.o)
SIDECAR_OBJ := $(SIDECAR_SRC:%.c=$(BUILD)/%.o)
WRAP_OBJ := $(WRAP_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

PROGRAMS := $(BUILD)/portsidectl $(BUILD)/portside-hook $(BUILD)/portside-sidecar $(BUILD)/portside-runc \
	$(BUILD)/portside-crun
# Helpers the integration tests put into their containers: static, no sanitizer.
TEST_HELPERS := $(BUILD)/tests/udp-echo $(BUILD)/tests/hostile $(BUILD)/tests/faults $(BUILD)/tests/stall
# make bench's own programs: the yardstick forwarder, the many-connections
# client and server (static: its server runs in the bench's busybox container),
# and the client that times a live change of the port table.
BENCH_BIN := $(BUILD)/bench/minfwd $(BUILD)/bench/conns $(BUILD)/bench/liveprobe

.PHONY: FORCE all check unit integration asan fuzz fuzz-long fuzz-build soak demo bench deps deps-if-missing install uninstall deb \
	clean fmt fmt-check lint

all: $(PROGRAMS) $(UNIT_BIN) $(TEST_HELPERS)

$(BUILD)/tests/udp-echo: tests/helpers/udp-echo.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -static -o $@ $<

$(BUILD)/tests/hostile: tests/helpers/hostile.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -static -o $@ $<

$(BUILD)/tests/faults: tests/helpers/faults.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -static -o $@ $<

$(BUILD)/tests/stall: tests/helpers/stall.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -static -o $@ $<

$(BUILD)/bench/minfwd: tests/bench/minfwd.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/bench/conns: tests/bench/conns.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 $(WARN) -static -o $@ $<

$(BUILD)/bench/liveprobe: tests/bench/liveprobe.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# The installed paths (and the version) the programs name, from PREFIX as it
# is now: rewritten only when it changes, so that `make` then `make install
# PREFIX=/usr` rebuilds what names them instead of installing /usr/local paths.
PATHS_H := $(BUILD)/gen/paths.h
# Where portsidectl looks for podman, crictl and ctr, and portside-runc for
# runc and crun: the system's directories, and
# its own BINDIR when that is not one of them (so an install with PREFIX=/usr
# names no /usr/local path).
SYSTEM_PATH := /usr/sbin:/usr/bin:/sbin:/bin
TOOL_PATH := $(if $(filter $(BINDIR),$(subst :, ,$(SYSTEM_PATH))),,$(BINDIR):)$(SYSTEM_PATH)
$(PATHS_H): FORCE
	@mkdir -p $(@D)
	@{ echo '/* Generated by the Makefile from PREFIX; do not edit. */'; \
	  echo '#define PORTSIDE_VERSION "$(VERSION)"'; \
	  echo '#define PORTSIDE_SIDECAR_PATH "$(SIDECAR_PATH)"'; \
	  echo '#define PORTSIDE_HOOK_PATH "$(HOOK_PATH)"'; \
	  echo '#define PORTSIDE_TOOL_PATH "$(TOOL_PATH)"'; \
	  echo '#define PORTSIDE_SIDECAR_UID_BASE $(SIDECAR_UID_BASE)u'; \
	  echo '#define PORTSIDE_SIDECAR_UID_COUNT $(SIDECAR_UID_COUNT)u'; } >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/hook/create.o $(BUILD)/hook/main.o $(BUILD)/ctl/inject.o $(BUILD)/ctl/main.o $(BUILD)/ctl/restore.o: $(PATHS_H)
$(BUILD)/ctl/metrics.o: $(PATHS_H)
$(BUILD)/lib/uids.o $(BUILD)/ctl/ask.o $(BUILD)/tests/unit/test-ask.o $(BUILD)/wrap/main.o $(BUILD)/wrap/runtime.o: $(PATHS_H)
FORCE:

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

# The port table's one path (table/table.h), below the hook and portsidectl.
$(BUILD)/libtable.a: $(TABLE_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/libsidecar.a: $(filter-out $(BUILD)/sidecar/main.o,$(SIDECAR_OBJ))
	$(AR) rcs $@ $^

$(BUILD)/libwrap.a: $(filter-out $(BUILD)/wrap/main.o,$(WRAP_OBJ))
	$(AR) rcs $@ $^

$(BUILD)/portside-runc: $(BUILD)/wrap/main.o $(BUILD)/libwrap.a $(BUILD)/libportside.a $(BUILD)/liboci.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# One program, two names: the name says which runtime it runs.
$(BUILD)/portside-crun: $(BUILD)/portside-runc
	ln -sf portside-runc $@

$(BUILD)/portsidectl: $(BUILD)/ctl/main.o $(BUILD)/libctl.a $(BUILD)/libtable.a $(BUILD)/libportside.a $(BUILD)/liboci.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/portside-hook: $(BUILD)/hook/main.o $(BUILD)/libhook.a $(BUILD)/libtable.a $(BUILD)/libportside.a $(BUILD)/liboci.a
	$(CC) $(CFLAGS) $(START_LDFLAGS) -o $@ $^ $(START_LIBS)

# The sidecar's seccomp filters, compiled once here rather than at every
# start (sidecar/bpf.h): by a generator linked with the very lists the
# sidecar passes, run on this machine.
SECCOMP_BPF := $(BUILD)/gen/seccomp_bpf.o
$(BUILD)/gen/bpfgen: $(BUILD)/sidecar/bpfgen/bpfgen.o $(BUILD)/libsidecar.a $(BUILD)/libportside.a $(BUILD)/liboci.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/gen/seccomp_bpf.c: $(BUILD)/gen/bpfgen
	$< >$@.tmp && mv $@.tmp $@
$(SECCOMP_BPF): $(BUILD)/gen/seccomp_bpf.c
	$(CC) $(CFLAGS) -I. -c -o $@ $<

$(BUILD)/portside-sidecar: $(BUILD)/sidecar/main.o $(SECCOMP_BPF) $(BUILD)/libsidecar.a $(BUILD)/libportside.a \
		$(BUILD)/liboci.a
	$(CC) $(CFLAGS) $(START_LDFLAGS) -o $@ $^ $(START_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(SECCOMP_BPF) $(BUILD)/libctl.a $(BUILD)/libsidecar.a $(BUILD)/libhook.a \
		$(BUILD)/libwrap.a $(BUILD)/libtable.a $(BUILD)/libportside.a $(BUILD)/liboci.a
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
	PORTSIDE_BUILD=$(abspath $(BUILD)) bats --tap --timing tests/integration

demo: deps-if-missing
	$(MAKE) all
	PORTSIDE_BUILD=$(abspath $(BUILD)) packaging/demo.sh

# One container behind every path (bridge, podman -p, portside, docker-proxy,
# socat, a minimal splice forwarder): throughput, CPU, new connections/s,
# latency, redis, memory; then the sidecar at scale. Not part of check.
bench: deps-if-missing
	@packaging/deps.sh --bench --if-missing
	$(MAKE) all $(BENCH_BIN)
	PORTSIDE_BUILD=$(BUILD) tests/bench/run.sh

# Start/stop cycles under runc and podman with sidecars and containers
# killed on the way; then nothing may be left. Not part of check.
soak: deps-if-missing
	$(MAKE) all
	PORTSIDE_BUILD=$(abspath $(BUILD)) tests/soak/run.sh

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
fuzz: deps-if-missing fuzz-build
	@BUILD=$(BUILD) FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh

# Each target FUZZ_LONG_TIME seconds (10 min), two at once; the inputs that
# grew coverage are merged into tests/fuzz/corpus/. Not part of check.
FUZZ_LONG_TIME ?= 600
FUZZ_LONG_JOBS ?= 2
fuzz-long: deps-if-missing fuzz-build
	@BUILD=$(BUILD) FUZZ_TIME=$(FUZZ_LONG_TIME) FUZZ_KEEP=1 FUZZ_JOBS=$(FUZZ_LONG_JOBS) tests/fuzz/run.sh

# The parsers a container's author feeds (oci/), the JSON grammar check, and
# the codecs portsidectl reads sidecars' files and replies with.
FUZZ_SRC := $(OCI_SRC) lib/events.c lib/reply.c lib/forwards.c lib/ctlcodec.c
fuzz-build:
	@mkdir -p $(BUILD)/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
		clang $(FUZZ_FLAGS) -o $(BUILD)/fuzz/fuzz-$$t tests/fuzz/fuzz-$$t.c $(FUZZ_SRC) \
			$$($(PKG_CONFIG) --libs json-c); \
	done

# ---- install ----

# Manual pages, each installed into manN/ after its suffix.
MAN_PAGES := $(wildcard packaging/man/*.[1-8])

install: all
	install -D -m 0755 $(BUILD)/portsidectl $(DESTDIR)$(BINDIR)/portsidectl
	install -D -m 0755 $(BUILD)/portside-hook $(DESTDIR)$(HOOK_PATH)
	install -D -m 0755 $(BUILD)/portside-sidecar $(DESTDIR)$(SIDECAR_PATH)
	install -D -m 0755 $(BUILD)/portside-runc $(DESTDIR)$(WRAPPER_PATH)
	ln -sf portside-runc $(DESTDIR)$(LIBEXECDIR)/portside/portside-crun
	# The node installer for containerd (packaging/kubernetes): its default
	# wrapper is the one this PREFIX installs, which runs runc from TOOL_PATH.
	sed -e 's|^default_wrapper=.*|default_wrapper=$(WRAPPER_PATH)|' -e 's|^runtime_path=.*|runtime_path=$(TOOL_PATH)|' \
		packaging/kubernetes/portside-node >$(DESTDIR)$(NODE_PATH)
	chmod 0755 $(DESTDIR)$(NODE_PATH)
	install -D -m 0644 packaging/policy/cloud-ide.json $(DESTDIR)$(DATADIR)/portside/policy-cloud-ide.json
	install -d $(DESTDIR)$(HOOKSDIR)
	# The hooks.d file hands the hook the sidecar's installed path (--sidecar):
	# whatever PREFIX the programs were built with, the two agree.
	sed -e 's|@HOOK@|$(HOOK_PATH)|' -e 's|@SIDECAR@|$(SIDECAR_PATH)|' packaging/hooks.d/portside.json.in \
		>$(DESTDIR)$(HOOKSDIR)/portside.json
	chmod 0644 $(DESTDIR)$(HOOKSDIR)/portside.json
	for m in $(MAN_PAGES); do \
		install -D -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/} || exit 1; \
	done
	install -D -m 0644 packaging/completion/portsidectl.bash $(DESTDIR)$(BASHCOMPDIR)/portsidectl
	install -d $(DESTDIR)$(SYSTEMDDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|' -e 's|@TEXTFILE_DIR@|$(TEXTFILE_DIR)|g' packaging/systemd/portside-metrics.service.in \
		>$(DESTDIR)$(SYSTEMDDIR)/portside-metrics.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/portside-metrics.service
	install -m 0644 packaging/systemd/portside-metrics.timer $(DESTDIR)$(SYSTEMDDIR)/portside-metrics.timer

uninstall:
	rm -f $(DESTDIR)$(HOOKSDIR)/portside.json
	rm -f $(DESTDIR)$(BINDIR)/portsidectl
	rm -f $(DESTDIR)$(HOOK_PATH)
	rm -f $(DESTDIR)$(SIDECAR_PATH)
	rm -f $(DESTDIR)$(WRAPPER_PATH) $(DESTDIR)$(LIBEXECDIR)/portside/portside-crun
	rm -f $(DESTDIR)$(NODE_PATH)
	-rmdir $(DESTDIR)$(LIBEXECDIR)/portside 2>/dev/null
	rm -f $(DESTDIR)$(DATADIR)/portside/policy-cloud-ide.json
	-rmdir $(DESTDIR)$(DATADIR)/portside 2>/dev/null
	for m in $(MAN_PAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	rm -f $(DESTDIR)$(BASHCOMPDIR)/portsidectl
	rm -f $(DESTDIR)$(SYSTEMDDIR)/portside-metrics.service $(DESTDIR)$(SYSTEMDDIR)/portside-metrics.timer

# A Debian package from the tree: portside_VERSION_ARCH.deb in the top folder.
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB = portside_$(VERSION)_$(DEB_ARCH).deb
deb: $(DEB)
$(DEB): packaging/deb/control.in packaging/deb/postrm packaging/hooks.d/portside.json.in $(MAN_PAGES) \
		packaging/completion/portsidectl.bash packaging/kubernetes/portside-node \
		packaging/systemd/portside-metrics.service.in packaging/systemd/portside-metrics.timer \
		$(OCI_SRC) $(LIB_SRC) $(CTL_SRC) $(HOOK_SRC) $(TABLE_SRC) $(SIDECAR_SRC) $(WRAP_SRC)
	rm -rf $(BUILD)/deb
	# Built apart, with PREFIX=/usr: the hook finds the sidecar by its
	# installed path, compiled in.
	$(MAKE) BUILD=$(BUILD)/deb-build PREFIX=/usr DESTDIR=$(abspath $(BUILD)/deb) install
	strip --strip-unneeded $(BUILD)/deb/usr/bin/portsidectl $(BUILD)/deb/usr/libexec/oci/hooks.d/portside-hook \
		$(BUILD)/deb/usr/libexec/portside/portside-sidecar $(BUILD)/deb/usr/libexec/portside/portside-runc
	# Debian ships manual pages compressed (-n: no name or time inside, so
	# that two builds of one tree give the same package).
	gzip -9n $(BUILD)/deb/usr/share/man/man*/*
	install -d $(BUILD)/deb/DEBIAN
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
		-e "s|@SIZE@|$$(du -sk $(BUILD)/deb/usr | cut -f1)|" packaging/deb/control.in >$(BUILD)/deb/DEBIAN/control
	install -m 0755 packaging/deb/postrm $(BUILD)/deb/DEBIAN/postrm
	dpkg-deb --root-owner-group --build $(BUILD)/deb $@

clean:
	rm -rf build portside_*.deb

# ---- style ----

FMT_FILES := $(wildcard base/*.[ch] oci/*.[ch] lib/*.[ch] ctl/*.[ch] hook/*.[ch] table/*.[ch] sidecar/*.[ch] sidecar/bpfgen/*.c wrap/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c tests/helpers/*.c \
	tests/bench/*.c)
fmt:
	clang-format -i $(FMT_FILES)
fmt-check:
	clang-format --dry-run --Werror $(FMT_FILES)
	@# `! cmd` alone on a line of a bats test never fails it (set -e ignores a
	@# negated status): write `refute cmd` (tests/integration/helpers.bash).
	@if grep -nE '^[[:space:]]*! ' tests/integration/*.bats | grep -v '||'; then \
		echo "fmt-check: a negated command cannot fail a bats test; use refute" >&2; exit 1; fi

-include $(shell find $(BUILD) -type f -name '*.d' 2>/dev/null)
