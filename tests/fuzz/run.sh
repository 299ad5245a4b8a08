#!/bin/sh
# run.sh BINDIR SECONDS [NAME…] — run the libFuzzer harnesses BINDIR/fuzz_NAME
# (default: all of them), one after the other, one process each.  For each:
# replay every file of tests/fuzz/corpus/NAME/ (regress-* included) once,
# then fuzz for SECONDS seconds starting from that corpus.  New corpus
# entries, crash files and logs go to $FUZZ_SCRATCH/NAME/ (default
# build-fuzz/scratch), never into the repository.  Prints one line per
# harness and a closing "fuzz: N passed, N failed"; exits non-zero if any
# harness crashed, leaked, timed out or failed a check.
set -u
bindir=${1:?usage: run.sh BINDIR SECONDS [NAME...]}
secs=${2:?usage: run.sh BINDIR SECONDS [NAME...]}
shift 2
names=${*:-netstring control frame config bundle}
scratch=${FUZZ_SCRATCH:-build-fuzz/scratch}
passed=0
failed=0

# The input a failed run names: its crash/leak/timeout file, or the corpus
# file it was running.
culprit() {
	f=$(ls "$1"/crash/* 2>/dev/null | head -n 1)
	[ -z "$f" ] && f=$(sed -n 's/^Running: //p' "$2" | tail -n 1)
	echo "${f:-unknown input}"
}

for n in $names; do
	bin=$bindir/fuzz_$n
	corpus=tests/fuzz/corpus/$n
	work=$scratch/$n
	if [ ! -x "$bin" ]; then
		echo "fuzz: fuzz_$n FAILED: $bin is not built (make fuzz-build)"
		failed=$((failed + 1))
		continue
	fi
	rm -rf "$work"
	mkdir -p "$work/new" "$work/crash" "$corpus"
	dict=""
	[ -f "tests/fuzz/$n.dict" ] && dict="-dict=tests/fuzz/$n.dict"
	opts="-timeout=10 -rss_limit_mb=2048 -artifact_prefix=$work/crash/"
	nfiles=$(find "$corpus" -type f | wc -l)
	start=$(date +%s)
	# 1. every corpus file once, by name; 2. fuzz from the corpus.
	# shellcheck disable=SC2086
	if [ "$nfiles" -gt 0 ] && ! find "$corpus" -type f -print0 |
	    xargs -0 "$bin" $opts >"$work/replay.log" 2>&1; then
		echo "fuzz: fuzz_$n FAILED replaying the corpus on" \
		    "$(culprit "$work" "$work/replay.log") (log $work/replay.log)"
		grep -E '^(fuzz_|SUMMARY|==[0-9]+==ERROR)' "$work/replay.log" |
		    head -n 5 | sed 's/^/    /'
		failed=$((failed + 1))
		continue
	fi
	# shellcheck disable=SC2086
	if ! "$bin" $opts $dict -max_total_time="$secs" -print_final_stats=1 \
	    "$work/new" "$corpus" >"$work/fuzz.log" 2>&1; then
		echo "fuzz: fuzz_$n FAILED: crash file" \
		    "$(culprit "$work" "$work/fuzz.log") (log $work/fuzz.log)"
		grep -E '^(fuzz_|SUMMARY|==[0-9]+==ERROR)' "$work/fuzz.log" |
		    head -n 5 | sed 's/^/    /'
		failed=$((failed + 1))
		continue
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
	cov=$(grep -Eo 'cov: [0-9]+' "$work/fuzz.log" | tail -n 1)
	echo "fuzz: fuzz_$n ok: $nfiles corpus files replayed, ${runs:-?} runs" \
	    "in ${secs} s (${cov:-cov: ?}), $(ls "$work/new" | wc -l) new" \
	    "inputs in $work/new, $(( $(date +%s) - start )) s in all"
	passed=$((passed + 1))
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
