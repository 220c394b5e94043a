#!/bin/bash
# boot_cleanup.sh: nothing a test or make run starts outlives it.
#
# Each test starts one thing -- qemu.sh, a boot script, run.sh, netns.sh
# or gdb.sh -- under a tag of its own in EBB_TEST_TAGS (test/lib.sh),
# which every process it starts inherits, QEMU included; waits until a
# QEMU carrying the tag runs; ends it the way it would end in real life;
# then checks that within 10 s no process carries the tag any more
# (the FAIL line names what was left, which is then killed):
#
#   qemu.sh, sent TERM (a test's kill), INT (Ctrl-C when the terminal
#	is not QEMU's) and KILL: it must say it was stopped and exit with
#	128 + the signal's number, and its QEMU must go (for KILL: the
#	parent-death signal qemu.sh starts QEMU with)
#   boot_virtio.sh, sent TERM (what run.sh's timeout sends), and INT
#	sent to its whole process group (what Ctrl-C does): its QEMU, which
#	it starts in a session of its own (setsid), must go, with qemu.sh
#   run.sh running boot_virtio.sh with a 4 s timeout: the suite times
#	out, counts as a failure, and leaves nothing
#   netns.sh (make run NET=tap), sent TERM: its QEMU and its network
#	namespace must go (root only: SKIP otherwise)
#   gdb.sh (make gdb), sent TERM: its QEMU and gdb must go (SKIP
#	without gdb)
. "$(dirname "$0")/lib.sh"

ntag=0
pid=

# start [env...] CMD...: CMD in the background under a new tag ($tag),
# in a process group of its own (so that the whole group can get a
# Ctrl-C), output in $out; $pid is its pid.  bash starts a background
# command with INT ignored, which a script then cannot trap: env puts it
# back, as it is for a command started from a terminal.
start() {
	ntag=$((ntag + 1))
	tag=$test_tag.t$ntag
	EBB_TEST_TAGS="$EBB_TEST_TAGS $tag" setsid env --default-signal=INT "$@" \
		</dev/null >"$out" 2>&1 &
	pid=$!
}

# wait_line REGEX: until a line of $out matches (30 s); 1 if none did.
wait_line() {
	local i
	for ((i = 0; i < 300; i++)); do
		grep -qE -- "$1" "$out" && return 0
		sleep 0.1
	done
	return 1
}

# wait_qemu: until a QEMU carrying $tag runs (30 s); 1 if none came.
wait_qemu() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ -n "$(qemu_of "$tag")" ] && return 0
		sleep 0.1
	done
	echo "no QEMU came in 30 s"
	return 1
}

# finish: wait for $pid (30 s at most: then KILL) and give its status.
finish() {
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# gone NAME: check that within 10 s nothing carries $tag; a FAIL names
# what was left (killed then, by reap).
gone() {
	local i left
	for ((i = 0; i < 100; i++)); do
		[ -z "$(tagged "$tag")" ] && break
		sleep 0.1
	done
	left=$(reap "$tag")
	if [ -n "$left" ]; then
		echo "FAIL $1: processes outlived it:"
		echo "$left" | sed 's/^/    /'
		failed=1
		return 1
	fi
}

# qemu.sh with the counter app adding for ever, ended by a signal.  It
# runs under bash -c, which is what gets its status: a job of this
# script's killed by KILL would have bash print "Killed" here.
for s in TERM INT KILL; do
	start ACCEL=tcg ARGS=4000000000 bash -c 'test/qemu.sh build/native/counter.elf32; exit $?'
	wait_qemu >>"$out"
	pkill -"$s" -P "$pid"
	finish
	rc=$?
	n=$(kill -l "$s")
	if [ "$s" = KILL ]; then
		check "cleanup.qemu_sh_$s" $((128 + n)) $rc
	else
		check "cleanup.qemu_sh_$s" $((128 + n)) $rc "^qemu.sh: stopped by SIG$s"
	fi
	gone "cleanup.qemu_sh_$s.left"
done

# A boot script, ended by run.sh's TERM, or by Ctrl-C's INT to its group.
for s in TERM INT; do
	start test/boot_virtio.sh
	if wait_qemu >>"$out"; then
		if [ "$s" = INT ]; then kill -INT -- -"$pid"; else kill -TERM "$pid"; fi
	fi
	finish
	rc=$?
	n=$(kill -l "$s")
	check "cleanup.boot_script_$s" $((128 + n)) $rc
	gone "cleanup.boot_script_$s.left"
done

# run.sh, whose suite times out: a failure, and nothing left.
start BOOTS=test/boot_virtio.sh SUITE_TIMEOUT=4 test/run.sh
wait_qemu >>"$out"
finish
check cleanup.run_sh_timeout 1 $? '^FAIL boot_virtio: exited with status 124' \
	'^[0-9]+ passed, [1-9][0-9]* failed' '!outlived the suite'
gone cleanup.run_sh_timeout.left

# make run NET=tap's script: QEMU and the namespace go.
if [ "$(id -u)" != 0 ]; then
	echo "SKIP cleanup.netns_sh: not root (a network namespace needs it)"
else
	start ACCEL=tcg test/netns.sh build/native/echo.elf32
	# (the watcher's line may follow SeaBIOS's last on the same line)
	wait_qemu >>"$out" && wait_line 'netns: tap0 is'
	kill -TERM "$pid"
	finish
	check cleanup.netns_sh 143 $? 'netns: tap0 is 10\.80\.0\.1/24 in namespace'
	ns=$(sed -n 's/.*netns: tap0 is .* in namespace \([a-z0-9]*\);.*/\1/p' "$out.txt")
	if gone cleanup.netns_sh.left && [ -n "$ns" ] && ip netns list | grep -qw "$ns"; then
		echo "FAIL cleanup.netns_sh.namespace: $ns is still there"
		ip netns del "$ns"
		failed=1
	fi
fi

# make gdb's script: QEMU halted until gdb continues, the counter app
# then adds for ever; TERM to the script ends QEMU, and gdb with it.
if ! command -v gdb >/dev/null; then
	echo "SKIP cleanup.gdb_sh: gdb is not installed"
else
	start ACCEL=tcg ARGS=4000000000 test/gdb.sh build/native/counter.elf -batch -ex continue
	wait_qemu >>"$out" && sleep 1
	kill -TERM "$pid"
	finish
	check cleanup.gdb_sh 143 $?
	gone cleanup.gdb_sh.left
fi

exit $failed
