# lib.sh: what the boot*.sh scripts and run.sh share; they source it.
#
# Sets $out (a temporary file for one test's output, removed at exit),
# $failed (0; check sets it to 1) and $accels ("tcg", or "tcg kvm" when
# the host has hardware virtualization: the vmx or svm CPU flag and a
# usable /dev/kvm; otherwise, for a script that boots QEMU — one that
# names itself, as "boot" or "smp" — it prints a SKIP line for NAME.kvm).
#
# netns_make NS FILE... (below): root, the FILEs built, a namespace made.
#
# check NAME EXPECTED_STATUS STATUS PATTERN...
#	prints PASS or FAIL (with the last 40 lines of output): the status
#	must match and every pattern (an extended regular expression) must
#	match a line of $out, CRs removed; a pattern starting with "!" must
#	match no line.  A script may define check_note, whose output is put
#	after PASS in parentheses.
#
# Processes: everything a script starts ends with it -- when it ends
# well, when a check fails, when run.sh's timeout sends it TERM, on
# Ctrl-C (INT) and on HUP -- with no work from the script:
#
#   - its tag: sourcing lib.sh adds NAME.PID to EBB_TEST_TAGS in the
#     environment, so every program the script runs carries it, and so
#     does every program those run: QEMU under qemu.sh, whatever `ip
#     netns exec`, setsid or timeout starts.  A process keeps it when it
#     changes process group or session or is orphaned, which is how
#     helpers used to escape (a timeout's own process group, a QEMU
#     whose qemu.sh was killed).
#   - at exit (an EXIT trap; INT, TERM and HUP end the script with 130,
#     143 and 129 through it) lib.sh reaps the tag: every process that
#     carries it or descends from the script gets TERM, has up to 5 s to
#     go (a script among them runs its own exit trap), then KILL.  Then
#     it calls the script's function `cleanup`, if it defines one (to
#     delete namespaces and files once nothing uses them), and removes
#     $out.  A script sets no EXIT trap of its own.
#   - bash runs a trap only once the foreground command has ended, so a
#     script waiting on `timeout 120 ...` would notice Ctrl-C only two
#     minutes later (timeout's child is in a process group of its own,
#     which Ctrl-C does not reach).  So commands that take long run
#     through `run CMD...` (CMD in the background, then the wait
#     builtin, which a signal interrupts at once; CMD keeps the
#     script's standard input), and `timeout` here is a function that
#     runs coreutils' timeout that way: a script that writes
#     `timeout 30 cmd` gets it without asking.
#
#   tagged TAG		the processes (pids) whose environment carries TAG
#   procs_of TAG [ROOT]	the live processes (pids) carrying TAG, and with
#			ROOT those descending from ROOT; never the caller
#   reap TAG [SECS [ROOT]]  end those: TERM, up to SECS (5) to go, then
#			KILL; prints "PID COMMAND" for each one it found
#   qemu_of TAG		the pid of a QEMU carrying TAG, if one runs
#   test_tag		this script's tag; a test that starts a script or
#			qemu.sh under a tag of its own (EBB_TEST_TAGS="$EBB_TEST_TAGS
#			TAG" cmd) can then look for what outlived it (test/boot_cleanup.sh)
set -u
cd "$(dirname "$0")/.."

out=$(mktemp)
failed=0

if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	accels="tcg kvm"
else
	accels="tcg"
	[ -n "${1:-}" ] && echo "SKIP $1.kvm: no hardware virtualization here (no vmx/svm flag), TCG only"
fi

check() {
	local name=$1 want=$2 got=$3 pat
	shift 3
	tr -d '\r' <"$out" >"$out.txt"
	if [ "$got" -ne "$want" ]; then
		echo "FAIL $name: exit status $got, expected $want; output:"
		sed 's/^/    /' "$out.txt" | tail -40
		failed=1
		return
	fi
	for pat in "$@"; do
		if [ "${pat#!}" != "$pat" ]; then
			grep -qE -- "${pat#!}" "$out.txt" || continue
			echo "FAIL $name: a line matches /${pat#!}/; output:"
		else
			grep -qE -- "$pat" "$out.txt" && continue
			echo "FAIL $name: no line matches /$pat/; output:"
		fi
		sed 's/^/    /' "$out.txt" | tail -40
		failed=1
		return
	done
	if declare -F check_note >/dev/null; then
		echo "PASS $name ($(check_note))"
	else
		echo "PASS $name"
	fi
}

# ---- processes --------------------------------------------------------------

test_tag=$(basename "$0" .sh).$$
export EBB_TEST_TAGS="${EBB_TEST_TAGS:-} $test_tag"

# tagged TAG: see the top of this file.  /proc/PID/environ is the
# environment a program was started with, NUL-separated; grep runs
# without the tags, so it is not among them.
tagged() {
	EBB_TEST_TAGS='' grep -lzE "^EBB_TEST_TAGS=(.* )?${1//./\\.}( |\$)" /proc/[0-9]*/environ \
		2>/dev/null | EBB_TEST_TAGS='' sed 's,^/proc/\([0-9]*\)/environ$,\1,'
}

# qemu_of TAG: see the top of this file.
qemu_of() {
	local p
	for p in $(tagged "$1"); do
		grep -q '^qemu-system' "/proc/$p/cmdline" 2>/dev/null && echo "$p" && return
	done
}

# procs_of TAG [ROOT]: see the top of this file; with ROOT (a pid),
# ROOT's descendants too, but never ROOT itself.  The shell that calls
# it (which may be a subshell of the script's) and the programs it runs
# are left out: they carry no tag, and the awk below skips the caller's
# ancestors and the subshell's descendants.  Call it as $(procs_of ...).
procs_of() {
	local me=$BASHPID
	{
		tagged "$1" | EBB_TEST_TAGS='' sed 's/^/T /'
		EBB_TEST_TAGS='' ps -e -o pid=,ppid=,stat=
	} | EBB_TEST_TAGS='' awk -v root="${2:-0}" -v me="$me" '
		$1 == "T" { tagged[$2] = 1; next }
		{ parent[$1] = $2; if ($3 ~ /^Z/) zombie[$1] = 1 }
		END {
			for (q = me; q in parent && q > 1; q = parent[q])
				skip[q] = 1
			for (p in parent) {
				if ((p in skip) || (p in zombie) || p == root)
					continue
				want = (p in tagged)
				for (q = parent[p]; q in parent && q > 1; q = parent[q]) {
					if (q == me) { want = 0; break }
					if (q == root) { want = 1; break }
				}
				if (want)
					print p
			}
		}'
}

# reap TAG [SECS [ROOT]]: see the top of this file (ROOT as procs_of's).
reap() {
	local pids i
	pids=$(procs_of "$1" "${3:-}")
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	ps -o pid=,args= -p "$(echo $pids | tr ' ' ,)" 2>/dev/null
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		pids=$(procs_of "$1" "${3:-}")
		[ -n "$pids" ] || return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
}

# run CMD...: CMD as a child waited for with wait, which a signal to the
# script interrupts at once; its status.
run() {
	"$@" <&0 &
	wait $!
}

# timeout SECS CMD...: coreutils' timeout, through run.
timeout() {
	run command timeout "$@"
}

# The EXIT trap: reap, then the script's cleanup, then $out.  A second
# signal must not cut it short (timeout sends TERM to its whole process
# group, so a script under it can get two): they are ignored meanwhile,
# and reap ends within its 5 s.
lib_exit() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP
	reap "$test_tag" 5 $$ >/dev/null
	if declare -F cleanup >/dev/null; then
		cleanup
	fi
	rm -f "$out" "$out.txt"
	exit $rc
}
trap lib_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# netns_make NS FILE...: as root, check that each FILE is built and make
# the network namespace NS; 0, or 1 with $why set for the script's SKIP
# lines (and no namespace made).  The script removes NS at exit.
netns_make() {
	local ns=$1 f
	shift
	if [ "$(id -u)" != 0 ]; then
		why="not root: a network namespace and a TAP device need it"; return 1
	fi
	for f in "$@"; do
		[ -x "$f" ] || { why="$f is not built (make $f)"; return 1; }
	done
	ip netns add "$ns" 2>/dev/null || { why="'ip netns' is unavailable here"; return 1; }
}

# wait_dev DEV: until the test's namespace has the device DEV (which the
# app or QEMU makes), as long as the app ($pid) lives; 0, or 1.  The
# caller defines in_ns, as netns_make's callers do.
wait_dev() {
	for _ in $(seq 200); do
		in_ns ip link show "$1" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# wait_line PATTERN SECS: until the app's output ($tmp/app.out) has a
# line matching PATTERN, for at most SECS seconds and as long as the app
# ($pid) lives; 0, or 1.
wait_line() {
	for _ in $(seq $(($2 * 10))); do
		grep -qE "$1" "$tmp/app.out" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# app_up DEV ADDR PATTERN SECS: an app just started in the namespace
# ($pid): if it makes a TAP device DEV (not "none"), Linux's end gets
# ADDR's .1/24 (ADDR ends in .2) and comes up; then, as wait_line, until
# PATTERN is in its output.  0, or 1.
app_up() {
	if [ "$1" != none ]; then
		wait_dev "$1" || return 1
		in_ns ip addr add "${2%.2}.1/24" dev "$1" && in_ns ip link set "$1" up || return 1
	fi
	wait_line "$3" "$4"
}

# ns_app_cleanup: the cleanup of a script that runs one app ($pid, if
# any) in a namespace ($ns) of its own with a temporary directory ($tmp).
ns_app_cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}

# app_stop: end the app a script started ($pid) and remove the TAP
# devices such scripts make in their namespace (tap0, tapq0).
app_stop() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	in_ns ip link del tap0 2>/dev/null
	in_ns ip link del tapq0 2>/dev/null
}
