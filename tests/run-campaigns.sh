#!/bin/sh
# run-campaigns.sh BINDIR — run the reliability campaigns
# (tests/integration/test_campaign_*.py) against the programs in BINDIR,
# in their long form unless CAMPAIGN_KILLS is set (make check-long), and
# the GC churn (test_churn.py) with ten times its make-check size and the
# slow termination of a vat with 100,000 keys (test_cleanup.py);
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
# the GC churn in its long form: 20,000 objects and 20,000 promises
echo "== campaign: test_churn.py (CHURN_BATCHES=10, CHURN_PROMISES=2000)"
if SWINGSET_BIN="$bindir" CHURN_BATCHES=10 CHURN_PROMISES=2000 \
    python3 tests/integration/test_churn.py; then passed=$((passed + 1)); else
	failed=$((failed + 1)); failures="$failures test_churn.py"
fi
# the cleanup of a terminated vat at the issue's scale: 100,000 vatstore
# keys and 1,000 exports, 5,000 deletions of each kind a block
echo "== campaign: test_cleanup.py (CLEANUP_KEYS=100000, CLEANUP_OBJECTS=1000)"
if SWINGSET_BIN="$bindir" CLEANUP_KEYS=100000 CLEANUP_OBJECTS=1000 \
    CLEANUP_BUDGET=5000 python3 tests/integration/test_cleanup.py \
    Cleanup.test_budgeted_cleanup_over_many_blocks; then
	passed=$((passed + 1))
else
	failed=$((failed + 1)); failures="$failures test_cleanup.py"
fi
[ -n "$failures" ] && echo "failed suites:$failures"
echo "campaign suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
