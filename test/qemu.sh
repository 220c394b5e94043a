#!/bin/sh
# qemu.sh: boot one native image in QEMU and exit with the app's status.
#
#   test/qemu.sh build/native/APP.elf32 [extra QEMU options...]
#
# Environment: CPUS (1), MEM (256M), ARGS (the app's arguments), ACCEL
# (kvm or tcg; default: kvm when the CPU has hardware virtualization -
# the vmx or svm flag - and /dev/kvm is usable, otherwise tcg).  A
# /dev/kvm without vmx/svm is a software KVM that runs ring-0 code
# thousands of times slower than TCG, so it is not used unless asked for.
#
# NET chooses the network (default none: -nic none):
#   none  no NIC
#   user  a virtio-net NIC on QEMU's user networking (slirp): the guest
#         gets 10.0.2.15 from QEMU's DHCP, and each guest port FWD names
#         ("udp:7 tcp:9 ...", default none) is forwarded from a free
#         127.0.0.1 port on the host, picked here and printed first:
#         "echo's UDP port 7 is at 127.0.0.1:PORT"
#   tap   a virtio-net NIC on the TAP device TAP (default tap0), made by
#         QEMU (script=no): run it where the device should be, e.g. in a
#         network namespace as test/netns.sh does (make run NET=tap)
# NETDEV_OPTS is appended to the -netdev option (",queues=4") and
# NIC_OPTS to the device's (",mq=on,vectors=10,disable-legacy=on").
#
# The console is COM1 on standard output (-nographic: Ctrl-A X quits).
# The kernel ends by writing status + 1 to QEMU's isa-debug-exit port,
# and QEMU then exits with ((status + 1) << 1) | 1, so:
#   QEMU exit 3, 5, ..., 253  ->  the app's status 0, 1, ..., 125
#   QEMU exit 0               ->  the machine stopped without a status
#                                 (triple fault, reset, or Ctrl-A X): 124
#   QEMU exit 1 or other      ->  QEMU itself failed: 125
set -u
img=${1:?usage: test/qemu.sh IMAGE.elf32 [qemu options]}
shift

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
kvm) cpu=host ;;
tcg) cpu=max; [ "$smp" = 1 ] && smp=1,maxcpus=2 ;;
*) echo "qemu.sh: ACCEL must be kvm or tcg, not '$accel'" >&2; exit 125 ;;
esac

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

app=$(basename "$img" .elf32)
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
	done
	net="-netdev user,id=n0$fwd${NETDEV_OPTS:-} -device $nic" ;;
tap) net="-netdev tap,id=n0,ifname=${TAP:-tap0},script=no,downscript=no${NETDEV_OPTS:-} -device $nic" ;;
*) echo "qemu.sh: NET must be none, user or tap, not '$NET'" >&2; exit 125 ;;
esac

# $net is split into words on purpose: it holds no spaces of its own.
# shellcheck disable=SC2086
qemu-system-x86_64 -machine q35,accel="$accel" -cpu "$cpu" \
	-smp "$smp" -m "${MEM:-256M}" \
	-nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 $net \
	-kernel "$img" -append "${ARGS:-}" "$@"
rc=$?

if [ $rc -ge 3 ] && [ $((rc % 2)) -eq 1 ]; then
	exit $(((rc >> 1) - 1))
elif [ $rc -eq 0 ]; then
	echo "qemu.sh: the machine stopped without an exit status (triple fault, reset or Ctrl-A X)" >&2
	exit 124
else
	echo "qemu.sh: QEMU failed (exit $rc)" >&2
	exit 125
fi
