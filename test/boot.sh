#!/bin/bash
# boot.sh: tests of what a user meets: native images booted in QEMU, the
# hosted programs run as Linux processes, make run, and gdb on the stub.
#
# Each test runs one command under a timeout, with its output in $out,
# then checks (test/lib.sh) the exit status and that each expected
# pattern appears.  Prints PASS, FAIL (with the output) or SKIP lines
# for test/run.sh to count.
#
# Native boots use TCG always, and KVM too when the host has hardware
# virtualization (the vmx or svm CPU flag and a usable /dev/kvm).
# Exit statuses (README.md's "Exit statuses"): an app's 0..255 whole,
# natively and hosted, and QEMU stopped by a signal or a reset reported
# as such by test/qemu.sh.
. "$(dirname "$0")/lib.sh" boot

# boot ACCEL APP ARGS [QEMU options...]: boot an image, output in $out.
boot() {
	local accel=$1 app=$2 args=$3
	shift 3
	ACCEL=$accel ARGS=$args CPUS=1 MEM=256M timeout 120 \
		test/qemu.sh "build/native/$app.elf32" "$@" </dev/null >"$out" 2>&1
}

for a in $accels; do
	boot "$a" hello 'one "two three"'
	check "boot.hello.$a" 0 $? '^hello from core 0$' '^arg 1: one$' '^arg 2: two three$' \
		'^future resolved on core 0: 4200, back on core 0$'

	# The wall clock: the RTC's date, printed at boot, is the host's
	# (QEMU's RTC runs on the host's UTC time) to within the boot's time.
	t0=$(date -u +%s)
	boot "$a" hello ""
	t1=$(date -u +%s)
	rtc=$(sed -n 's/^rtc: \(.*\) UTC\r\?$/\1/p' "$out")
	rtc_s=$(date -u -d "$rtc" +%s 2>/dev/null || echo 0)
	[ "$rtc_s" -ge $((t0 - 2)) ] && [ "$rtc_s" -le $((t1 + 2)) ]
	check "boot.rtc_host.$a" 0 $? '^rtc: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC'

	boot "$a" fault page
	check "boot.fault_page.$a" 70 $? \
		'^trap: page fault \(vector 14\) on core 0, error code 0x2$' \
		'fault address 0xdead0000000: no page mapped for write' \
		'^  rip 0x[0-9a-f]+ fault_touch\+0x' \
		'^  rax [0-9a-f]{16}  rbx [0-9a-f]{16}' '^  r12 [0-9a-f]{16}' \
		'^  #0  0x[0-9a-f]+ fault_touch\+0x' '^  #1  0x[0-9a-f]+ app_main\+0x' \
		'^  #[0-9]+ +0x[0-9a-f]+ kmain\+0x'

	boot "$a" memtest ""
	check "boot.memtest.$a" 0 $? '^memtest: took ([0-9]+) of \1 free pages' \
		'^memtest: kmalloc gave [0-9]+ objects, [0-9]+ MiB, before memory ran out$' \
		'^memtest: malloc from the C library works$' '^memtest: ok$'

	boot "$a" counter 100000
	check "boot.ebb_counter.$a" 0 $? \
		'^counter: 100000 adds on each of 1 cores, at most [0-9.]+ ns each, sum 100000: ok$'

	boot "$a" fault null
	check "boot.fault_null.$a" 70 $? 'fault address 0: no page mapped for read' \
		'null pointer: page 0 is never mapped' '^  #1  0x[0-9a-f]+ app_main\+0x'

	boot "$a" fault wtext
	check "boot.fault_wtext.$a" 70 $? 'protection violation on write' \
		'the page is mapped read-only' '^  #0  0x[0-9a-f]+ fault_wtext\+0x'

	boot "$a" fault xdata
	check "boot.fault_xdata.$a" 70 $? 'protection violation on instruction fetch' \
		'the page is mapped no-execute' '^  #0  0x[0-9a-f]+ \(not in the code\)'

	boot "$a" fault stack
	check "boot.fault_stack.$a" 70 $? '^trap: page fault \(vector 14\)' \
		"stack overflow: the address is the guard page below core 0's boot stack" \
		'^  #0  0x[0-9a-f]+ fault_stack\+0x' '^  #31 0x[0-9a-f]+ fault_stack\+0x'

	boot "$a" fault loopstack
	check "boot.fault_loopstack.$a" 70 $? \
		'stack overflow: the address is the guard page below an event loop stack' \
		'^  #0  0x[0-9a-f]+ fault_stack\+0x'

	boot "$a" fault ud
	check "boot.fault_ud.$a" 70 $? '^trap: invalid opcode \(vector 6\)' \
		'^  #0  0x[0-9a-f]+ fault_ud\+0x'

	boot "$a" fault div
	check "boot.fault_div.$a" 70 $? '^trap: divide error \(vector 0\)' 'fault_div'

	boot "$a" fault panic
	check "boot.panic.$a" 70 $? '^panic: fault: panic on request \(2 arguments\)$' \
		'^  #1  0x[0-9a-f]+ app_main\+0x' '^  rsp [0-9a-f]{16}|rsp [0-9a-f]{16}'
done

boot tcg fault "exit 5"
check boot.exit_status 5 $? '^fault: exit$'

# Statuses above 125 cross whole (the debugcon line; test/qemu.sh), and
# qemu.sh says they are the app's, not one of its own cases.
for n in 126 200 255; do
	boot tcg fault "exit $n"
	check "boot.exit_status_$n" "$n" $? "^qemu.sh: the app's exit status is $n "
done
timeout 30 build/hosted/fault exit 200 >"$out" 2>&1
check hosted.exit_status_200 200 $? '^fault: exit$'

# QEMU itself stopped: by a signal it catches (TERM), by one it cannot
# (KILL), and by a reset from its monitor (as a triple fault would):
# each said as such, none taken for the app's status.
# qemu_stop HOW: the counter app adding for ever; then HOW (a signal's
# name, or "reset"); qemu.sh's status, its output in $out.
qemu_stop() {
	local tag=$test_tag.stop$1 qemu= i pid
	EBB_TEST_TAGS="$EBB_TEST_TAGS $tag" ACCEL=tcg ARGS=4000000000 \
		test/qemu.sh build/native/counter.elf32 -monitor unix:"$out.mon",server,nowait \
		</dev/null >"$out" 2>&1 &
	pid=$!
	for ((i = 0; i < 300 && ${#qemu} == 0; i++)); do
		sleep 0.1
		qemu=$(qemu_of "$tag")
	done
	sleep 1
	if [ "$1" = reset ]; then
		echo system_reset | timeout 5 nc -U -q1 "$out.mon" >/dev/null
	else
		kill -"$1" "$qemu"
	fi
	timeout 30 tail --pid="$pid" -f /dev/null
	wait "$pid"
}
qemu_stop TERM
check boot.qemu_sigterm 143 $? '^qemu.sh: QEMU was stopped by SIGTERM$'
qemu_stop KILL
check boot.qemu_sigkill 137 $? '^qemu.sh: QEMU was killed by SIGKILL$'
qemu_stop reset
check boot.qemu_reset 124 $? '^qemu.sh: the machine stopped without an exit status'
rm -f "$out.mon"

boot tcg hello "$(seq -s ' ' 1 40)"
check boot.cmdline_too_many 64 $? 'more than 32 words in the command line'

boot tcg hello 'a "b c'
check boot.cmdline_unterminated 64 $? 'unterminated quote'

boot tcg hello "" -cpu qemu32
check boot.no_long_mode 70 $? '^Booting.*boot: this CPU has no long mode \(x86-64\); halting|^boot: this CPU has no long mode'

# Too little memory: qemu.sh refuses it at once, saying the least that
# will do (with MEM=1M SeaBIOS used to wait for ever, and 2M and 3M on
# two cores ended in panics); past qemu.sh (QEMU takes the last -m), the
# kernel says so and stops, with no panic report.
ACCEL=tcg MEM=1M timeout 20 test/qemu.sh build/native/hello.elf32 </dev/null >"$out" 2>&1
check boot.mem_1m 125 $? '^qemu.sh: MEM=1M is too little for hello on 1 core: it needs at least 3M$'
ACCEL=tcg MEM=3M CPUS=2 timeout 20 test/qemu.sh build/native/hello.elf32 </dev/null >"$out" 2>&1
check boot.mem_3m_cpus2 125 $? '^qemu.sh: MEM=3M is too little for hello on 2 cores: it needs at least 4M$'
# The RTC at a date QEMU is told, a leap day of a leap century.
boot tcg hello "" -rtc base=2000-02-29T23:59:58
check boot.rtc_base 0 $? '^rtc: (2000-02-29 23:59:5[89]|2000-03-01 00:00:0[0-9]) UTC'
boot tcg hello "" -m 2M
check boot.mem_kernel_none 70 $? '^memory: none above the image, which ends at [0-9]+ KiB' '!panic'
boot tcg hello "" -m 2900K
check boot.mem_kernel_short 70 $? \
	'^memory: [0-9]+ KiB free, and the runtime needs 512 KiB to start on 1 core: give the machine at least [0-9]+ KiB more' \
	'!panic'

# ACCEL=kvm on a CPU without hardware virtualization is refused at once,
# with the reason (here a /dev/kvm may exist, a software one).
if grep -qwE 'vmx|svm' /proc/cpuinfo; then
	echo "SKIP boot.kvm_refused: this CPU has hardware virtualization"
else
	boot kvm hello ""
	check boot.kvm_refused 125 $? '^qemu.sh: ACCEL=kvm needs hardware virtualization' 'ACCEL=tcg'
fi

# QEMU failing to start (here: no firmware) must not look like success.
boot tcg hello "" -machine q35,accel=tcg -no-reboot -d none -bios /nonexistent
rc=$?
if [ $rc -ne 0 ]; then echo "PASS boot.qemu_failure_is_failure"; else
	echo "FAIL boot.qemu_failure_is_failure: QEMU could not start, yet status 0"; failed=1; fi

timeout 30 build/hosted/hello one "two three" >"$out" 2>&1
check hosted.hello 0 $? '^hello from core 0$' '^arg 1: one$' '^arg 2: two three$'

timeout 120 build/hosted/memtest >"$out" 2>&1
check hosted.memtest 0 $? '^memtest: took ([0-9]+) of \1 free pages' '^memtest: ok$'

timeout 30 build/hosted/counter --cpus 4 1000000 >"$out" 2>&1
check hosted.ebb_counter 0 $? 'on each of 4 cores, .* sum 4000000: ok$'

# Hosted reports name functions as native ones do (hosted/symbols.c).
timeout 30 build/hosted/fault page >"$out" 2>&1
check hosted.fault 70 $? '^trap: segmentation fault \(signal 11\)' 'fault address 0xdead0000000' '^backtrace:' \
	'^  #0  0x[0-9a-f]+ fault_touch\+0x' '^  #1  0x[0-9a-f]+ app_main\+0x' '^  #[0-9]+ +0x[0-9a-f]+ main\+0x'

timeout 30 build/hosted/fault loopstack >"$out" 2>&1
check hosted.fault_loopstack 70 $? '^trap: segmentation fault \(signal 11\)'

timeout 30 build/hosted/fault panic >"$out" 2>&1
check hosted.panic 70 $? '^panic: fault: panic on request \(2 arguments\)$' \
	'^  #0  0x[0-9a-f]+ panic\+0x' '^  #1  0x[0-9a-f]+ app_main\+0x'

timeout 300 make -s run APP=hello ARGS="from-make" ACCEL=tcg </dev/null >"$out" 2>&1
check make.run 0 $? '^hello from core 0$' '^arg 1: from-make$'

timeout 300 make -s run APP=fault ARGS="exit 7" ACCEL=tcg </dev/null >"$out" 2>&1
check make.run_status 2 $? 'Error 7'

# make run NET=tap (test/netns.sh, root) gives echo its address even
# when ARGS says something else (stats=5): without it, echo would ask
# for one by DHCP for ever.
if [ "$(id -u)" != 0 ]; then
	echo "SKIP make.run_tap_args: not root (a network namespace and a TAP device need it)"
else
	tag=$test_tag.tap
	EBB_TEST_TAGS="$EBB_TEST_TAGS $tag" make -s run APP=echo NET=tap ARGS=stats=5 ACCEL=tcg \
		</dev/null >"$out" 2>&1 &
	for ((i = 0; i < 600; i++)); do
		grep -qE 'echo: (udp port 7 on|asking for an address)' "$out" && break
		sleep 0.1
	done
	reap "$tag" >/dev/null
	wait $!
	check make.run_tap_args 0 0 '^echo: udp port 7 on 10\.80\.0\.2$' '!asking for an address' \
		'ARGS=ip=10\.80\.0\.2/24 stats=5'
fi

# A change of flags rebuilds what it touches, and no more (the
# Makefile's flags files): a hosted and a native object in a scratch
# build directory (B=; newlib linked from build/), built, built again,
# built with DEBUG=1, and again.
scratch=$(mktemp -d)
cleanup() { rm -rf "$scratch"; }
ln -s "$PWD/build/newlib" "$scratch/newlib"
flags_build() {
	timeout 120 make --no-print-directory B="$scratch" "$@" "$scratch/hosted/obj/kernel/print.o" \
		"$scratch/native/obj/kernel/print.o" 2>&1 | grep -c '^  CC '
}
{
	echo "plain: $(flags_build) compiled"
	echo "again: $(flags_build) compiled"
	echo "DEBUG=1: $(flags_build DEBUG=1) compiled"
	echo "DEBUG=1 again: $(flags_build DEBUG=1) compiled"
	echo "plain: $(flags_build) compiled"
} >"$out"
check make.flags_rebuild 0 0 '^plain: 2 compiled$' '^again: 0 compiled$' '^DEBUG=1: 2 compiled$' \
	'^DEBUG=1 again: 0 compiled$' '!^plain: [013-9]'

# On a terminal (script gives make run one), the line wrapping SeaBIOS
# turns off (ESC [ ? 7 l) is on again (ESC [ ? 7 h) after the last time.
if command -v script >/dev/null; then
	timeout 300 script -qec "make -s run APP=hello ACCEL=tcg" /dev/null </dev/null >"$out" 2>&1
	rc=$?
	wrap=$(tr -d '\r\n' <"$out" | grep -o $'\e\\[?7[lh]' | tail -1)
	echo "last wrap control: ${wrap:1}" >>"$out"
	check make.run_terminal 0 $rc '^hello from core 0' 'last wrap control: \[\?7h'
else
	echo "SKIP make.run_terminal: no script (util-linux)"
fi

if command -v gdb >/dev/null; then
	ACCEL=tcg timeout 120 test/gdb.sh build/native/hello.elf -batch \
		-ex 'break kmain' -ex continue -ex 'info symbol $pc' </dev/null >"$out" 2>&1
	check gdb.break_kmain 0 $? '^Breakpoint 1, kmain ' '^kmain in section \.text'
else
	echo "SKIP gdb.break_kmain: gdb is not installed"
fi

# The event loops, hosted: a greeting printed on every core, a timer, a
# clean exit; and the runtime's own option, checked.
timeout 30 build/hosted/hello --cpus 4 one >"$out" 2>&1
check hosted.hello_cpus4 0 $? '^hello from core 0$' '^arg 1: one$' '^hello from core 1$' \
	'^future resolved on core 3: 4203, back on core 0$' \
	'^hello from core 2$' '^hello from core 3$' '^timer fired after [0-9]+ ms$'

timeout 30 build/hosted/hello --cpus 0 >"$out" 2>&1
check hosted.cpus_usage 64 $? 'bad number of cpus: 0$' '^usage: .* \[--cpus N\]'

# --help: the runtime's options and the app's arguments, status 0; after
# "--" it is the app's.
timeout 30 build/hosted/echo --help >"$out" 2>&1
check hosted.help 0 $? '^usage: build/hosted/echo \[--cpus N\] \[--tap NAME\] \[--help\]' \
	'^  --cpus N ' '^  --tap NAME ' "^echo's arguments: \[ip=dhcp \| ip=A\.B\.C\.D/N\[,gw=G\]\]" \
	'!hello from|no network'
timeout 30 build/hosted/hello -- --help >"$out" 2>&1
check hosted.help_after_dashes 0 $? '^arg 1: --help$'

# echo without an interface says how to give it one.
timeout 30 build/hosted/echo >"$out" 2>&1
check hosted.echo_no_nic 69 $? '^echo: no network interface: give it one .*--tap NAME'

# Ctrl-C (SIGINT) ends a hosted instance cleanly, with status 130.
build/hosted/counter --cpus 2 4000000000 >"$out" 2>&1 &
pid=$!
sleep 0.3
kill -INT $pid
timeout 30 tail --pid=$pid -f /dev/null
wait $pid
check hosted.ctrl_c 130 $?

# echo natively without a NIC (qemu.sh's default NET=none): it says so and exits 69.
boot tcg echo ""
check boot.echo_no_nic 69 $? '^echo: no network interface: give it one with make run NET=user'

# The PCI scan: with ARGS=pci the boot lists every function; a virtio-net
# device added after qemu.sh's -nic none shows its BARs and MSI-X, and the
# app still sees the word "pci" as its argument.
boot tcg hello pci -device virtio-net-pci,netdev=n0 -netdev user,id=n0
check boot.pci_list 0 $? '^pci: [0-9]+ devices$' \
	'^pci 00:00\.0 8086:29c0 class 06\.00 q35-host-bridge' \
	'^pci [0-9a-f]{2}:[0-9a-f]{2}\.[0-7] 1af4:(1000|1041) class 02\.00 virtio-net( BAR[0-5] (io|mem|mem64) 0x[0-9a-f]+/[0-9]+[KMG]?)+ caps.* msix' \
	'^arg 1: pci$'

exit $failed
