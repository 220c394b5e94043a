#!/bin/bash
# bench_httpd.sh: part of make bench (root): the httpd app's requests per
# second and latency beside Linux's nginx, for a 612-byte page (the
# Unikraft paper's nginx setup; test/bench_www/612.html) and a 64 KiB
# file, with 16 and 256 connections each doing keep-alive requests back
# to back for BENCH_SECS (5) seconds, all in one network namespace:
#
#   httpd hosted   build/hosted/httpd --tap tap0 (one core), at 10.77.0.2
#                  behind the TAP device (Linux's end 10.77.0.1)
#   nginx          Debian's nginx, one worker, on the namespace's
#                  127.0.0.1:8080, serving the same two files (Linux's
#                  own server: its requests go over Linux's loopback,
#                  not a TAP device and a second stack)
#   httpd native   the image in QEMU (KVM or TCG: printed) on a TAP
#                  device there, at 10.79.0.2
#
# measured by test/http_load.c (every answer checked: status, length,
# bytes) and by Debian's wrk (installed here with apt-get when missing,
# or skipped with a message); nginx likewise (installed with services
# kept from starting: policy-rc.d says 101, so the package's own nginx
# never listens on the host's port 80; ours is started by hand with a
# configuration written under a temporary directory, and ended with the
# script).  The two files are packed into httpd by rebuilding it with
# WWW=build/bench-www (only the packed site and the link change); the
# default site is rebuilt when the script ends.  It prints a line per
# run, then the table; it asserts nothing, and a run with errors says
# so in its line and in the table's errors column.
. "$(dirname "$0")/lib.sh" ""

secs=${BENCH_SECS:-5}
ns=ebbhb$$
site=build/bench-www
load=build/test/http_load
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
	make -s build/hosted/httpd build/native/httpd.elf >/dev/null 2>&1
}
if ! netns_make "$ns" "$load"; then
	echo "bench_httpd: skipped: $why"
	exit 0
fi

# want CMD PKG: CMD there, or PKG installed by apt-get with no service
# started (a policy-rc.d that refuses, made for the install if the host
# has none); 1 if it still is not there.
want() {
	command -v "$1" >/dev/null && return 0
	command -v apt-get >/dev/null || return 1
	local made=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# bench_httpd.sh: no service starts while it installs\nexit 101\n' \
			>/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made=1
	fi
	echo "bench_httpd: installing $2 (apt-get; no service started)"
	run apt-get update -qq >/dev/null 2>&1
	DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq "$2" >/dev/null 2>&1
	[ -n "$made" ] && rm -f /usr/sbin/policy-rc.d
	command -v "$1" >/dev/null
}
PATH=$PATH:/usr/sbin
want wrk wrk || echo "bench_httpd: no wrk (apt-get install wrk): http_load's figures only"
want nginx nginx || echo "bench_httpd: no nginx (apt-get install nginx): no figures beside httpd's"

mkdir -p "$site"
cp test/bench_www/612.html "$site/612.html"
[ -s "$site/64k.bin" ] || head -c 65536 /dev/urandom >"$site/64k.bin"
make -s WWW="$site" build/hosted/httpd build/native/httpd.elf >/dev/null || exit 1
in_ns() { run ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
accel=$(grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ] && echo KVM || echo TCG)

# nginx's configuration: one worker (hosted httpd runs on one core),
# keep-alive without a request limit (as httpd), no access log, the
# files from a copy under $tmp (its workers run as nobody).
nginx_conf() {
	mkdir -p "$tmp/www" "$tmp/ngx"
	cp "$site/612.html" "$site/64k.bin" "$tmp/www/"
	chmod 755 "$tmp" "$tmp/www"
	chmod 644 "$tmp/www/"*
	cat >"$tmp/ngx/nginx.conf" <<EOF
# Written by test/bench_httpd.sh for one run; removed with it.
daemon off;
master_process on;
worker_processes 1;
pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/error.log;
events { worker_connections 4096; }
http {
	types { text/html html; application/octet-stream bin; }
	access_log off;
	sendfile on;
	tcp_nodelay on;
	keepalive_requests 100000000;
	keepalive_timeout 60s;
	client_body_temp_path $tmp/ngx/body;
	proxy_temp_path $tmp/ngx/proxy;
	fastcgi_temp_path $tmp/ngx/fastcgi;
	uwsgi_temp_path $tmp/ngx/uwsgi;
	scgi_temp_path $tmp/ngx/scgi;
	server {
		listen 127.0.0.1:8080;
		root $tmp/www;
	}
}
EOF
}

# start KIND: one server; sets $host and $port; 0 once it answers.
start() {
	local dev=
	case $1 in
	httpd_hosted) ip netns exec "$ns" build/hosted/httpd --tap tap0 ip=10.77.0.2/24 \
			>"$tmp/server.out" 2>&1 &
		pid=$! host=10.77.0.2 port=80 dev=tap0 ;;
	nginx)	nginx_conf
		ip netns exec "$ns" nginx -p "$tmp/ngx/" -e "$tmp/ngx/error.log" \
			-c "$tmp/ngx/nginx.conf" >"$tmp/server.out" 2>&1 &
		pid=$! host=127.0.0.1 port=8080 ;;
	httpd_native) ARGS="ip=10.79.0.2/24" ip netns exec "$ns" test/qemu.sh \
			build/native/httpd.elf32 -netdev tap,id=n0,ifname=tapq0,script=no,downscript=no \
			-device virtio-net-pci,netdev=n0 </dev/null >"$tmp/server.out" 2>&1 &
		pid=$! host=10.79.0.2 port=80 dev=tapq0 ;;
	esac
	if [ -n "$dev" ]; then
		for _ in $(seq 300); do in_ns ip link show "$dev" >/dev/null 2>&1 && break; sleep 0.1; done
		in_ns ip addr add "${host%.2}.1/24" dev "$dev"
		in_ns ip link set "$dev" up
	fi
	for _ in $(seq 300); do
		in_ns curl -s -m 2 -o /dev/null "http://$host:$port/612.html" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

stop() { app_stop; }

# measure LABEL FILE CONNS: http_load, then wrk; a line for each, and a
# row for the table in $tmp/rows: LABEL|FILE|CONNS|http_load's last
# line|wrk's req/s|p50|p99|errors ("" if none; all "-" without wrk).
measure() {
	local label=$1 f=$2 c=$3 r w="-|-|-|"
	r=$(in_ns "$load" -c "$c" -n 0 -d "$secs" -t $((secs + 60)) -f "$site/$f" "$host" "$port" "/$f" |
		tail -1)
	printf '%-26s %-9s c=%-4d http_load: %s\n' "$label" "$f" "$c" "$r"
	if command -v wrk >/dev/null; then
		w=$(in_ns wrk -t2 -c"$c" -d"${secs}s" --latency "http://$host:$port/$f" 2>&1 |
			awk '/Requests\/sec/ {rps=$2} / 50%/ {p50=$2} / 99%/ {p99=$2}
			     /Socket errors|Non-2xx/ {sub(/^ */, ""); err=err (err ? ", " : "") $0}
			     END {printf "%s|%s|%s|%s", rps, p50, p99, err}')
		printf '%-26s %-9s c=%-4d wrk:       %s\n' "$label" "$f" "$c" "$w"
	fi
	echo "$label|$f|$c|$r|$w" >>"$tmp/rows"
}

# The table: a row per server, file and connection count.
table() {
	echo
	echo "| server | file | conns | http_load req/s | p50 / p99 | wrk req/s | p50 / p99 | errors |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -F'|' '
	function us(v) {
		if (v >= 1000000) return sprintf("%.2f s", v / 1000000)
		return v >= 1000 ? sprintf("%.1f ms", v / 1000) : sprintf("%.0f us", v)
	}
	function wt(t) {	# wrk writes "208.00us", "1.85ms", "1.02s"
		if (t ~ /us$/) return us(t + 0)
		if (t ~ /ms$/) return us(t * 1000)
		if (t ~ /s$/) return us(t * 1000000)
		return t
	}
	{
		# "ok N requests E errors C connect_errors in T s: R req/s, latency us p50 A p90 B p99 C max D"
		n = split($4, h, " ")
		for (i = 1; i <= n; i++) {
			if (h[i] == "p50") hp50 = h[i + 1]
			if (h[i] == "p99") hp99 = h[i + 1]
			if (h[i] == "req/s,") hrps = h[i - 1]
		}
		errs = h[1] == "ok" ? "" : "http_load: " h[4] " errors, " h[6] " connect errors"
		if ($8 != "")
			errs = errs (errs ? "; " : "") "wrk: " $8
		printf "| %s | %s | %s | %s | %s / %s | %s | %s / %s | %s |\n", $1,
		    $2 == "612.html" ? "612 B" : "64 KiB", $3, hrps, us(hp50), us(hp99),
		    $5 == "-" ? "-" : sprintf("%.0f", $5), wt($6), wt($7), errs ? errs : "none"
	}' "$tmp/rows"
}

: >"$tmp/rows"
for kind in httpd_hosted nginx httpd_native; do
	case $kind in
	httpd_hosted) label="httpd hosted (TAP)" ;;
	nginx)	label="nginx (Linux, lo)"
		command -v nginx >/dev/null || continue ;;
	httpd_native) label="httpd native ($accel, TAP)" ;;
	esac
	if ! start $kind; then
		echo "$label: did not start"
		sed 's/^/    /' "$tmp/server.out" | tail -5
		stop
		continue
	fi
	for f in 612.html 64k.bin; do
		for c in 16 256; do
			measure "$label" $f $c
		done
	done
	stop
done
[ -s "$tmp/rows" ] && table
exit 0
