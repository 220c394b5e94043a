#!/bin/bash
# boot_smp.sh: the native multicore primitives, booted in QEMU.
#
# app/smp.c uses core_count, core_sleep, core_wake, irq_alloc and
# irq_poll directly (the runtime has called cores_start), and ends with
# "smp: N cores ok"; kernel/acpi.c, lapic.c, irq.c, smp.c and boot.S's
# AP path do the work.  It is booted on 1, 2, 4 and 8 cores, on QEMU's
# default CPU model, with sparse APIC ids, and with processors the MADT
# lists as disabled; and run hosted, on threads, once.  The hello app on
# four cores checks that the event loops run on these primitives.
# Cores that start late: with smpwait=0 core 0 gives processors up at
# once and they come after it has moved on; the boot must go on with
# the ones that called in, nothing corrupted.  And hello on 2 and 4
# cores while every host CPU is kept busy: every core must still come.
#
# Same protocol as boot.sh (checks in test/lib.sh): each test runs one
# boot under a timeout and checks its exit status and output; PASS lines
# carry the run's wall time, QEMU's start included, and the wake round
# trip the app measured.  TCG always; KVM too when the host has hardware
# virtualization (the vmx or svm flag and a usable /dev/kvm), and then
# the x2APIC path runs (-cpu host).
. "$(dirname "$0")/lib.sh" smp

# After PASS: the run's wall time and the wake round trip the app measured.
check_note() {
	local note="$((ms / 1000)).$(printf %03d $((ms % 1000))) s wall"
	if grep -qE '^smp: wake round trip' "$out.txt"; then
		note="$note, wake round trip avg $(sed -nE 's/^smp: wake round trip.*avg ([0-9]+ ns).*/\1/p' "$out.txt")"
	fi
	echo "$note"
}

# timed COMMAND...: run it under a timeout; output in $out, wall time
# in $ms, its status returned.
timed() {
	local t0 rc
	t0=$(date +%s%N)
	timeout 60 "$@" </dev/null >"$out" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	return $rc
}

# boot ACCEL CPUS APP [QEMU options...]: boot an image, timed.
boot() {
	local accel=$1 cpus=$2 app=$3
	shift 3
	ACCEL=$accel CPUS=$cpus MEM=256M ARGS= timed test/qemu.sh "build/native/$app.elf32" "$@"
}

# The patterns every smp run on n cores prints; in $pats.
expect() {
	local n=$1 s=s
	[ "$n" -eq 1 ] && s=
	pats=("^smp: $n core$s running, [0-9]+ ms to start$" "^smp: core_count $n$"
		"^smp: core 0: self-wake [0-9]+ us, past deadline [0-9]+ us, 10 ms sleep [0-9]+ us$"
		"^smp: $n core$s ok$"
		"!did not start" "!FAIL" "!stray")
	if [ "$n" -gt 1 ]; then
		pats+=("^smp: core $((n - 1)) up \(apic id [0-9]+\)$"
			"^smp: $((n - 1)) workers? running$"
			"^smp: wake round trip 0 -> k -> 0: min [0-9]+ ns, avg [0-9]+ ns"
			"^smp: 5 ms sleeps on the other cores took at most [0-9]+ us$")
	fi
}

for a in $accels; do
	for n in 1 2 4 8; do
		boot "$a" "$n" smp
		rc=$?
		expect "$n"
		check "smp.cpus$n.$a" 0 $rc "${pats[@]}" '^smp: irq_alloc gave 192 vectors$'
	done
done

# QEMU's default CPU model (no x2APIC, fewer features than -cpu max).
boot tcg 4 smp -cpu qemu64
rc=$?
expect 4
check smp.qemu64 0 $rc "${pats[@]}" '^lapic: xAPIC'

# Two sockets of three cores: APIC ids 0-2 and 4-6, core ids still dense.
boot tcg 6 smp -smp 6,sockets=2,cores=3
rc=$?
expect 6
check smp.sparse_apic_ids 0 $rc "${pats[@]}" '^smp: core 3 up \(apic id 4\)$' \
	'^smp: core 5 up \(apic id 6\)$'

# Room for four, two present: the MADT's disabled entries are skipped.
boot tcg 2 smp -smp 2,maxcpus=4
rc=$?
expect 2
check smp.maxcpus 0 $rc "${pats[@]}" '^acpi: [A-Z]{4} lists 2 processors'

# The event loops on these primitives: hello blocks on a future the
# last core resolves, greets every core from its own loop (spawn_on wakes
# sleeping cores with core_wake), then a 10 ms timer on core 0
# (core_sleep's deadline) ends it: it must not fire early, nor more than
# 40 ms late.
for n in 1 2 4 8; do
	pats=('^hello from core 0$' "^future resolved on core $((n - 1)): $((4200 + n - 1)), back on core 0$"
		'^timer fired after (1[0-9]|[2-4][0-9]) ms$')
	for ((c = 1; c < n; c++)); do pats+=("^hello from core $c$"); done
	boot tcg "$n" hello
	check "smp.event_loops.cpus$n" 0 $? "${pats[@]}"
done

# Cores that start late.  With smpwait=0 core 0 gives every processor
# up as soon as its SIPIs are sent, so most come after it has moved on:
# each must find nothing to take (kernel/smp.c, boot.S's call-in) and
# the boot must go on with the ones that made it, every core that says
# "up" running a worker.  Several boots, since which ones come late varies.
for i in 1 2 3; do
	ACCEL=tcg CPUS=4 MEM=256M ARGS=smpwait=0 timed test/qemu.sh build/native/smp.elf32
	rc=$?
	tr -d '\r' <"$out" >"$out.txt"
	late=$(grep -c 'did not start within 0 ms; left out$' "$out.txt")
	expect $((4 - late))
	keep=()
	for p in "${pats[@]}"; do [ "$p" = '!did not start' ] || keep+=("$p"); done
	check "smp.late_cores.$i" 0 $rc "${keep[@]}"
done

# A busy host: every host CPU kept busy (one busy loop each, plus one)
# while hello boots on 2 and 4 cores; under TCG a core's thread may then
# wait long to run, and every core must still come (kernel/smp.c waits
# up to AP_START_MS, 10 s, for each).
busy=
for ((i = 0; i <= $(nproc); i++)); do
	while :; do :; done &
	busy="$busy $!"
done
for n in 2 4; do
	pats=('^hello from core 0$' "^future resolved on core $((n - 1)): $((4200 + n - 1)), back on core 0$"
		"^smp: $n cores running" '!did not start')
	for ((c = 1; c < n; c++)); do pats+=("^hello from core $c$"); done
	boot tcg "$n" hello
	check "smp.busy_host.cpus$n" 0 $? "${pats[@]}"
done
# shellcheck disable=SC2086
kill $busy
wait $busy 2>/dev/null

# A multicore Ebb on every core: each core's rep is made on its first
# call, and its Ebb table page faults in on that core (per-core PML4s).
boot tcg 4 counter
check smp.ebb_counter 0 $? '^counter: 1000000 adds on each of 4 cores, .* sum 4000000: ok$'

# The same app on the hosted runtime's threads.
timed build/hosted/smp --cpus 4
check hosted.smp 0 $? '^smp: 3 workers running$' '^smp: wake round trip' \
	'^smp: irq_alloc gave 0 vectors$' '^smp: 4 cores ok$' '!FAIL'

exit $failed
