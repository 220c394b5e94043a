#!/bin/bash
# run.sh: run every test suite and count the results (make test).
#
#   test/run.sh build/test/test_* ...
#
# Each hosted unit-test binary named on the command line runs under a
# timeout, then each test/boot*.sh script runs (boot.sh: the QEMU,
# hosted-program and gdb tests; others: one subsystem's boot tests).
# Every suite prints one line per test: "PASS name", "FAIL name: why" or
# "SKIP name: why".  A suite that exits non-zero without a FAIL line (a
# sanitizer report, a crash, a timeout) counts as one failure, and its
# output is shown.  The last line is "N passed, N failed" over
# everything, and the exit status is non-zero if anything failed.
set -u
pass=0
fail=0
skip=0

# Count one suite's output ($1: name, $2: exit status, $3: output file).
tally() {
	local name=$1 rc=$2 out=$3 p f s
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	s=$(grep -c '^SKIP ' "$out")
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
		cat "$out"
		if [ "$f" -eq 0 ]; then
			echo "FAIL $name: exited with status $rc without a failed check"
			f=1
		fi
	else
		grep -E '^(PASS|SKIP) ' "$out"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT

for t in "$@"; do
	echo "== $(basename "$t")"
	timeout 600 "$t" >"$out" 2>&1
	rc=$?
	tally "$(basename "$t")" $rc "$out"
done

for b in test/boot*.sh; do
	echo "== $(basename "$b" .sh)"
	timeout 1200 "$b" >"$out" 2>&1
	rc=$?
	tally "$(basename "$b" .sh)" $rc "$out"
done

if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
