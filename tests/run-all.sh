#!/bin/sh
# run-all.sh BINDIR — run every unit suite and every integration suite
# against the programs in BINDIR; print one closing line
# "N passed, N failed" (suites) and exit non-zero if any failed.  With
# FUZZ_BIN set (make check sets it to bin-fuzz), the short fuzz run is one
# more suite: tests/fuzz/run.sh, FUZZ_SHORT_SECONDS (default 3) per
# harness after replaying its corpus.
set -u
bindir=${1:-bin}
# The JavaScript kernel's runs (tests/jskernel/run-swingset.mjs) keep their
# bundles here, the kernel's own among them (about 15 s to make), for the
# whole run: no suite changes a vat's source while it runs.
if [ -z "${SWINGSET_BUNDLE_CACHE:-}" ]; then
	SWINGSET_BUNDLE_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/swingset-bundles.XXXXXX")
	export SWINGSET_BUNDLE_CACHE
	trap 'rm -rf "$SWINGSET_BUNDLE_CACHE"' EXIT
fi
passed=0
failed=0
failures=""
# run_suite NAME CMD...: one suite, its verdict counted, its time printed
# (CI's whole run has a time limit: this says where the minutes go).
run_suite() {
	name=$1; shift
	t0=$(date +%s)
	if "$@"; then passed=$((passed + 1)); else
		failed=$((failed + 1)); failures="$failures $name"
	fi
	echo "== $name: $(($(date +%s) - t0)) s"
}
for t in "$bindir"/tests/check_*; do
	[ -x "$t" ] || continue
	echo "== unit: $(basename "$t")"
	run_suite "$(basename "$t")" "$t"
done
if [ -n "${FUZZ_BIN:-}" ]; then
	echo "== fuzz: short run, ${FUZZ_SHORT_SECONDS:-3} s per harness"
	run_suite fuzz sh tests/fuzz/run.sh "$FUZZ_BIN" "${FUZZ_SHORT_SECONDS:-3}"
fi
for t in tests/integration/test_*.py; do
	echo "== integration: $(basename "$t")"
	run_suite "$(basename "$t")" env SWINGSET_BIN="$bindir" python3 "$t"
done
[ -n "$failures" ] && echo "failed suites:$failures"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
