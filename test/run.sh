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
#
# Processes (test/lib.sh, which this script sources): each suite runs
# under a tag of its own in EBB_TEST_TAGS, which every process it starts
# inherits.  When a suite ends -- by itself or by its timeout, which
# sends TERM to it and to its process group -- whatever still carries
# its tag is reaped, and counted as one failure, "FAIL NAME.cleanup",
# naming the processes: a suite must end everything it starts.  Ctrl-C
# (or TERM) ends run.sh at once, and with it every suite's processes.
#
# Environment, for a test of this script (test/boot_cleanup.sh): BOOTS,
# the boot scripts to run (default test/boot*.sh); SUITE_TIMEOUT, the
# seconds each suite may take (default 600 for a binary, 1200 for a
# script).
. "$(dirname "$0")/lib.sh" ""	# "": no KVM line (not this script's arguments)

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

# suite NAME SECS CMD: run one suite under its own tag and tally it;
# then reap what outlived it, a failure of its own.
nsuite=0
suite() {
	local name=$1 secs=$2 rc left
	shift 2
	nsuite=$((nsuite + 1))
	local tag=$test_tag.$nsuite
	echo "== $name"
	EBB_TEST_TAGS="$EBB_TEST_TAGS $tag" timeout "$secs" "$@" >"$out" 2>&1
	rc=$?
	tally "$name" $rc "$out"
	left=$(reap "$tag")
	if [ -n "$left" ]; then
		echo "FAIL $name.cleanup: processes outlived the suite (now ended):"
		echo "$left" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
}

for t in "$@"; do
	suite "$(basename "$t")" "${SUITE_TIMEOUT:-600}" "$t"
done

for b in ${BOOTS:-test/boot*.sh}; do
	suite "$(basename "$b" .sh)" "${SUITE_TIMEOUT:-1200}" "$b"
done

if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
