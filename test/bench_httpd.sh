#!/bin/bash
# bench_httpd.sh: part of make bench (root): the httpd app's requests per
# second and latency, for a 612-byte page (the Unikraft paper's nginx
# setup) and a 64 KiB file, with 16 and 256 connections each doing
# keep-alive requests back to back for BENCH_SECS (5) seconds:
#
#   hosted	build/hosted/httpd --tap tap0 in a namespace of its own
#   native	the image in QEMU on a TAP device there (KVM or TCG: printed)
#
# measured by test/http_load.c (every answer checked: status, length,
# bytes) and, when Debian's wrk is installed, by wrk as well.  The two
# files are packed by rebuilding httpd with WWW=build/bench-www (only
# the packed site and the link change); the default site is rebuilt
# when the script ends.  It prints figures and asserts nothing; a
# server that fails a request shows "FAIL" in its line.
. "$(dirname "$0")/lib.sh" ""

secs=${BENCH_SECS:-5}
ns=ebbhb$$
site=build/bench-www
load=build/test/http_load
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	make -s build/hosted/httpd build/native/httpd.elf >/dev/null 2>&1
}
if ! netns_make "$ns" "$load"; then
	echo "bench_httpd: skipped: $why"
	exit 0
fi
mkdir -p "$site"
{ printf '<!doctype html>\n<title>612</title>\n'; head -c 2000 /dev/zero | tr '\0' 'x' | fold -w 70; } |
	head -c 611 >"$site/612.html"
echo >>"$site/612.html"
head -c 65536 /dev/urandom >"$site/64k.bin"
make -s WWW="$site" build/hosted/httpd build/native/httpd.elf >/dev/null || exit 1
in_ns() { run ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
accel=$(grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ] && echo KVM || echo TCG)

start() {
	local dev=$2
	case $1 in
	hosted) ip netns exec "$ns" build/hosted/httpd --tap tap0 ip=10.77.0.2/24 >/dev/null 2>&1 &
		pid=$! host=10.77.0.2 ;;
	native) ARGS="ip=10.79.0.2/24" ip netns exec "$ns" test/qemu.sh build/native/httpd.elf32 \
			-netdev tap,id=n0,ifname=tapq0,script=no,downscript=no \
			-device virtio-net-pci,netdev=n0 </dev/null >/dev/null 2>&1 &
		pid=$! host=10.79.0.2 ;;
	esac
	for _ in $(seq 300); do in_ns ip link show "$dev" >/dev/null 2>&1 && break; sleep 0.1; done
	in_ns ip addr add "${host%.2}.1/24" dev "$dev"
	in_ns ip link set "$dev" up
	for _ in $(seq 300); do
		in_ns curl -s -m 2 -o /dev/null "http://$host/612.html" && return 0
		sleep 0.2
	done
	return 1
}

for kind in hosted native; do
	dev=$([ $kind = hosted ] && echo tap0 || echo tapq0)
	label=$([ $kind = hosted ] && echo "hosted (TAP)" || echo "native ($accel, TAP)")
	if ! start $kind $dev; then
		echo "httpd $label: did not start"
		kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
		continue
	fi
	for f in 612.html 64k.bin; do
		for c in 16 256; do
			r=$(in_ns "$load" -c $c -n 0 -d "$secs" -t $((secs + 60)) -f "$site/$f" "$host" 80 "/$f" | tail -1)
			printf 'httpd %-20s %-9s c=%-4d http_load: %s\n' "$label" "$f" $c "$r"
			if command -v wrk >/dev/null; then
				w=$(in_ns wrk -t2 -c$c -d"${secs}s" --latency "http://$host/$f" 2>&1 |
					awk '/Requests\/sec/ {rps=$2} / 50%/ {p50=$2} / 99%/ {p99=$2}
					     /Socket errors/ {err=$0} /Non-2xx/ {n2=$0}
					     END {printf "%s req/s, latency p50 %s p99 %s%s%s", rps, p50, p99,
						  err ? ", " err : "", n2 ? ", " n2 : ""}')
				printf 'httpd %-20s %-9s c=%-4d wrk:       %s\n' "$label" "$f" $c "$w"
			fi
		done
	done
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
	in_ns ip link del $dev 2>/dev/null
done
command -v nginx >/dev/null || echo "httpd: Linux's nginx is not installed here, so no figures beside it"
exit 0
