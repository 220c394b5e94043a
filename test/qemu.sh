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
case $accel in
kvm) cpu=host ;;
tcg) cpu=max ;;
*) echo "qemu.sh: ACCEL must be kvm or tcg, not '$accel'" >&2; exit 125 ;;
esac

qemu-system-x86_64 -machine q35,accel="$accel" -cpu "$cpu" \
	-smp "${CPUS:-1}" -m "${MEM:-256M}" \
	-nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -nic none \
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
