# lib.sh: what the boot*.sh scripts share; they source it.
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
set -u
cd "$(dirname "$0")/.."

out=$(mktemp)
trap 'rm -f "$out" "$out.txt"' EXIT
failed=0

if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	accels="tcg kvm"
else
	accels="tcg"
	[ $# -gt 0 ] && echo "SKIP $1.kvm: no hardware virtualization here (no vmx/svm flag), TCG only"
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
