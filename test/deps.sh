#!/bin/sh
# deps.sh: make sure the Debian packages that make run (or make test)
# needs are installed.  As root, or with password-less sudo, it installs
# what is missing with apt-get; otherwise it prints the one command to
# run and fails.
#
#   test/deps.sh run     gcc, binutils, make, QEMU, newlib's source, gdb
#   test/deps.sh test    the same, plus what the tests use
set -u
what=${1:-run}

# command-or-path:package pairs (a path: a file that must exist, or the
# directory that must hold newlib's tarball; dnsmasq and nft by their
# paths, as /usr/sbin is on root's PATH but maybe not a user's)
need="gcc:gcc ld:binutils make:make setpriv:util-linux qemu-system-x86_64:qemu-system-x86
gdb:gdb awk:mawk xz:xz-utils /usr/src/newlib:newlib-source"
if [ "$what" = test ]; then
	need="$need timeout:coreutils ip:iproute2 ping:iputils-ping nc:netcat-openbsd
clang:clang /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev
/usr/sbin/dnsmasq:dnsmasq-base /usr/sbin/nft:nftables memccat:libmemcached-tools
curl:curl python3:python3 chromium:chromium wrk:wrk memcached:memcached etcd:etcd-server"
fi

missing=
for pair in $need; do
	thing=${pair%%:*}
	pkg=${pair#*:}
	case $thing in
	/*) [ -f "$thing" ] && continue
		ls "$thing"/newlib-*.tar.* >/dev/null 2>&1 && continue ;;
	*) command -v "$thing" >/dev/null 2>&1 && continue ;;
	esac
	case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo=sudo
else
	echo "missing packages:$missing"
	echo "run:  sudo apt-get install -y$missing"
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null &&
	$sudo apt-get install -y -qq $missing >/dev/null ||
	{ echo "apt-get could not install:$missing"; exit 1; }
