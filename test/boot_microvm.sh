#!/bin/bash
# boot_microvm.sh: the native images on QEMU's microvm machine
# (MACHINE=microvm in test/qemu.sh): no SeaBIOS, no PCI, no chipset; the
# firmware (qboot) loads the multiboot image and the kernel finds its
# way with what is left: COM1, the PIT (kernel/clock.c reads channel 0,
# since there is no port 0x61), the local APICs from ACPI's MADT, and
# QEMU's debug-exit and debugcon ports for the exit status.
#
# Checks: hello with arguments on one core and on four (the clock
# calibrated to a plausible rate, the 10 ms timer firing, no PCI
# device); an app's own exit status and a trap report's status; a
# network asked for where the image has no NIC to drive, refused by
# qemu.sh with the reason; and MEM too small, refused as on q35.
. "$(dirname "$0")/lib.sh"

# vm CPUS APP ARGS [MEM]: boot on microvm under TCG, output in $out.
vm() {
	MACHINE=microvm ACCEL=tcg CPUS=$1 ARGS=$3 MEM=${4:-256M} timeout 120 \
		test/qemu.sh "build/native/$2.elf32" </dev/null >"$out" 2>&1
}

vm 1 hello 'one "two three"'
check microvm.hello 0 $? '^hello from core 0$' '^arg 1: one$' '^arg 2: two three$' \
	'^clock: TSC at [0-9]{3,} MHz$' '^pci: 0 devices$' \
	'^future resolved on core 0: 4200, back on core 0$' '^timer fired after [0-9]+ ms$' \
	'!panic'

vm 4 hello ""
check microvm.hello_4cores 0 $? '^smp: 4 cores running' '^hello from core 1$' \
	'^hello from core 2$' '^hello from core 3$' '^future resolved on core 3: 4203, back on core 0$'

vm 1 fault "exit 7"
check microvm.exit_status 7 $?

vm 1 fault null
check microvm.trap 70 $? 'fault address 0: no page mapped for read' '^  #1  0x[0-9a-f]+ app_main\+0x'

vm 1 counter 100000
check microvm.counter 0 $? '^counter: 100000 adds on each of 1 cores, .* sum 100000: ok$'

NET=user vm 1 echo ""
check microvm.net_refused 125 $? '^qemu.sh: MACHINE=microvm has no NIC the image can drive'

vm 1 hello "" 1M
check microvm.mem_refused 125 $? '^qemu.sh: MEM=1M is too little for hello on 1 core'

exit $failed
