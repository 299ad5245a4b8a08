#!/bin/sh
# run-campaigns.sh BINDIR — run the reliability campaigns
# (tests/integration/test_campaign_*.py) against the programs in BINDIR,
# in their long form unless CAMPAIGN_KILLS is set (make check-long);
# print one closing line "N passed, N failed" (suites) and exit non-zero
# if any failed.  `make check` runs the same suites in their short form
# through run-all.sh.
set -u
bindir=${1:-bin}
: "${CAMPAIGN_KILLS:=100}"
export CAMPAIGN_KILLS
passed=0
failed=0
failures=""
for t in tests/integration/test_campaign_*.py; do
	echo "== campaign: $(basename "$t") (CAMPAIGN_KILLS=$CAMPAIGN_KILLS)"
	if SWINGSET_BIN="$bindir" python3 "$t"; then passed=$((passed + 1)); else
		failed=$((failed + 1)); failures="$failures $(basename "$t")"
	fi
done
[ -n "$failures" ] && echo "failed suites:$failures"
echo "campaign suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
