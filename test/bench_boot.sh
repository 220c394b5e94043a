#!/bin/bash
# bench_boot.sh: how long a boot takes, and how small the images are
# (make bench).  Prints figures beside their targets, asserts nothing.
#
# Boot time.  For each machine (q35: SeaBIOS and a PCIe chipset;
# microvm: qboot, nothing to scan) and memory size (64M, 512M, 2G), the
# median over BOOT_RUNS (5) boots under TCG of the time from the start
# of test/qemu.sh (what make run runs; it adds a few ms of its own
# before QEMU) to
#   kmain      the kernel's first line ("acpi: ...", printed right after
#              the console, the loader's data and the IDT are set up);
#   app_main   hello's first line ("hello from core 0");
#   answered   (q35, echo with NET=user) the first UDP datagram echoed
#              back through QEMU's forwarded port 7: the image booted,
#              its NIC up, DHCP done, the datagram answered.  Datagrams
#              go every 10 ms from the moment qemu.sh prints the port.
# Each line of the console is stamped with the host's clock as it
# arrives (bash's EPOCHREALTIME, no process per line).  The target is
# app_main within 50 ms of kmain at every size (kernel/README.md's
# boot).  microvm has no NIC the image drives, so no "answered" there.
#
# Footprint.  The stripped size of hello's and echo's images (the ELF
# QEMU loads, symbols and debug information stripped) against 150 KB
# and 300 KB, and the least memory each runs with: hello booted to its
# end at MEM=2M, echo answering a UDP datagram at MEM=4M (q35, one
# core), and the least MEM test/qemu.sh accepts for each (mem_need).
. "$(dirname "$0")/lib.sh"

runs=${BOOT_RUNS:-5}
tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }

# stamp: each line of standard input, prefixed with the host's clock in
# microseconds.
stamp() {
	local l
	while IFS= read -r l; do
		printf '%s %s\n' "${EPOCHREALTIME/./}" "${l%$'\r'}"
	done
}

# at LOG PATTERN: the stamp (us) of LOG's first line matching PATTERN.
at() {
	awk -v p="$2" '{ t = $1; sub(/^[0-9]+ /, "") } $0 ~ p { print t; exit }' "$1"
}

# median: the median of the numbers on standard input ("-" if none).
median() {
	sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'
}

# boot_hello MACHINE MEM: boot hello once; print "kmain app_main" in ms
# since qemu.sh started ("- -" if it did not get there).
boot_hello() {
	local log=$tmp/hello.log t0 k a
	t0=${EPOCHREALTIME/./}
	MACHINE=$1 MEM=$2 ACCEL=tcg CPUS=1 ARGS= NET=none \
		timeout 60 test/qemu.sh build/native/hello.elf32 </dev/null 2>&1 | stamp >"$log"
	k=$(at "$log" '^acpi: ')
	a=$(at "$log" '^hello from core 0$')
	echo "$([ -n "$k" ] && echo $(((k - t0) / 1000)) || echo -)" \
		"$([ -n "$a" ] && echo $(((a - t0) / 1000)) || echo -)"
}

# boot_echo MEM: boot echo on q35 with NET=user; print the ms from
# qemu.sh's start to the first UDP datagram echoed ("-" if none in 20 s).
boot_echo() {
	local log=$tmp/echo.log t0 port pid got= r i
	t0=${EPOCHREALTIME/./}
	MACHINE=q35 MEM=$1 ACCEL=tcg CPUS=1 ARGS= NET=user FWD=udp:7 \
		test/qemu.sh build/native/echo.elf32 </dev/null > >(stamp >"$log") 2>&1 &
	pid=$!
	for i in $(seq 200); do
		port=$(sed -n "s/.*echo's UDP port 7 is at 127\.0\.0\.1:\([0-9]*\)$/\1/p" "$log")
		[ -n "$port" ] && break
		sleep 0.01
	done
	# Until QEMU listens, a datagram draws a port unreachable, and the
	# read after it fails at once: then wait the 10 ms out.
	if [ -n "$port" ] && exec 3<>"/dev/udp/127.0.0.1/$port"; then
		while [ $((${EPOCHREALTIME/./} - t0)) -lt 20000000 ]; do
			i=${EPOCHREALTIME/./}
			printf 'boot' >&3 2>/dev/null
			if read -r -t 0.01 -N 4 r <&3 2>/dev/null && [ "$r" = boot ]; then
				got=${EPOCHREALTIME/./}
				break
			fi
			[ $((${EPOCHREALTIME/./} - i)) -ge 5000 ] || sleep 0.01
		done
		exec 3<&-
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -n "$got" ] && echo $(((got - t0) / 1000)) || echo -
}

echo "boot time under TCG, ms from test/qemu.sh's start, median of $runs boots"
printf '  %-8s %-5s %6s %9s %16s %22s\n' machine MEM kmain app_main \
	"kmain->app_main" "answered (q35, echo)"
for m in q35 microvm; do
	for mem in 64M 512M 2G; do
		: >"$tmp/k"; : >"$tmp/a"; : >"$tmp/d"; : >"$tmp/e"
		for i in $(seq "$runs"); do
			read -r k a <<<"$(boot_hello "$m" "$mem")"
			[ "$k" = - ] || echo "$k" >>"$tmp/k"
			[ "$a" = - ] || echo "$a" >>"$tmp/a"
			[ "$k" = - ] || [ "$a" = - ] || echo $((a - k)) >>"$tmp/d"
			[ "$m" = q35 ] && boot_echo "$mem" | grep -v '^-$' >>"$tmp/e"
		done
		d=$(median <"$tmp/d")
		verdict="?"
		[ "$d" != - ] && verdict=$([ "$d" -le 50 ] && echo met || echo "NOT met")
		printf '  %-8s %-5s %6s %9s %9s (<= 50: %s) %s\n' "$m" "$mem" "$(median <"$tmp/k")" \
			"$(median <"$tmp/a")" "$d" "$verdict" \
			"$([ "$m" = q35 ] && median <"$tmp/e" || echo "   n/a (no NIC on microvm)")"
	done
done

# size APP: the stripped image's size in bytes.
size_of() {
	strip -o "$tmp/$1.stripped" "build/native/$1.elf32" && stat -c %s "$tmp/$1.stripped"
}

# least APP NET: the least MEM, in MiB, qemu.sh accepts for APP on one core.
least() {
	local mb
	for mb in 1 2 3 4 5 6 7 8; do
		MEM=${mb}M NET=$2 ARGS= CPUS=1 test/qemu.sh "build/native/$1.elf32" -version \
			</dev/null 2>&1 | grep -q 'is too little' || { echo "${mb}M"; return; }
	done
	echo "more than 8M"
}

echo
echo "footprint"
for app in hello:150 echo:300; do
	a=${app%:*} target=${app#*:}
	s=$(size_of "$a")
	printf '  %-6s stripped image %4d KB (target <= %d KB: %s)\n' "$a" $((s / 1000)) "$target" \
		"$([ $((s / 1000)) -le "$target" ] && echo met || echo "NOT met")"
done
MACHINE=q35 MEM=2M ACCEL=tcg CPUS=1 ARGS= NET=none timeout 60 \
	test/qemu.sh build/native/hello.elf32 </dev/null >"$tmp/h2" 2>&1
rc=$?
printf '  hello at MEM=2M (target: boots): %s; qemu.sh accepts MEM >= %s\n' \
	"$([ $rc = 0 ] && grep -q '^timer fired' "$tmp/h2" && echo "boots, status 0 (met)" ||
		echo "status $rc (NOT met): $(grep -m1 -E 'qemu.sh|memory|panic' "$tmp/h2")")" \
	"$(least hello none)"
e=$(boot_echo 4M)
printf '  echo at MEM=4M (target: answers): %s; qemu.sh accepts MEM >= %s\n' \
	"$([ "$e" != - ] && echo "answered UDP after $e ms (met)" || echo "no answer (NOT met)")" \
	"$(least echo user)"
