#!/bin/bash
# gdb.sh: boot an image halted, with QEMU's gdb stub on a free local
# port, and attach gdb with the image's 64-bit symbols.
#
#   test/gdb.sh build/native/APP.elf [gdb options...]
#
# In gdb:  break kmain   then   continue   (under KVM use hbreak: the
# image is copied into place after gdb plants a software breakpoint).
# Quitting gdb stops QEMU.  Extra options go to gdb, so a test can run
# it in batch mode.
set -u
elf=${1:?usage: test/gdb.sh IMAGE.elf [gdb options]}
shift

port=1234
while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do
	port=$((port + 1))
done

# qemu.sh gets TERM from the kernel if this script dies (setpriv
# --pdeathsig), and from the EXIT trap when it ends (bash runs that trap
# on a fatal signal too); either way it stops QEMU.  INT is left alone:
# Ctrl-C belongs to gdb, to interrupt the machine.
setpriv --pdeathsig TERM test/qemu.sh "${elf}32" -S -gdb tcp:127.0.0.1:$port </dev/null \
	>"${elf%.elf}.gdb-console.log" 2>&1 &
qemu=$!
trap 'kill -TERM $qemu 2>/dev/null; wait $qemu 2>/dev/null' EXIT
for i in $(seq 100); do		# wait up to 10 s for the stub to listen
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
	sleep 0.1
done
echo "QEMU is halted with its gdb stub on port $port; its console goes to ${elf%.elf}.gdb-console.log"
gdb -q -ex "set pagination off" -ex "target remote 127.0.0.1:$port" "$@" "$elf"
