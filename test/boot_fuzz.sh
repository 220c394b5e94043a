#!/bin/bash
# boot_fuzz.sh: the receive path under libFuzzer (test/fuzz_rx.c) for a
# bounded time: FUZZ_SECONDS, 60 unless the environment says otherwise.
#
# Builds build/fuzz/fuzz_rx with clang (make fuzz-build), runs it over
# the corpus in build/fuzz/corpus (kept between runs, so that coverage
# builds up), and prints "PASS fuzz.rx (N execs in S s, C coverage)"
# from libFuzzer's final statistics, or FAIL with the crash, leak or
# sanitizer report.  SKIP when clang or its libFuzzer runtime
# (libclang-rt-*-dev) is missing.
. "$(dirname "$0")/lib.sh"	# no QEMU here: no KVM line

secs=${FUZZ_SECONDS:-60}
if ! command -v clang >/dev/null; then
	echo "SKIP fuzz.rx: no clang (apt-get install clang)"
	exit 0
fi
rt=$(clang -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-x86_64.a
if [ ! -f "$rt" ]; then
	echo "SKIP fuzz.rx: no libFuzzer runtime at $rt (apt-get install libclang-rt-14-dev)"
	exit 0
fi
if ! make -s fuzz-build >"$out" 2>&1; then
	echo "FAIL fuzz.rx: make fuzz-build failed:"
	sed 's/^/    /' "$out" | tail -40
	exit 1
fi

mkdir -p build/fuzz/corpus
start=$(date +%s)
timeout $((secs + 120)) build/fuzz/fuzz_rx -max_total_time="$secs" \
	-print_final_stats=1 build/fuzz/corpus >"$out" 2>&1
rc=$?
took=$(($(date +%s) - start))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
cov=$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' "$out" | tail -1)
if [ $rc -ne 0 ] || [ -z "$execs" ]; then
	echo "FAIL fuzz.rx: exit status $rc after $took s; output:"
	grep -v ' # Uses: ' "$out" | sed 's/^/    /' | tail -60
	exit 1
fi
echo "PASS fuzz.rx ($execs execs in $took s, ${cov:-?} coverage)"
