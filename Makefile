# swingsetd — plain Makefile: settings, programs, object lists, rules,
# deps, check, install.  `make` builds bin/swingsetd and bin/swingctl.

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
BUILD    ?= build
BIN      := bin

WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
            -Wshadow -Wpointer-arith -Wcast-qual -Wsign-compare
PKGS     := lmdb jansson libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

CFLAGS   ?= -O2 -g
# -pthread: the daemon has two helper threads beside its loop, the heap
# snapshot store's I/O thread (daemon/store/snapio.c) and the log
# writer (protocol/log.c).
CFLAGS   += -std=c11 -D_GNU_SOURCE -pthread $(WARN) -I. $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += -pthread
LDLIBS   += $(PKG_LIBS) -lev

# `make SANITIZE=1 …` builds everything with ASan+UBSan into a separate
# build tree, so sanitized and plain objects never mix.
ifeq ($(SANITIZE),1)
BUILD    := build-san
BIN      := bin-san
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif

# ---- object lists -------------------------------------------------------

PROTOCOL_OBJS := protocol/netstring.o protocol/control_msg.o \
                 protocol/control_ops.o protocol/control_devices.o \
                 protocol/log.o \
                 protocol/smallcaps.o protocol/capdata.o
CONF_OBJS     := conf/config.o conf/config_keys.o conf/config_entry.o \
                 conf/config_dump.o
WORKERS_OBJS  := workers/worker.o workers/spawn.o workers/worker_output.o \
                 workers/worker_snap.o \
                 workers/supervisor.o workers/vatworker.o workers/manager.o
# daemon/ and its rooms, one list a folder (each folder has one contract
# header).  Calls run downward: process → kernel → vats and
# devices → workers; everything may use store and bundles.
STORE_OBJS    := daemon/store/store.o daemon/store/txn.o \
                 daemon/store/hash.o daemon/store/open.o \
                 daemon/store/redo.o \
                 daemon/store/kv.o daemon/store/snapshots.o \
                 daemon/store/snapcheck.o daemon/store/snapio.o
BUNDLES_OBJS  := daemon/bundles/bundles.o daemon/bundles/endo.o \
                 daemon/bundles/zip.o
VATS_OBJS     := daemon/vats/table.o daemon/vats/online.o \
                 daemon/vats/snapshot.o daemon/vats/transcript.o
DEVICES_OBJS  := daemon/devices/vat_admin.o daemon/devices/common.o \
                 daemon/devices/timer.o daemon/devices/mailbox.o \
                 daemon/devices/bridge.o
KERNEL_OBJS   := daemon/kernel/crank.o daemon/kernel/deliver.o \
                 daemon/kernel/terminate.o daemon/kernel/create.o \
                 daemon/kernel/genesis.o daemon/kernel/boot.o \
                 daemon/kernel/host.o daemon/kernel/route.o \
                 daemon/kernel/syscall.o daemon/kernel/vatstore.o \
                 daemon/kernel/promise.o daemon/kernel/clist.o \
                 daemon/kernel/state.o daemon/kernel/meter.o \
                 daemon/kernel/device_host.o daemon/kernel/answer.o \
                 daemon/kernel/device_ops.o daemon/kernel/bridge.o \
                 daemon/kernel/refcount.o daemon/kernel/gc.o \
                 daemon/kernel/gc_syscall.o daemon/kernel/reap.o \
                 daemon/kernel/cleanup.o daemon/kernel/stats.o
DAEMON_OBJS   := daemon/swingsetd.o daemon/control.o daemon/client.o \
                 daemon/ops.o daemon/ops_bridge.o \
                 daemon/notify.o daemon/lockfile.o daemon/xsnap_env.o \
                 $(KERNEL_OBJS) $(VATS_OBJS) $(DEVICES_OBJS) \
                 $(BUNDLES_OBJS) $(STORE_OBJS) $(WORKERS_OBJS) \
                 $(CONF_OBJS) $(PROTOCOL_OBJS)
SWINGCTL_OBJS := tools/swingctl.o tools/ctl_client.o tools/ctl_output.o \
                 $(PROTOCOL_OBJS)

# Unit suites link only what they test (plus protocol/log.o).
UNIT_TESTS := check_netstring check_control_msg check_config check_store \
              check_snapstore check_worker check_bundle check_log \
              check_smallcaps check_supervisor check_stats
check_netstring_OBJS   := tests/unit/check_netstring.o protocol/netstring.o
check_log_OBJS         := tests/unit/check_log.o protocol/log.o
check_control_msg_OBJS := tests/unit/check_control_msg.o \
                          protocol/control_msg.o protocol/control_ops.o \
                          protocol/control_devices.o protocol/capdata.o \
                          protocol/smallcaps.o
check_config_OBJS      := tests/unit/check_config.o $(CONF_OBJS)
check_smallcaps_OBJS   := tests/unit/check_smallcaps.o protocol/smallcaps.o
check_supervisor_OBJS  := tests/unit/check_supervisor.o workers/supervisor.o
check_store_OBJS       := tests/unit/check_store.o $(STORE_OBJS) protocol/log.o
check_stats_OBJS       := tests/unit/check_stats.o daemon/kernel/stats.o \
                          $(STORE_OBJS) protocol/log.o
check_snapstore_OBJS   := tests/unit/check_snapstore.o $(STORE_OBJS) \
                          protocol/log.o
check_worker_OBJS      := tests/unit/check_worker.o $(WORKERS_OBJS) \
                          protocol/netstring.o protocol/log.o
check_bundle_OBJS      := tests/unit/check_bundle.o $(BUNDLES_OBJS) \
                          $(STORE_OBJS) protocol/log.o

# The native test worker: every .c under workers/testworker/.
TESTWORKER_OBJS := $(patsubst %.c,%.o,$(wildcard workers/testworker/*.c)) \
                 protocol/netstring.o protocol/smallcaps.o
BENCH_OBJS    := bench/bench_control.o tools/ctl_client.o $(PROTOCOL_OBJS)

PROGRAMS   := $(BIN)/swingsetd $(BIN)/swingctl
ifneq ($(wildcard workers/testworker/*.c),)
PROGRAMS   += $(BIN)/testworker
endif
UNIT_BINS  := $(addprefix $(BIN)/tests/,$(UNIT_TESTS))

all: $(PROGRAMS)

# ---- rules --------------------------------------------------------------

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BIN)/swingsetd: $(addprefix $(BUILD)/,$(DAEMON_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/swingctl: $(addprefix $(BUILD)/,$(SWINGCTL_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/testworker: $(addprefix $(BUILD)/,$(TESTWORKER_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/bench_control: $(addprefix $(BUILD)/,$(BENCH_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/bench_pingpong: $(addprefix $(BUILD)/,bench/bench_pingpong.o \
    bench/bench_util.o tools/ctl_client.o $(PROTOCOL_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/bench_statuslat: $(BUILD)/bench/bench_statuslat.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(BIN)/bench_create: $(addprefix $(BUILD)/,bench/bench_create.o \
    bench/bench_util.o tools/ctl_client.o $(PROTOCOL_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.SECONDEXPANSION:
$(BIN)/tests/%: $$(addprefix $(BUILD)/,$$(%_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/%.o: CFLAGS += $(CHECK_CFLAGS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- set-up -------------------------------------------------------------

DEB_PKGS := libev-dev liblmdb-dev libjansson-dev check libssl-dev \
            pkg-config lmdb-utils python3 clang libclang-rt-14-dev

deps:
	@sh tools/install-deps.sh $(DEB_PKGS)
	@$(MAKE) --no-print-directory xsnap jskernel

# ---- the real xsnap worker ----------------------------------------------
# `make xsnap` installs the pinned @agoric packages of workers/xsnap with
# npm ci and builds Agoric's xsnap-worker from the sources they ship
# (workers/xsnap/README.md).  Needs the npm registry the first time.  Part
# of deps, so check, demo and bench have it on a fresh machine.

XSNAP_DIR    := workers/xsnap
XSNAP_STAMP  := $(XSNAP_DIR)/node_modules/.swingsetd-npm-ci
XSNAP_WORKER := $(XSNAP_DIR)/node_modules/@agoric/xsnap/xsnap-native/xsnap/build/bin/lin/release/xsnap-worker

XSNAP_VATADMIN := $(XSNAP_DIR)/build/vat-admin.bundle.json
XSNAP_VATTIMER := $(XSNAP_DIR)/build/vat-timer.bundle.json

xsnap: $(XSNAP_WORKER) $(XSNAP_VATADMIN) $(XSNAP_VATTIMER)
	@sh $(XSNAP_DIR)/build.sh verify

# one stage bundles both vats; the timer vat's target names it too, so a
# checkout built before it existed gets it
$(XSNAP_VATADMIN) $(XSNAP_VATTIMER): $(XSNAP_STAMP) $(XSNAP_DIR)/bundle.mjs
	@sh $(XSNAP_DIR)/build.sh vat-admin

$(XSNAP_STAMP): $(XSNAP_DIR)/package.json $(XSNAP_DIR)/package-lock.json
	@sh $(XSNAP_DIR)/build.sh ci

$(XSNAP_WORKER): $(XSNAP_STAMP)
	@sh $(XSNAP_DIR)/build.sh worker

clean-xsnap:
	rm -rf $(XSNAP_DIR)/node_modules $(XSNAP_DIR)/build

# `make jskernel` builds better-sqlite3 (and checks microtime), the native
# addons of Agoric's JavaScript kernel that tests/jskernel/run-swingset.mjs
# runs as the reference for the daemon.  Part of deps (test_xsnap.py and
# make bench compare with it).
jskernel: xsnap
	@sh $(XSNAP_DIR)/build.sh jskernel

.PHONY: jskernel

# ---- tests --------------------------------------------------------------

# The JavaScript kernel's outputs are kept in JS_RESULTS, by a hash of all
# they depend on (test_xsnap.js_kernel): `make check SANITIZE=1` after
# `make check` compares with the outputs the first run got.
JS_RESULTS ?= $(CURDIR)/.jskernel-results

# The sanitized pass runs each hostile-worker scenario once (the plain
# pass ran each twice and compared their histories).
HOSTILE_RUNS := $(if $(filter 1,$(SANITIZE)),1,2)

check: deps
	$(MAKE) all units fuzz-build
	@FUZZ_BIN=$(FUZZ_BIN) FUZZ_SHORT_SECONDS=$(FUZZ_SHORT_SECONDS) \
	    SWINGSET_JS_RESULTS=$(JS_RESULTS) HOSTILE_RUNS=$(HOSTILE_RUNS) \
	    sh tests/run-all.sh $(BIN)

units: $(UNIT_BINS)

# The reliability campaigns in their long form: 100 kill points
# (CAMPAIGN_KILLS) instead of check's 20, and the hostile-worker
# scenarios; several minutes.  `make check-long SANITIZE=1` too.
CAMPAIGN_KILLS ?= 100

check-long: deps
	$(MAKE) all units
	@CAMPAIGN_KILLS=$(CAMPAIGN_KILLS) sh tests/run-campaigns.sh $(BIN)

demo: deps
	$(MAKE) all
	@sh tools/demo.sh $(BIN)

bench: deps
	$(MAKE) all $(BIN)/bench_control $(BIN)/bench_pingpong \
	    $(BIN)/bench_create $(BIN)/bench_statuslat
	@sh bench/run.sh $(BIN)

# libFuzzer harnesses: make fuzz, fuzz-short, fuzz-build (clang, build-fuzz/).
include tests/fuzz/fuzz.mk

# ---- install ------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/swingsetd \
	    $(DESTDIR)$(PREFIX)/share/doc/swingsetd \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(BIN)/swingsetd $(BIN)/swingctl $(BIN)/testworker \
	    $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 conf/example-swingset.json \
	    $(DESTDIR)$(PREFIX)/share/swingsetd/
	install -m 0644 README.md docs/state.md \
	    $(DESTDIR)$(PREFIX)/share/doc/swingsetd/
	sed 's|@PREFIX@|$(PREFIX)|g' conf/swingsetd.service > \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/swingsetd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/swingsetd.service

clean:
	rm -rf build build-san bin bin-san .jskernel-results

.PHONY: all deps check check-long units demo bench install clean xsnap \
	clean-xsnap
.SECONDARY:
