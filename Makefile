# Makefile: the only makefile of the tree (no recursive make).
#
#   make                 newlib (once), build/native/APP.elf (+ APP.elf32) and
#                        build/hosted/APP for every app in app/
#   make run             boot APP in QEMU:  [APP=hello] [CPUS=1] [MEM=256M]
#                        [ARGS="..."] [ACCEL=kvm|tcg] [NET=none|user|tap]
#                        [MACHINE=q35|microvm] (test/qemu.sh);
#                        fails (make's Error N) when the app's status N is
#                        not 0 (test/qemu.sh returns N itself).  NET: a
#                        virtio-net NIC on QEMU's user networking (the default
#                        for apps in NET_APPS; their ports are forwarded from
#                        free localhost ports, printed at start) or on a TAP
#                        device in a network namespace (test/netns.sh, root)
#   make run APP=cluster [NODES=2]: the hosted frontend, which boots NODES
#                        native nodes in QEMU on a LAN that needs no root
#                        (app/cluster.c, hosted/node.c)
#   make gdb             the same, halted, with gdb attached to QEMU's stub
#                        (NET=user or none; the forwarded ports are in the
#                        console log)
#   make test            hosted unit tests (ASan+UBSan) and QEMU boot tests
#   make bench           benchmarks: prints figures, asserts nothing (the ping
#                        and TCP figures against Linux over TAP need root)
#   make fuzz            the fuzz targets under libFuzzer (clang), each for
#                        FUZZ_SECONDS (60): [FUZZ="rx tcp"] (test/fuzz_*.c);
#                        make fuzz-build only builds them
#   make clean           remove build/ except newlib;  make distclean: all of it
#
# Every source file is one of three kinds, and the lists below say which:
# PORTABLE files go into both builds, NATIVE files only into the image,
# HOSTED files only into the Linux program.  The one header each build
# swaps by path is <core.h> (inline core_id): -Ikernel natively,
# -Ihosted hosted.  DEBUG=1 builds with -O0 -g3
# and the debug checks (-DDEBUG).  TOOLPREFIX= names a cross toolchain
# (e.g. TOOLPREFIX=x86_64-linux-gnu-) on hosts that are not x86-64 Linux.
# V=1 prints every command in full.  B=DIR builds into DIR, not build/.
#
# A change of flags rebuilds what they touch: each build directory keeps
# the flags its objects were made with in DIR/flags, which every object
# there depends on, rewritten (when make reads this file) only when they
# differ.  So `make DEBUG=1` after `make` recompiles everything, and
# `make` again recompiles it back; an unchanged `make` recompiles nothing.

TOOLPREFIX ?=
CC      := $(TOOLPREFIX)gcc
LD      := $(TOOLPREFIX)ld
AR      := $(TOOLPREFIX)ar
NM      := $(TOOLPREFIX)nm
OBJCOPY := $(TOOLPREFIX)objcopy
RANLIB  := $(TOOLPREFIX)ranlib

APP  ?= hello
CPUS ?= 1
MEM  ?= 256M
ARGS ?=
ACCEL ?=
MACHINE ?= q35
export APP CPUS MEM ARGS ACCEL MACHINE
# The apps that use the network, and the guest ports make run NET=user
# forwards for each (FWD_app: proto:port words, see test/qemu.sh).
NET_APPS := echo kvstore httpd
FWD_echo := udp:7 tcp:7 tcp:9 tcp:19
FWD_kvstore := tcp:11211
FWD_httpd := tcp:80
NET ?= $(if $(filter $(APP),$(NET_APPS)),user,none)
# The apps whose images have the NIC's driver: those, and cluster, whose
# nodes are on the frontend's LAN (make run APP=cluster runs the hosted
# frontend, which boots NODES of them; hosted/node.c).
NIC_APPS := $(NET_APPS) cluster
NODES ?= 2

B    := build

ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2)
endif
# An app is one file, app/NAME.c, or a folder of them, app/NAME/*.c
# (app/kvstore, app/httpd); app_objs gives its objects in one build
# directory, with any it needs beyond its .c files (APP_EXTRA_NAME:
# httpd's packed site, below).
APP_DIRS := $(patsubst app/%/,%,$(sort $(dir $(wildcard app/*/*.c))))
APPS := $(basename $(notdir $(wildcard app/*.c))) $(APP_DIRS)
app_src = $(or $(wildcard app/$(1)/*.c),app/$(1).c)
app_objs = $(call obj,$(1),$(call app_src,$(2))) $(addprefix $(1)/,$(APP_EXTRA_$(2)))

# ---- sources, by kind -------------------------------------------------------

PORTABLE := \
	kernel/print.c \
	kernel/cmdline.c \
	kernel/spinlock.c \
	kernel/ksym.c \
	kernel/date.c \
	kernel/page.c \
	kernel/slab.c \
	kernel/malloc.c \
	ebb/init.c \
	ebb/runtime.c \
	ebb/event.c \
	ebb/block.c \
	ebb/timer.c \
	ebb/rcu.c \
	ebb/rhash.c \
	ebb/future.c \
	ebb/ebb.c \
	ebb/counter.c \
	ebb/msg.c \
	ebb/msg_rx.c \
	ebb/idmap.c \
	ebb/httpc.c \
	ebb/etcd.c \
	ebb/idmap_etcd.c \
	ebb/file.c \
	ebb/file_srv.c \
	ebb/context.c \
	ebb/node.c \
	ebb/switch.S \
	tcp/iobuf.c \
	tcp/netif.c \
	tcp/gso.c \
	tcp/loopback.c \
	tcp/eth.c \
	tcp/arp.c \
	tcp/ip.c \
	tcp/icmp.c \
	tcp/udp.c \
	tcp/netcfg.c \
	tcp/dhcp.c \
	tcp/inet.c \
	tcp/stats.c \
	tcp/tcp.c \
	tcp/tcp_conn.c \
	tcp/tcp_api.c \
	tcp/tcp_rx.c \
	tcp/tcp_in.c \
	tcp/tcp_parse.c \
	tcp/tcp_ack.c \
	tcp/tcp_sndq.c \
	tcp/tcp_out.c \
	tcp/tcp_timer.c \
	tcp/tcp_expire.c \
	tcp/tcp_sack.c \
	tcp/tcp_cookie.c \
	virtio/virtqueue.c \
	virtio/virtio.c \
	virtio/net.c \
	virtio/net_rx.c \
	virtio/net_tx.c \
	virtio/net_watch.c

NATIVE := \
	boot.S \
	kernel/vectors.S \
	kernel/main.c \
	kernel/serial.c \
	kernel/cpu.c \
	kernel/trap.c \
	kernel/clock.c \
	kernel/rtc.c \
	kernel/memmap.c \
	kernel/vm.c \
	kernel/libc.c \
	kernel/acpi.c \
	kernel/lapic.c \
	kernel/irq.c \
	kernel/pci.c \
	kernel/smp.c \
	kernel/node_boot.c \
	kernel/file_none.c \
	virtio/pci.c

HOSTED := \
	hosted/main.c \
	hosted/platform.c \
	hosted/cores.c \
	hosted/memlink.c \
	hosted/tap.c \
	hosted/lan.c \
	hosted/node.c \
	hosted/node_tap.c \
	hosted/file_host.c \
	hosted/symbols.c

TESTS   := $(basename $(notdir $(wildcard test/test_*.c)))
BENCHES := $(basename $(notdir $(wildcard test/bench_*.c)))

# ---- flags ------------------------------------------------------------------

ifeq ($(DEBUG),1)
OPT := -O0 -g3 -DDEBUG
else
OPT := -O2 -g
endif

WARN := -Wall -Wextra -Werror
COMMON := -std=gnu11 $(OPT) $(WARN) -fno-omit-frame-pointer -I. -MMD -MP

# newlib: built once from Debian's newlib-source into build/newlib.
NEWLIB_TAR := $(firstword $(wildcard /usr/src/newlib/newlib-*.tar.*))
NL         := $(B)/newlib
NL_LIB     := $(NL)/x86_64-elf/lib
NL_INC     := $(NL)/x86_64-elf/include
GCC_INC    := $(shell $(CC) -print-file-name=include)
LIBGCC     := $(shell $(CC) -print-libgcc-file-name)
# Native code: no red zone (a trap pushes onto the interrupted stack), no
# PIE (the image is linked at 1 MiB), a frame pointer in every function
# and no sibling calls (so that every backtrace is complete), and
# newlib's per-core reentrancy (__getreent, kernel/libc.c).
# Each function and object in a section of its own, so that the link
# (--gc-sections) keeps only what the image reaches; no unwind tables
# (backtraces follow frame pointers).
NATIVE_FLAGS := -fno-pie -fno-stack-protector -mno-red-zone -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls -D__DYNAMIC_REENT__ \
	-ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables
NCFLAGS := $(COMMON) $(NATIVE_FLAGS) -Ikernel -nostdinc -isystem $(NL_INC) -isystem $(GCC_INC)
NLDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
	--no-warn-rwx-segments --gc-sections -T kernel/kernel.ld
NLIBS := $(NL_LIB)/libc.a $(NL_LIB)/libm.a $(LIBGCC)

HCFLAGS := $(COMMON) -Ihosted -pthread
HLDLIBS := -pthread -lm
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
TCFLAGS := $(HCFLAGS) $(SAN) -Itest

# The fuzz targets (test/fuzz_*.c): everything they link is compiled by
# clang with libFuzzer's coverage hooks and the sanitizers into build/fuzz
# (not ebb/runtime.c: libFuzzer's main is the program's, not app_main's;
# nor ebb/node.c, which needs runtime.c's ebb_exit; hosted/file_host.c
# is the file Ebb's fhost_*).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ ?= $(patsubst fuzz_%,%,$(basename $(notdir $(wildcard test/fuzz_*.c))))
FCFLAGS := -std=gnu11 -g -O1 $(WARN) -fno-omit-frame-pointer -I. -MMD -MP -Ihosted \
	-Itest -pthread -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined

# ---- flags files --------------------------------------------------------------
#
# $(call flags_file,DIR,FLAGS): DIR/flags holds FLAGS, rewritten only if
# it does not already, at parse time (so make -n tells the truth too).
flags_file = $(shell mkdir -p $(1) && { printf '%s\n' '$(2)' | cmp -s - $(1)/flags || \
	printf '%s\n' '$(2)' >$(1)/flags; })
NFLAGS := $(B)/native/flags
HFLAGS := $(B)/hosted/flags
TFLAGS := $(B)/test/flags
FFLAGS := $(B)/fuzz/flags
ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
_ := $(call flags_file,$(B)/native,$(CC) $(NCFLAGS) $(LD) $(NLDFLAGS))
_ := $(call flags_file,$(B)/hosted,$(CC) $(HCFLAGS) $(HLDLIBS))
_ := $(call flags_file,$(B)/test,$(CC) $(TCFLAGS) $(HLDLIBS))
_ := $(call flags_file,$(B)/fuzz,$(FUZZ_CC) $(FCFLAGS))
endif

# ---- objects ----------------------------------------------------------------

obj = $(patsubst %,$(1)/obj/%.o,$(basename $(2)))

# The network drivers (NET_DRIVERS) go only into the images of apps that
# use the network (NET_APPS): a driver is found through its PCI_DRIVER
# entry, which the link keeps, and it reaches the whole network stack;
# without it --gc-sections drops the stack from an app that never names it.
NET_DRIVERS := virtio/pci.c
N_OBJS := $(call obj,$(B)/native,$(filter-out $(NET_DRIVERS),$(NATIVE)) $(PORTABLE))
N_NET_OBJS := $(call obj,$(B)/native,$(NET_DRIVERS))
n_objs = $(N_OBJS) $(if $(filter $(1),$(NIC_APPS)),$(N_NET_OBJS))
H_OBJS := $(call obj,$(B)/hosted,$(HOSTED) $(PORTABLE))
T_OBJS := $(call obj,$(B)/test,$(filter-out hosted/main.c,$(HOSTED)) $(PORTABLE))
# The fuzz targets have their own main and no app: not the runtime's
# start (ebb/runtime.c), nor a node's call-in (ebb/node.c), which ends
# the instance through it.
F_OBJS := $(call obj,$(B)/fuzz,hosted/platform.c hosted/cores.c hosted/symbols.c hosted/file_host.c \
	$(filter-out ebb/runtime.c ebb/node.c,$(PORTABLE)))

NATIVE_IMGS := $(APPS:%=$(B)/native/%.elf)
HOSTED_BINS := $(APPS:%=$(B)/hosted/%)
TEST_BINS   := $(TESTS:%=$(B)/test/%)
BENCH_BINS  := $(BENCHES:%=$(B)/hosted/%)

.PHONY: all run gdb test bench fuzz fuzz-build clean distclean deps-run deps-test newlib
.SECONDARY:
.DELETE_ON_ERROR:

all: $(NATIVE_IMGS) $(HOSTED_BINS)

$(B)/native/obj/%.o: %.c $(NFLAGS) | $(NL_LIB)/libc.a
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(NCFLAGS) -c $< -o $@

$(B)/native/obj/%.o: %.S $(NFLAGS)
	$(call say,AS,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(NCFLAGS) -c $< -o $@

$(B)/hosted/obj/%.o: %.c $(HFLAGS)
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HCFLAGS) -c $< -o $@

$(B)/hosted/obj/%.o: %.S $(HFLAGS)
	$(call say,AS,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HCFLAGS) -c $< -o $@

$(B)/test/obj/%.o: %.S $(TFLAGS)
	$(call say,AS,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(TCFLAGS) -c $< -o $@

$(B)/test/obj/%.o: %.c $(TFLAGS)
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(TCFLAGS) -c $< -o $@

$(B)/fuzz/obj/%.o: %.c $(FFLAGS)
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FCFLAGS) -c $< -o $@

$(B)/fuzz/obj/%.o: %.S $(FFLAGS)
	$(call say,AS,$@)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FCFLAGS) -c $< -o $@

# ---- the native image -------------------------------------------------------
#
# Linked twice so that a trap report can name functions: the first link
# has an empty symbol table; its text symbols become kernel/ksyms.awk's
# table, which the second link places after .rodata (kernel/kernel.ld),
# where it moves no code.  The check after the second link proves that.
# The image must not contain newlib's allocator (kernel/libc.c maps the
# malloc family onto kernel/malloc.c), and the link checks that too.
# QEMU's -kernel wants a 32-bit ELF, so APP.elf32 is a converted copy;
# APP.elf keeps the 64-bit symbols that gdb loads.

$(B)/native/ksyms0.o: kernel/ksyms.awk
	@mkdir -p $(@D)
	$(Q)awk -f kernel/ksyms.awk </dev/null >$(B)/native/ksyms0.S
	$(Q)$(CC) -c $(B)/native/ksyms0.S -o $@

# An app's objects are found per app (second expansion: $$* is the stem).
.SECONDEXPANSION:

$(B)/native/%.elf: $$(call n_objs,$$*) $$(call app_objs,$(B)/native,$$*) $(B)/native/ksyms0.o \
	    kernel/kernel.ld $(NFLAGS)
	$(call say,LD,$@)
	$(Q)$(LD) $(NLDFLAGS) -o $@.pass1 $(call n_objs,$*) $(call app_objs,$(B)/native,$*) \
	  $(B)/native/ksyms0.o $(NLIBS)
	$(Q)$(NM) -n --defined-only $@.pass1 | awk -f kernel/ksyms.awk >$@.ksyms.S
	$(Q)$(CC) -c $@.ksyms.S -o $@.ksyms.o
	$(Q)$(LD) $(NLDFLAGS) -o $@ $(call n_objs,$*) $(call app_objs,$(B)/native,$*) $@.ksyms.o $(NLIBS)
	@$(NM) -n $@.pass1 | grep ' [tT] ' >$@.t1; $(NM) -n $@ | grep ' [tT] ' >$@.t2; \
	  cmp -s $@.t1 $@.t2 || { echo "ksyms: code moved between links"; exit 1; }
	@! $(NM) $@ | grep -qE ' (_malloc_trim_r|__malloc_av_|_sbrk_r)$$' || \
	  { echo "$@: newlib's own malloc got linked; kernel/libc.c must define the whole family"; exit 1; }
	$(Q)$(OBJCOPY) -O elf32-i386 --strip-debug $@ $@32
	@rm -f $@.pass1 $@.t1 $@.t2

# ---- the hosted programs and the tests --------------------------------------

$(B)/hosted/%: $(H_OBJS) $$(call app_objs,$(B)/hosted,$$*)
	$(call say,LD,$@)
	$(Q)$(CC) $(HCFLAGS) -o $@ $^ $(HLDLIBS)

# Benchmarks: hosted, optimized, no sanitizers (test/bench_*.c).
$(B)/hosted/libportable.a: $(filter-out $(B)/hosted/obj/hosted/main.o,$(H_OBJS))
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/hosted/bench_%: $(B)/hosted/obj/test/bench_%.o $(B)/hosted/libportable.a
	$(call say,LD,$@)
	$(Q)$(CC) $(HCFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(HLDLIBS)

# bench_kv drives the kvstore's parser and store (not conn.c, app_main's).
$(B)/hosted/bench_kv: $(call obj,$(B)/hosted,$(filter-out app/kvstore/conn.c,$(wildcard app/kvstore/*.c)))
# bench_kvnet and bench_kvsrv serve through all of app/kvstore (conn.c's
# kv_listen; its app_main goes unused, as hosted/main.c is not in
# libportable.a).
$(B)/hosted/bench_kvnet $(B)/hosted/bench_kvsrv: $(call obj,$(B)/hosted,$(wildcard app/kvstore/*.c))

$(B)/test/libportable.a: $(T_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/test/%: $(B)/test/obj/test/%.o $(B)/test/obj/test/test.o $(B)/test/obj/test/testlib.o \
	    $(B)/test/libportable.a
	$(call say,LD,$@)
	$(Q)$(CC) $(TCFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(HLDLIBS)

# The kvstore's suites (test/test_kv*.c) link its files but conn.c,
# which has app_main: the store and the protocols are tested alone.
KV_TEST_OBJS := $(call obj,$(B)/test,$(filter-out app/kvstore/conn.c,$(wildcard app/kvstore/*.c)))
$(filter $(B)/test/test_kv%,$(TEST_BINS)): $(KV_TEST_OBJS)

# The Linux end of the TCP tests and benchmarks (test/tcp_peer.c): an
# ordinary program on the kernel's sockets, none of our code in it.
$(B)/test/tcp_peer: test/tcp_peer.c test/tcp_peer_load.c test/tcp_peer.h $(TFLAGS)
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -pthread -o $@ test/tcp_peer.c test/tcp_peer_load.c

# httpd's load generator and checker (test/http_load.c): Linux sockets,
# none of our code in it.
$(B)/test/http_load: test/http_load.c $(TFLAGS)
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -o $@ $<

# boot_httpd.sh's thousands of slow clients (test/slowloris.c): Linux
# sockets, none of our code in it.
$(B)/test/slowloris: test/slowloris.c $(TFLAGS)
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -o $@ $<

# The kvstore's load generator and checker (test/kv_load.c): Linux
# sockets, none of our code in it.
$(B)/test/kv_load: test/kv_load.c $(TFLAGS)
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -o $@ $<

# The SYN flood of the cookie boot test (test/synflood.c): a raw socket,
# spoofed sources, none of our code in it.
$(B)/test/synflood: test/synflood.c $(TFLAGS)
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARN) -o $@ $<

# The fuzz targets; each one's corpus grows in build/fuzz/corpus_NAME
# across runs.
$(B)/fuzz/fuzz_%: $(B)/fuzz/obj/test/fuzz_%.o $(F_OBJS)
	$(call say,LD,$@)
	$(Q)$(FUZZ_CC) $(FCFLAGS) -fsanitize=fuzzer -o $@ $^ $(HLDLIBS)

# ---- httpd: a folder of files and a packed site --------------------------------
#
# The site (WWW=, default app/httpd/www) is packed by app/httpd/pack.sh
# into one assembly file (each file .incbin'd as a never-freed iobuf
# block), linked beside app/httpd's .c files (APP_EXTRA_httpd).  The test
# suite test_http links the portable pieces without httpd.c (app_main).
WWW ?= app/httpd/www
APP_EXTRA_httpd := obj/www.o
HTTPD_LIB := app/httpd/parse.c app/httpd/serve.c app/httpd/files.c app/httpd/stats.c
WWW_FILES := $(shell find $(WWW) -type f 2>/dev/null)
ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
_ := $(call flags_file,$(B)/www,$(abspath $(WWW)))
endif

$(B)/www/www.S: app/httpd/pack.sh $(WWW_FILES) $(B)/www/flags
	$(call say,PACK,$(WWW))
	$(Q)app/httpd/pack.sh $(WWW) >$@.tmp && mv $@.tmp $@

$(B)/%/obj/www.o: $(B)/www/www.S
	$(Q)$(CC) -c $< -o $@

# bench_httpd serves test/bench_www (the 612-byte page), packed as WWW=
# is, in place of the site, through all of app/httpd (httpd.c too: its
# app_main goes unused, as hosted/main.c is not in libportable.a).
$(B)/bench_www/www.S: app/httpd/pack.sh $(wildcard test/bench_www/*)
	$(call say,PACK,test/bench_www)
	@mkdir -p $(@D)
	$(Q)app/httpd/pack.sh test/bench_www >$@.tmp && mv $@.tmp $@

$(B)/hosted/obj/bench_www.o: $(B)/bench_www/www.S
	@mkdir -p $(@D)
	$(Q)$(CC) -c $< -o $@

$(B)/hosted/bench_httpd: $(call obj,$(B)/hosted,$(wildcard app/httpd/*.c)) $(B)/hosted/obj/bench_www.o

$(B)/test/test_http: $(B)/test/obj/test/test_http.o $(B)/test/obj/test/test.o \
	    $(B)/test/obj/test/testlib.o $(call obj,$(B)/test,$(HTTPD_LIB)) $(B)/test/obj/www.o \
	    $(B)/test/libportable.a
	$(call say,LD,$@)
	$(Q)$(CC) $(TCFLAGS) -o $@ $^ $(HLDLIBS)

# fuzz_kv drives the kvstore's protocols and store (not conn.c, app_main's).
$(B)/fuzz/fuzz_kv: $(call obj,$(B)/fuzz,$(filter-out app/kvstore/conn.c,$(wildcard app/kvstore/*.c)))

# ---- newlib -----------------------------------------------------------------
#
# Configured for the freestanding x86_64-elf target with the stock gcc
# (its own headers kept out with -nostdinc), built once, and installed
# into build/newlib.  __DYNAMIC_REENT__ makes newlib find its reentrancy
# state through __getreent(), which the kernel answers per core; printf
# gets C99's %zu, %td, %jd and %hhd.

$(NL_LIB)/libc.a:
	@test -n "$(NEWLIB_TAR)" || { echo "newlib-source is missing; run: sudo apt-get install newlib-source  (or: make deps-run)"; exit 1; }
	rm -rf $(B)/newlib-src $(B)/newlib-build
	mkdir -p $(B)/newlib-src $(B)/newlib-build
	tar -xf $(NEWLIB_TAR) -C $(B)/newlib-src --strip-components=1
	cd $(B)/newlib-build && ../newlib-src/configure --target=x86_64-elf \
	  --prefix=$(abspath $(NL)) --disable-multilib --disable-nls \
	  --disable-newlib-supplied-syscalls --enable-newlib-io-c99-formats \
	  --enable-newlib-io-long-long \
	  CC_FOR_TARGET="$(CC) -nostdinc -isystem $(GCC_INC)" \
	  AR_FOR_TARGET=$(AR) AS_FOR_TARGET=$(TOOLPREFIX)as LD_FOR_TARGET=$(LD) \
	  RANLIB_FOR_TARGET=$(RANLIB) NM_FOR_TARGET=$(NM) \
	  CFLAGS_FOR_TARGET="-O2 -g -ffreestanding $(NATIVE_FLAGS)" >configure.log 2>&1 \
	  || { tail -20 configure.log; exit 1; }
	$(MAKE) -C $(B)/newlib-build all-target-newlib >$(B)/newlib-build/make.log 2>&1 \
	  || { tail -30 $(B)/newlib-build/make.log; exit 1; }
	$(MAKE) -C $(B)/newlib-build install-target-newlib >$(B)/newlib-build/install.log 2>&1 \
	  || { tail -30 $(B)/newlib-build/install.log; exit 1; }
	rm -rf $(B)/newlib-src $(B)/newlib-build

newlib: $(NL_LIB)/libc.a

# ---- run, debug, test -------------------------------------------------------

deps-run:
	@test/deps.sh run
deps-test:
	@test/deps.sh test

run: deps-run
ifeq ($(APP),cluster)
	@$(MAKE) --no-print-directory $(B)/native/cluster.elf $(B)/hosted/cluster
	@$(B)/hosted/cluster nodes=$(NODES) image=$(B)/native/cluster.elf32 $(ARGS)
else ifeq ($(NET),tap)
	@$(MAKE) --no-print-directory $(B)/native/$(APP).elf
	@NET_APPS="$(NET_APPS)" test/netns.sh $(B)/native/$(APP).elf32
else
	@$(MAKE) --no-print-directory $(B)/native/$(APP).elf
	@NET=$(NET) FWD="$(FWD_$(APP))" test/qemu.sh $(B)/native/$(APP).elf32
endif

gdb: deps-run
	@$(MAKE) --no-print-directory $(B)/native/$(APP).elf
	@NET=$(if $(filter tap,$(NET)),none,$(NET)) FWD="$(FWD_$(APP))" test/gdb.sh $(B)/native/$(APP).elf

test: deps-test
	@$(MAKE) --no-print-directory -s all $(TEST_BINS) $(B)/test/tcp_peer $(B)/test/synflood \
	    $(B)/test/http_load $(B)/test/slowloris $(B)/test/kv_load
	@test/run.sh $(TEST_BINS)

fuzz-build: $(FUZZ:%=$(B)/fuzz/fuzz_%)

fuzz: fuzz-build
	@for f in $(FUZZ); do mkdir -p $(B)/fuzz/corpus_$$f && \
	  $(B)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) $(B)/fuzz/corpus_$$f || exit 1; done

bench: all $(BENCH_BINS) $(B)/test/tcp_peer $(B)/test/http_load $(B)/test/kv_load
	@for b in $(BENCH_BINS); do $$b || exit 1; echo; done
	@test/callgrind.sh
	@echo; test/bench_boot.sh
	@echo; test/bench_ping.sh
	@echo; test/bench_tcp.sh
	@echo; test/bench_httpd.sh
	@echo; test/bench_kvstore.sh
	@echo; test/bench_cluster.sh

clean:
	rm -rf $(B)/native $(B)/hosted $(B)/test $(B)/fuzz

distclean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
