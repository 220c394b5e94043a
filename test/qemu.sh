#!/bin/bash
# qemu.sh: boot one native image in QEMU and exit with the app's status.
#
#   test/qemu.sh build/native/APP.elf32 [extra QEMU options...]
#
# Environment: CPUS (1), MEM (256M: refused, with the least that will
# do, when it is below what the image needs on CPUS cores; see
# mem_need), ARGS (the app's arguments), ACCEL
# (kvm or tcg; default: kvm when the CPU has hardware virtualization -
# the vmx or svm flag - and /dev/kvm is usable, otherwise tcg).  A
# /dev/kvm without vmx/svm is a software KVM that runs ring-0 code
# thousands of times slower than TCG, or fails ("KVM internal error"),
# so ACCEL=kvm is refused there, with the reason, as it is without a
# usable /dev/kvm.
#
# MACHINE chooses QEMU's machine type:
#   q35      (the default) a PC with SeaBIOS, ACPI, PCIe and its chipset
#   microvm  QEMU's minimal machine: no PCI, no chipset to scan, a small
#            firmware (qboot) that loads the multiboot image at once; it
#            keeps the ISA devices the image uses (COM1, the PIT, the
#            debug-exit and debugcon ports), the local APICs and ACPI's
#            MADT.  It has no NIC the image can drive yet (its virtio
#            devices are virtio-mmio), so NET must be none there.
#
# NET chooses the network (default none: -nic none):
#   none  no NIC
#   user  a virtio-net NIC on QEMU's user networking (slirp): the guest
#         gets 10.0.2.15 from QEMU's DHCP, and each guest port FWD names
#         ("udp:7 tcp:9 ...", default none) is forwarded from a free
#         127.0.0.1 port on the host, picked here and printed first:
#         "echo's UDP port 7 is at 127.0.0.1:PORT" (and for TCP port 80,
#         "httpd: open http://127.0.0.1:PORT/ in a browser")
#   tap   a virtio-net NIC on the TAP device TAP (default tap0), made by
#         QEMU (script=no): run it where the device should be, e.g. in a
#         network namespace as test/netns.sh does (make run NET=tap)
# NETDEV_OPTS is appended to the -netdev option (",queues=4") and
# NIC_OPTS to the device's (",mq=on,vectors=10,disable-legacy=on").
#
# QEMU ends with this script: it runs as a child the script waits for
# (with the wait builtin, so that a signal is acted on at once), started
# through setpriv --pdeathsig, so that the kernel sends it TERM if the
# script dies, even of SIGKILL; and HUP, INT or TERM to the script
# (timeout's TERM, a test's kill) stops QEMU, waits for it, and exits
# with 128 + the signal's number, saying so.
#
# The console is COM1 on standard output (-nographic: Ctrl-A X quits).
# QEMU puts the terminal back as it found it, but for the line wrapping
# that SeaBIOS turns off: this script turns it on again at the end.
#
# The exit status (README.md's "Exit statuses").  The kernel ends by
# writing "exit N" to QEMU's debugcon port (0xE9), which goes to a file
# here, and then a value to the isa-debug-exit device, which makes QEMU
# exit at once (kernel/main.c's machine_exit: the device's 8 bits can
# carry only statuses 0..125, the line carries all of 0..255).  What
# this script exits with, and says on standard error when it is not
# simply the app's status:
#   the app's status N, 0..255     the debugcon line; for N of 124 and
#                                  up, which a case below could also
#                                  give, it says that N is the app's
#   128 + S   stopped by signal S: this script got HUP, INT or TERM
#             (and stopped QEMU), or QEMU did (it says "terminating on
#             signal S" itself), or QEMU was killed by it (KILL, or a
#             crash: SEGV, ABRT)
#   124       the machine stopped without a status: a triple fault, a
#             reset (QEMU runs with -no-reboot), Ctrl-A X, or the
#             monitor's quit
#   125       QEMU failed (it could not start, or exited with an error
#             of its own), or this script refused the configuration
set -u
img=${1:?usage: test/qemu.sh IMAGE.elf32 [qemu options]}
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
app=$(basename "$img" .elf32)

accel=${ACCEL:-}
if [ -z "$accel" ]; then
	if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		accel=kvm
	else
		accel=tcg
	fi
fi
# smp: with TCG, one vCPU would make QEMU drop the guest's memory fences
# (it emits host barriers only when the machine may have several vCPUs),
# while its device model reads and writes guest memory from another
# host thread; virtio's notification handshakes then lose kicks
# (virtio/net_watch.c).  maxcpus=2 keeps the fences; the second CPU is
# only possible, never present (ACPI lists it disabled).
smp=${CPUS:-1}
case $accel in
kvm)
	# Refused where it cannot work, before QEMU says "KVM internal error"
	# and hangs.
	if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		echo "qemu.sh: ACCEL=kvm needs hardware virtualization, and this CPU has none" \
			"(no vmx or svm flag in /proc/cpuinfo; a /dev/kvm without them is a software" \
			"emulation, which fails on this kernel): use ACCEL=tcg, or leave ACCEL empty" >&2
		exit 125
	elif ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		echo "qemu.sh: ACCEL=kvm needs /dev/kvm, which is missing or not usable by this user" \
			"(usually: be in group kvm): use ACCEL=tcg, or leave ACCEL empty" >&2
		exit 125
	fi
	cpu=host ;;
tcg) cpu=max; [ "$smp" = 1 ] && smp=1,maxcpus=2 ;;
*) echo "qemu.sh: ACCEL must be kvm or tcg, not '$accel'" >&2; exit 125 ;;
esac

machine=${MACHINE:-q35}
case $machine in
q35) ;;
microvm)
	if [ "${NET:-none}" != none ]; then
		echo "qemu.sh: MACHINE=microvm has no NIC the image can drive (virtio-mmio);" \
			"use NET=none there, or MACHINE=q35 for NET=$NET" >&2
		exit 125
	fi ;;
*) echo "qemu.sh: MACHINE must be q35 or microvm, not '$machine'" >&2; exit 125 ;;
esac

# mem_kib SIZE: QEMU's -m size (a number of MiB, or with a K, M, G or T
# suffix; fractions allowed) in KiB, or nothing if it is not one.
mem_kib() {
	awk -v s="$1" 'BEGIN {
		if (s !~ /^[0-9]+(\.[0-9]+)?[KkMmGgTt]?$/)
			exit
		u = toupper(substr(s, length(s)))
		m = u == "K" ? 1 : u == "G" ? 1048576 : u == "T" ? 1073741824 : 1024
		printf "%d\n", (s + 0) * m
	}'
}

# mem_need IMAGE CPUS NIC: the least MEM, in KiB, IMAGE boots and runs
# with on CPUS cores, with a NIC if NIC is 1; nothing if the image's end
# cannot be read.  The image is loaded at 1 MiB and ends at __image_end
# (its bss included), and the RAM must hold it and the firmware's top
# 64 KiB.  Beyond the image the kernel needs about 640 KiB (page
# descriptors and tables, the allocators, the runtime), 136 KiB more per
# core after the first, and 1 MiB more for a NIC's rings and buffers;
# the first 560 of those come from the low memory below 640 KiB, which
# kernel/memmap.c hands to the page allocator too.  Fitted to the
# smallest MEM each app in app/ runs with (hello: 1850K on one core;
# echo on NET=user answering UDP at 4M), in whole MiB: it may refuse a
# few KiB that would have done, never a whole MiB.
mem_need() {
	local end more
	end=$(nm "$1" 2>/dev/null | awk '$3 == "__image_end" { print $1 }')
	[ -n "$end" ] || return 0
	more=$((640 + 136 * ($2 - 1) + 1024 * $3 - 560))
	[ $more -gt 0 ] || more=0
	echo $(((0x$end >> 10) + 64 + more))
}

# free_port PROTO: a local port nothing listens on or uses for PROTO
# (udp or tcp), per /proc/net (ports in hex there); from a start that
# differs between runs.
free_port() {
	used=$(cat /proc/net/"$1" /proc/net/"$1"6 2>/dev/null |
		awk 'NR > 1 { n = split($2, a, ":"); printf " %s", a[n] }')
	p=$((20000 + ($$ * 7 + $(date +%N | sed 's/^0*//;s/^$/0/') / 1000) % 30000))
	while :; do
		case " $used $taken " in
		*" $(printf %04X "$p") "*) p=$((p + 1)) ;;
		*) break ;;
		esac
	done
	taken="$taken $(printf %04X "$p")"
	echo "$p"
}

# romfile= : no iPXE option ROM (nothing boots from the network here).
nic="virtio-net-pci,netdev=n0,romfile=${NIC_OPTS:-}"
taken=
case ${NET:-none} in
none) net="-nic none" ;;
user)
	fwd=
	for f in ${FWD:-}; do
		proto=${f%%:*} guest=${f#*:}
		case $proto in
		udp | tcp) ;;
		*) echo "qemu.sh: FWD entries are udp:PORT or tcp:PORT, not '$f'" >&2; exit 125 ;;
		esac
		host=$(free_port "$proto")
		fwd="$fwd,hostfwd=$proto:127.0.0.1:$host-:$guest"
		echo "$app's $(echo "$proto" | tr a-z A-Z) port $guest is at 127.0.0.1:$host"
		[ "$f" = tcp:80 ] && echo "$app: open http://127.0.0.1:$host/ in a browser"
	done
	net="-netdev user,id=n0$fwd${NETDEV_OPTS:-} -device $nic" ;;
tap) net="-netdev tap,id=n0,ifname=${TAP:-tap0},script=no,downscript=no${NETDEV_OPTS:-} -device $nic" ;;
*) echo "qemu.sh: NET must be none, user or tap, not '$NET'" >&2; exit 125 ;;
esac

# MEM: refused if it is not a size or is below what the image needs
# (mem_need), with the least that will do, before QEMU starts: with 1M
# SeaBIOS would wait for ever, with a little more the kernel stops at
# once (kernel/memmap.c says so too).
mem=$(mem_kib "${MEM:-256M}")
if [ -z "$mem" ]; then
	echo "qemu.sh: MEM=$MEM is not a size such as 256M or 2G" >&2
	exit 125
fi
need=
case ${CPUS:-1} in
*[!0-9]*) ;;	# QEMU will say what is wrong with it
*) need=$(mem_need "$img" "${CPUS:-1}" "$([ "${NET:-none}" = none ] && echo 0 || echo 1)") ;;
esac
if [ -n "$need" ] && [ "$mem" -lt "$need" ]; then
	cores="${CPUS:-1} core$([ "${CPUS:-1}" = 1 ] || echo s)"
	[ "${NET:-none}" = none ] || cores="$cores and a NIC"
	echo "qemu.sh: MEM=$MEM is too little for $app on $cores: it needs at least" \
		"$(((need + 1023) / 1024))M" >&2
	exit 125
fi

# A signal to this script stops QEMU (which exits once it has handled
# TERM); the script then reports it below.
qpid=
sig=
for s in HUP INT TERM; do
	trap 'sig='$s'; [ -z "$qpid" ] || kill -TERM "$qpid" 2>/dev/null' $s
done

# QEMU's standard error goes on to ours through tee, which keeps a copy
# (to tell a signal QEMU caught from a triple fault) and ignores signals:
# it ends when QEMU does.
mkfifo "$tmp/stderr.fifo"
(trap '' HUP INT TERM; exec tee "$tmp/stderr" <"$tmp/stderr.fifo" >&2) &
teepid=$!

# $net is split into words on purpose: it holds no spaces of its own.
# shellcheck disable=SC2086
setpriv --pdeathsig TERM qemu-system-x86_64 -machine "$machine",accel="$accel" -cpu "$cpu" \
	-smp "$smp" -m "${MEM:-256M}" \
	-nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -debugcon file:"$tmp/exit" $net \
	-kernel "$img" -append "${ARGS:-}" "$@" <&0 2>"$tmp/stderr.fifo" &
qpid=$!
[ -z "$sig" ] || kill -TERM "$qpid" 2>/dev/null
# wait returns early when a trapped signal comes; wait again until QEMU
# has really gone (then kill -0 fails: wait has reaped it).
while :; do
	wait "$qpid"
	rc=$?
	kill -0 "$qpid" 2>/dev/null || break
done
wait "$teepid"
# SeaBIOS turns the terminal's line wrapping off (ESC [ ? 7 l, DECAWM),
# which no termios setting covers and QEMU does not undo: turn it back on.
[ -t 1 ] && printf '\033[?7h'

# signame S: the name of signal number S, as "SIGTERM".
signame() { echo "SIG$(kill -l "$1" 2>/dev/null || echo "$1")"; }

status=$(sed -n 's/^exit \([0-9][0-9]*\)$/\1/p' "$tmp/exit" 2>/dev/null | tail -1)
caught=$(sed -n 's/.*terminating on signal \([0-9][0-9]*\).*/\1/p' "$tmp/stderr" | tail -1)
if [ -n "$status" ]; then
	[ "$status" -ge 124 ] &&
		echo "qemu.sh: the app's exit status is $status (its own, not QEMU's)" >&2
	exit "$status"
elif [ -n "$sig" ]; then
	echo "qemu.sh: stopped by SIG$sig (QEMU too)" >&2
	exit $((128 + $(kill -l "$sig")))
elif [ -n "$caught" ]; then
	echo "qemu.sh: QEMU was stopped by $(signame "$caught")" >&2
	exit $((128 + caught))
elif [ $rc -gt 128 ]; then
	echo "qemu.sh: QEMU was killed by $(signame $((rc - 128)))" >&2
	exit $rc
elif [ $rc -eq 0 ]; then
	echo "qemu.sh: the machine stopped without an exit status (a triple fault, a reset," \
		"Ctrl-A X or the monitor's quit)" >&2
	exit 124
else
	echo "qemu.sh: QEMU failed (exit $rc)" >&2
	exit 125
fi
