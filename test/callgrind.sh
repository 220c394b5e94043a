#!/bin/sh
# callgrind.sh: instructions per Ebb call against a direct call, per UDP
# datagram, per TCP data segment (checksums in software, and offloaded),
# per 64-byte TCP round trip, per TCP connection, per frame in the
# virtio-net driver, per kvstore GET and SET (alone, and over memlink
# with TCP), and per httpd request (a keep-alive GET over memlink, and
# one answered 304), counted by valgrind's callgrind (repeatable, unlike
# time, and exact on a loaded machine).  Each figure is the marginal
# cost: two runs of different lengths, the difference in instructions
# over the difference in work, so start-up and tear-down cancel out.
# Where issue 12 set a target, the figure is printed beside it.  Part of
# make bench; says so and does nothing if valgrind is not installed.
set -u
b=build/hosted/bench_ebb
n=1000000
if ! command -v valgrind >/dev/null 2>&1; then
	echo "callgrind: valgrind is not installed (apt-get install valgrind); skipping"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The figure and its target: "N instructions per WHAT (target <= T)".
target() { awk -v v="$1" -v t="$2" 'BEGIN { printf "(target <= %d%s)", t, v <= t ? "" : ": not met" }'; }

count() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect="$1" \
		"$b" "$n" 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
d=$(count loop_direct)
e=$(count loop_ebb)
calls=$((5 * n))		# bench_ebb runs each loop 5 times
echo "callgrind, $calls calls of each loop: direct $(echo "$d $calls" | awk '{printf "%.2f", $1/$2}')," \
	"Ebb $(echo "$e $calls" | awk '{printf "%.2f", $1/$2}') instructions per call (loop overhead included)"

# UDP over memlink: the marginal instructions of one datagram (down one
# stack, across the wire, up the other), from two runs of bench_udp.
u=build/hosted/bench_udp
total() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$u" "$1" 2>&1 |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
t1=$(total 2000)
t2=$(total 6000)
v=$(echo "$t1 $t2" | awk '{printf "%.0f", ($2 - $1) / (2 * 2 * 4000)}')
echo "callgrind, UDP echo over memlink: $v instructions per datagram $(target "$v" 1500)" \
	"(2 cores x 4000 more round trips, 2 datagrams each)"

# One run of bench_tcp under callgrind: "I total", "C checksum" (the
# instructions in tcp/inet.c, wherever they were called from), and the
# segment counts it prints ("S" the bulk sender's data segments, "T"
# every segment of both stacks).
tb=build/hosted/bench_tcp
tcp_run() {
	out=$tmp/cg.out
	valgrind --tool=callgrind --callgrind-out-file="$out" "$tb" "$@" 2>&1 |
		sed -n -e 's/.*Collected : *\([0-9]*\).*/I \1/p' \
			-e 's/.*bulk sender: \([0-9]*\) segments out.*/S \1/p' \
			-e 's/.*everything: \([0-9]*\) sent.*/T \1/p'
	callgrind_annotate --auto=no --threshold=100 "$out" 2>/dev/null |
		awk '/tcp\/inet\.c:/ { gsub(",", "", $1); c += $1 } END { print "C", c + 0 }'
}

# TCP bulk over memlink: the marginal instructions of one data segment
# (sent by one stack, across the wire, received by the other, and its
# share of the ACKs going back), from two runs of bench_tcp bulk; with
# checksums in software (of those, how many are checksum: two sums of
# each data segment's 1,468 bytes, the ACKs', the IPv4 headers'), and
# offloaded (only the IPv4 headers' sums are left).
bulk() {	# bulk LABEL TARGET [--offload]
	label=$1 goal=$2
	shift 2
	r1=$(tcp_run "$@" bulk 16777216)
	r2=$(tcp_run "$@" bulk 67108864)
	echo "$r1 $r2" | awk -v label="$label" -v goal="$goal" '
	{ for (i = 1; i < NF; i += 2) v[$i, ++n[$i]] = $(i + 1) }
	END { di = v["I", 2] - v["I", 1]; ds = v["S", 2] - v["S", 1]; dt = v["T", 2] - v["T", 1];
	      dc = v["C", 2] - v["C", 1];
	      if (ds <= 0 || dt <= 0) { print "callgrind, TCP bulk over memlink, " label ": no figures (bench_tcp failed?)"; exit }
	      f = di / ds;
	      printf "callgrind, TCP bulk over memlink, %s: %.0f instructions per data segment " \
		  "(target <= %d%s), %.0f of them checksum, %.0f the rest (%.0f per segment " \
		  "of either kind; %d more data segments in 48 MiB more)\n",
		  label, f, goal, f <= goal ? "" : ": not met", dc / ds, (di - dc) / ds, di / dt, ds }'
}
if [ -x "$tb" ]; then
	bulk "checksums in software" 3000
	bulk "checksums offloaded" 1500 --offload
fi

# One more unit of a bench_tcp mode (a round trip, a connection), from
# two runs of N1 and N2 units: "callgrind, LABEL: X instructions per
# UNIT (NOTE; from N2-N1 more)".
marginal() {	# marginal MODE N1 N2 LABEL UNIT NOTE
	k1=$(tcp_run $1 "$2" | sed -n 's/^I //p')
	k2=$(tcp_run $1 "$3" | sed -n 's/^I //p')
	echo "$k1 $k2" | awk -v d=$(($3 - $2)) -v label="$4" -v unit="$5" -v note="$6" '
	    NF == 2 { printf "callgrind, %s: %.0f instructions per %s (%s; from %d more)\n",
		label, ($2 - $1) / d, unit, note, d }
	    NF != 2 { print "callgrind, " label ": no figures (bench_tcp failed?)" }'
}
if [ -x "$tb" ]; then
	# A 64-byte request and its 64-byte echo, Nagle off.
	marginal rr 20000 60000 "TCP round trips over memlink" "round trip" \
		"64 bytes each way, both stacks, checksums in software"
	marginal "--offload rr" 20000 60000 "TCP round trips over memlink" "round trip" \
		"64 bytes each way, both stacks, checksums offloaded"
	# The handshake, 64 bytes each way, the FINs.
	marginal cps 2000 6000 "TCP connections over memlink" connection \
		"connect, 64 bytes echoed, close; both stacks"
fi

# The virtio-net driver against the device model: the instructions it
# spends per frame (one sent and one received each round), collected
# only inside its entry points, from two runs of bench_vnet.
vb=build/hosted/bench_vnet
vnet_run() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		--toggle-collect=vnet_transmit --toggle-collect=vnet_rx_interrupt \
		--toggle-collect=rx_event --toggle-collect=vnet_idle \
		--toggle-collect=watch_fire "$vb" "$1" 2>&1 |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
if [ -x "$vb" ]; then
	v1=$(vnet_run 100000)
	v2=$(vnet_run 300000)
	echo "callgrind, virtio-net driver (hosted, device model): $(echo "$v1 $v2" |
		awk '{printf "%.0f", ($2 - $1) / (2 * 200000)}') instructions per frame" \
		"(64-byte frames, one sent and one received a round, buffers and the stack's drop included)"
fi

# kvstore's request path (the text parser, the store, the reply batch;
# no network): the marginal instructions of one GET (a hit, 32-byte key,
# 64-byte value), of one SET, of one mg and of one binary GET, from two
# runs of bench_kv.
kb=build/hosted/bench_kv
if [ -x "$kb" ]; then
	kv_run() {
		valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect="$1" \
			"$kb" "$2" 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
	}
	g1=$(kv_run kv_bench_gets 20000)
	g2=$(kv_run kv_bench_gets 60000)
	s1=$(kv_run kv_bench_sets 20000)
	s2=$(kv_run kv_bench_sets 60000)
	m1=$(kv_run kv_bench_mgets 20000)
	m2=$(kv_run kv_bench_mgets 60000)
	b1=$(kv_run kv_bench_bgets 20000)
	b2=$(kv_run kv_bench_bgets 60000)
	echo "$g1 $g2 $s1 $s2 $m1 $m2 $b1 $b2" | awk '{ printf "callgrind, kvstore request path " \
	    "(parser, store, reply; no TCP): %.0f instructions per GET, %.0f per SET, " \
	    "%.0f per mg, %.0f per binary GET\n", ($2 - $1) / 40000, ($4 - $3) / 40000, \
	    ($6 - $5) / 40000, ($8 - $7) / 40000 }'
fi

# httpd's request path over memlink: the marginal instructions of one
# keep-alive GET of the 612-byte page (the client's request through
# both stacks, httpd's parser and answer, the answer back and read),
# from two runs of bench_httpd; of them, those in app/httpd's own files
# (parse.c, serve.c, httpd.c, ...; not the libc they call).  Then the
# same for a conditional GET answered 304.
hb=build/hosted/bench_httpd
if [ -x "$hb" ]; then
	http_run() {
		valgrind --tool=callgrind --callgrind-out-file="$tmp/http.out" "$hb" "$@" 2>&1 |
			sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
		callgrind_annotate --auto=no --threshold=100 "$tmp/http.out" 2>/dev/null |
			awk '/ app\/httpd\// { gsub(",", "", $1); c += $1 } END { print c + 0 }'
	}
	h1=$(http_run 2000)
	h2=$(http_run 6000)
	echo $h1 $h2 | awk '
	    NF == 4 { printf "callgrind, httpd over memlink: %.0f instructions per request (keep-alive GET " \
		"of a 612-byte page: client, both stacks, httpd; %.0f of them in app/httpd; from 4000 more)\n",
		($3 - $1) / 4000, ($4 - $2) / 4000 }
	    NF != 4 { print "callgrind, httpd over memlink: no figures (bench_httpd failed?)" }'
	# The same GET with If-None-Match: the page's ETag, answered 304.
	h1=$(http_run 2000 304)
	h2=$(http_run 6000 304)
	echo $h1 $h2 | awk '
	    NF == 4 { printf "callgrind, httpd over memlink: %.0f instructions per conditional GET " \
		"answered 304 (%.0f of them in app/httpd)\n", ($3 - $1) / 4000, ($4 - $2) / 4000 }
	    NF != 4 { print "callgrind, httpd over memlink: no 304 figures (bench_httpd failed?)" }'
fi

# The kvstore over memlink: the marginal instructions of one GET (a hit,
# 32-byte key, 64-byte value) and of one SET, one in flight (the client's
# request down its stack, across the wire, up the server's, the kvstore's
# parser, store and reply, the reply back and checked), from two runs of
# bench_kvnet each; of them, those in app/kvstore's own files.  Issue 13's
# target is for a GET; EbbRT's memcached took 5,557 per request.
nb=build/hosted/bench_kvnet
if [ -x "$nb" ]; then
	kvnet_run() {	# kvnet_run [--offload] OP N
		valgrind --tool=callgrind --callgrind-out-file="$tmp/kvnet.out" "$nb" "$@" 2>&1 |
			sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
		callgrind_annotate --auto=no --threshold=100 "$tmp/kvnet.out" 2>/dev/null |
			awk '/ app\/kvstore\// { gsub(",", "", $1); c += $1 } END { print c + 0 }'
	}
	for run in get set "--offload get" "--offload set"; do
		op=${run#--offload }
		how="checksums in software"
		[ "$op" = "$run" ] || how="checksums offloaded"
		echo $(kvnet_run $run 2000) $(kvnet_run $run 6000) | awk -v op=$op -v how="$how" '
		    NF == 4 { v = ($3 - $1) / 4000;
			printf "callgrind, kvstore over memlink, %s: %.0f instructions per %s ", how, v, toupper(op);
			if (op == "get")
				printf "(target <= 3000%s; EbbRT 5557) ", v <= 3000 ? "" : ": not met";
			printf "(32-byte key, 64-byte value, one in flight: client, both stacks, " \
			    "the kvstore; %.0f of them in app/kvstore; from 4000 more)\n", ($4 - $2) / 4000 }
		    NF != 4 { print "callgrind, kvstore over memlink: no figures (bench_kvnet failed?)" }'
	done
fi

# The kvstore's server side alone: a scripted client hands each request
# to the server's interface (bench_kvsrv), and only what runs inside that
# netif_input is collected: the stack up, the kvstore, the reply down to
# the interface; the instructions a server executes per request, as
# EbbRT counted its 5,557.
sb=build/hosted/bench_kvsrv
if [ -x "$sb" ]; then
	srv_run() {
		valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=netif_input \
			"$sb" "$1" "$2" 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
	}
	for op in get set; do
		echo $(srv_run $op 2000) $(srv_run $op 6000) | awk -v op=$op '
		    NF == 2 { v = ($2 - $1) / 4000;
			printf "callgrind, kvstore server side alone: %.0f instructions per %s ", v, toupper(op);
			if (op == "get")
				printf "(target <= 3000%s; EbbRT 5557, server side too) ", v <= 3000 ? "" : ": not met";
			printf "(a scripted client, checksums offloaded: the stack up, the kvstore, " \
			    "the reply down to the interface; from 4000 more)\n" }
		    NF != 2 { print "callgrind, kvstore server side alone: no figures (bench_kvsrv failed?)" }'
	done
fi

# Debian's memcached under the same load, for comparison: one worker
# thread (-t 1) on the host's loopback, sent GETs (then SETs) one at a
# time on one connection by test/kv_load (the same 32-byte keys, 64-byte
# values, every reply checked); two runs of different lengths, each its
# own memcached under callgrind, ended by SIGTERM.  Collected only inside
# libevent's event_base_loop, where its threads serve connections (not
# its LRU maintainer's and crawler's timed wake-ups, which would count
# the run's length, not its requests).  Callgrind sees user space only:
# Linux's TCP/IP, which carries memcached's requests, is not in these
# figures, while the kvstore's above include two TCP stacks and the
# client.  As root, memcached runs as nobody (it will not run as root
# without -u, and after -u it could not write callgrind's file).
lb=build/test/kv_load
if [ -x "$lb" ] && command -v memcached >/dev/null 2>&1; then
	as=
	[ "$(id -u)" = 0 ] && as="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	mport=$((20000 + $$ % 10000))
	mc_run() {	# mc_run N GET%: memcached's instructions for 100 SETs and N requests
		mkdir -p "$tmp/mc" && chmod 777 "$tmp" "$tmp/mc"
		# valgrind keeps some file descriptors for itself, and memcached sets its
		# limit to -c's connections, which valgrind allows only at its own limit
		(ulimit -n 1036; exec $as valgrind --tool=callgrind --vgdb=no \
			--callgrind-out-file="$tmp/mc/cg.out" --toggle-collect=event_base_loop \
			memcached -t 1 -c 1024 -l 127.0.0.1 -p "$mport" -U 0 >"$tmp/mc/log" 2>&1) &
		mpid=$!
		for _ in $(seq 100); do
			"$lb" -n 1 -g 0 -t 2 127.0.0.1 "$mport" >/dev/null 2>&1 && break
			sleep 0.2
		done
		"$lb" -w -g "$2" -k 100 -n "$1" -t 120 127.0.0.1 "$mport" >"$tmp/mc/load" 2>&1 ||
			echo "callgrind, memcached: kv_load: $(tail -1 "$tmp/mc/load")" >&2
		kill -TERM "$mpid" 2>/dev/null
		wait "$mpid" 2>/dev/null
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$tmp/mc/log"
	}
	for op in get set; do
		pct=100
		[ $op = set ] && pct=0
		echo $(mc_run 2000 $pct) $(mc_run 6000 $pct) | awk -v op=$op '
		    NF == 2 { printf "callgrind, Debian memcached -t 1 over loopback: %.0f instructions per %s " \
			"(user space only, its serving threads: not Linux'"'"'s TCP; 32-byte key, 64-byte value, " \
			"one in flight; from 4000 more)\n", ($2 - $1) / 4000, toupper(op) }
		    NF != 2 { print "callgrind, Debian memcached: no figures (memcached under valgrind failed?)" }'
	done
fi
