#!/bin/sh
# run-all.sh BINDIR — run every unit suite and every integration suite
# against the programs in BINDIR; print one closing line
# "N passed, N failed" (suites) and exit non-zero if any failed.
set -u
bindir=${1:-bin}
passed=0
failed=0
failures=""
for t in "$bindir"/tests/check_*; do
	[ -x "$t" ] || continue
	echo "== unit: $(basename "$t")"
	if "$t"; then passed=$((passed + 1)); else
		failed=$((failed + 1)); failures="$failures $(basename "$t")"
	fi
done
for t in tests/integration/test_*.py; do
	echo "== integration: $(basename "$t")"
	if SWINGSET_BIN="$bindir" python3 "$t"; then passed=$((passed + 1)); else
		failed=$((failed + 1)); failures="$failures $(basename "$t")"
	fi
done
[ -n "$failures" ] && echo "failed suites:$failures"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
