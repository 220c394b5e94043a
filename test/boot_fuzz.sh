#!/bin/bash
# boot_fuzz.sh: the fuzz targets under libFuzzer for a bounded time each:
# fuzz.rx (test/fuzz_rx.c, the receive path) for FUZZ_SECONDS (60) and
# fuzz.tcp (test/fuzz_tcp.c, TCP's input with connections set up) for
# FUZZ_TCP_SECONDS (30), unless the environment says otherwise.
#
# Builds build/fuzz/fuzz_NAME with clang (make fuzz-build), runs each
# over its corpus in build/fuzz/corpus_NAME (kept between runs, so that
# coverage builds up), and prints "PASS fuzz.NAME (N execs in S s, C
# coverage)" from libFuzzer's final statistics, or FAIL with the crash,
# leak or sanitizer report.  SKIP when clang or its libFuzzer runtime
# (libclang-rt-*-dev) is missing.
. "$(dirname "$0")/lib.sh"	# no QEMU here: no KVM line

targets="rx:${FUZZ_SECONDS:-60} tcp:${FUZZ_TCP_SECONDS:-30}"
skip() { for t in $targets; do echo "SKIP fuzz.${t%%:*}: $1"; done; exit 0; }
if ! command -v clang >/dev/null; then
	skip "no clang (apt-get install clang)"
fi
rt=$(clang -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-x86_64.a
if [ ! -f "$rt" ]; then
	skip "no libFuzzer runtime at $rt (apt-get install libclang-rt-14-dev)"
fi
if ! make -s fuzz-build >"$out" 2>&1; then
	echo "FAIL fuzz.build: make fuzz-build failed:"
	sed 's/^/    /' "$out" | tail -40
	exit 1
fi

for t in $targets; do
	name=${t%%:*}
	secs=${t#*:}
	mkdir -p "build/fuzz/corpus_$name"
	start=$(date +%s)
	timeout $((secs + 120)) "build/fuzz/fuzz_$name" -max_total_time="$secs" \
		-print_final_stats=1 "build/fuzz/corpus_$name" >"$out" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
	cov=$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' "$out" | tail -1)
	if [ $rc -ne 0 ] || [ -z "$execs" ]; then
		echo "FAIL fuzz.$name: exit status $rc after $took s; output:"
		grep -v ' # Uses: ' "$out" | sed 's/^/    /' | tail -60
		failed=1
		continue
	fi
	echo "PASS fuzz.$name ($execs execs in $took s, ${cov:-?} coverage)"
done
exit $failed
