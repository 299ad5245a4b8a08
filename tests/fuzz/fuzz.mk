# tests/fuzz/fuzz.mk — the libFuzzer harnesses of tests/fuzz/, included
# by the top Makefile.  They build with clang (FUZZ_CC) into build-fuzz/
# and bin-fuzz/, never mixed with the gcc objects of build/ and bin/.
# Each harness links only the files it tests.
#
#   make fuzz [FUZZ_SECONDS=N]   each harness N seconds (default 60)
#   make fuzz-short              each 3 s (FUZZ_SHORT_SECONDS); make check
#                                runs it as a suite of tests/run-all.sh
#   make fuzz-build              the harnesses only
#
# Both runs first replay every file of tests/fuzz/corpus/<name>/
# (regress-* included), then fuzz from it; new inputs and crash files go
# to build-fuzz/scratch/<name>/, never into the repository
# (tests/fuzz/run.sh).

FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_BIN     := bin-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SHORT_SECONDS ?= 3

FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -I. \
                $(shell pkg-config --cflags jansson libcrypto 2>/dev/null) \
                -MMD -MP -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LDFLAGS := $(FUZZ_SAN) -fsanitize=fuzzer
FUZZ_LIBS    := $(shell pkg-config --libs jansson libcrypto 2>/dev/null)

FUZZ_NAMES   := netstring control frame config bundle
fuzz_netstring_OBJS := tests/fuzz/fuzz_netstring.o protocol/netstring.o
fuzz_control_OBJS   := tests/fuzz/fuzz_control.o protocol/control_msg.o \
                       protocol/control_ops.o protocol/control_devices.o \
                       protocol/capdata.o protocol/smallcaps.o
fuzz_frame_OBJS     := tests/fuzz/fuzz_frame.o workers/supervisor.o \
                       protocol/smallcaps.o
fuzz_config_OBJS    := tests/fuzz/fuzz_config.o $(CONF_OBJS)
fuzz_bundle_OBJS    := tests/fuzz/fuzz_bundle.o daemon/bundles/zip.o \
                       daemon/bundles/endo.o

FUZZ_PROGRAMS := $(addprefix $(FUZZ_BIN)/fuzz_,$(FUZZ_NAMES))

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

define FUZZ_LINK
$(FUZZ_BIN)/fuzz_$(1): $(addprefix $(FUZZ_BUILD)/,$(fuzz_$(1)_OBJS))
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_LDFLAGS) -o $$@ $$^ $$(FUZZ_LIBS)
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_LINK,$(n))))

fuzz-build: $(FUZZ_PROGRAMS)

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_BIN) $(FUZZ_SECONDS)

fuzz-short: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_BIN) $(FUZZ_SHORT_SECONDS)

clean-fuzz:
	rm -rf $(FUZZ_BUILD) $(FUZZ_BIN)

clean: clean-fuzz

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)

.PHONY: fuzz fuzz-build fuzz-short clean-fuzz
