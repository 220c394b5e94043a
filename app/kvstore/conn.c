/*
 * conn.c: the kvstore app: its arguments, the network, and the glue
 * between TCP connections and the text protocol.  Portable.
 *
 *	build/hosted/kvstore --tap tap0 ip=10.77.0.2/24 [port=11211] [mem=64] [item_max=1048576]
 *	make run APP=kvstore			(QEMU's user networking, port forwarded)
 *	build/hosted/cluster plain image=build/native/kvstore.elf32 share=DIR
 *	    nodeargs=load=items.txt fwd=tcp:11211	(a node; README.md)
 *
 * A memcached-compatible server (text protocol, text.c) over the store
 * (store.c).  Every connection lives on the core that took its SYN
 * (tcp.h) and all its work runs there, so nothing here takes a lock;
 * the store is shared by every core.
 *
 * A connection's life:
 *
 *	accept -> receive: the chain joins inq -> pump
 *	pump:   each buffer of inq -> kv_text_input (replies into one batch)
 *	        -> tcp_recved (the window reopens over what was parsed)
 *	        -> the batch joins outq -> one tcp_send for the whole batch
 *	sent -> pump (outq drains; parsing resumes)
 *	quit, a fatal error, or the peer's FIN with nothing left -> tcp_close
 *
 * Backpressure.  The receive window is held shut (TCP_OPT_MANUAL_RECVED)
 * over what has arrived and not been parsed.  While outq, the replies
 * tcp_send has not taken yet, holds more than KV_OUTQ_MAX bytes, nothing
 * more is parsed: a client that sends and never reads fills our send
 * buffer, then outq, then our receive window, and then waits, and the
 * memory it holds here is bounded by those (GET replies are references
 * to items, not copies, so a big outq costs little).  The server goes on
 * serving everyone else.
 *
 * A node.  With node= (what a frontend's node_boot passes, ebb/node.h)
 * the node's arguments are node_join's, the LAN's address among them,
 * and load=PATH is allowed: once joined, the messenger and the file
 * Ebb's client start (ebb/file.h), and PATH is read from the
 * frontend's shared directory in pieces of KV_LOAD_PIECE bytes, one
 * item a line: "KEY VALUE\n" (the key up to the first space, 1..250
 * bytes of no control characters; the value the rest of the line, a
 * "\r" before the newline dropped, flags 0, no expiry; the last line
 * may lack its newline).  Empty lines and lines that begin with '#' are
 * skipped; a line with no space, a bad key, or longer than
 * KV_LOAD_LINE_MAX is counted bad and skipped.  The server listens
 * meanwhile, on every interface (with nat=dhcp, the forwarded ports'
 * too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebb/event.h"
#include "ebb/file.h"
#include "ebb/msg.h"
#include "ebb/node.h"
#include "ebb/runtime.h"
#include "kernel/param.h"
#include "kernel/platform.h"
#include "proto.h"
#include "store.h"
#include "tcp/dhcp.h"
#include "tcp/netcfg.h"
#include "tcp/netif.h"
#include "tcp/pkt.h"
#include "tcp/proto.h"
#include "tcp/tcp.h"

#define KV_PORT		11211		/* memcached's */
#define KV_OUTQ_MAX	(512 * 1024)	/* replies queued past tcp_send before parsing stops */
#define EX_UNAVAILABLE	69		/* sysexits.h: no network interface */
#define KV_LOAD_PIECE	FILE_CHUNK	/* bytes of load= per file_read */
#define KV_LOAD_LINE_MAX (64 * 1024)	/* a load= line, without its newline */

/* One connection's state, owned by its core. */
struct kv_conn {
	struct kv_text text;		/* the parser's state */
	struct iobuf *inq;		/* received, not parsed yet */
	struct iobuf *outq;		/* replies tcp_send has not taken yet */
	size_t outq_len;
	int closing;			/* close once outq has gone */
	int fin;			/* the peer has closed its side */
};

static void
conn_free(struct kv_conn *k)
{
	iobuf_free_chain(k->inq);
	iobuf_free_chain(k->outq);
	kv_text_free(&k->text);
	free(k);
	__atomic_sub_fetch(&kv_settings.curr_connections, 1, __ATOMIC_RELAXED);
}

/* Hand outq to TCP, as much as it takes.  -1: the connection is going. */
static int
flush(struct tcp_conn *c, struct kv_conn *k)
{
	if (k->outq == NULL)
		return 0;
	long n = tcp_send(c, k->outq);
	if (n < 0)
		return -1;
	k->outq = pkt_drop(k->outq, (size_t)n);
	k->outq_len -= (size_t)n;
	__atomic_add_fetch(&kv_settings.bytes_written, (uint64_t)n, __ATOMIC_RELAXED);
	return 0;
}

/* Parse what has come while outq has room; send each batch at once. */
static void
pump(struct tcp_conn *c, struct kv_conn *k)
{
	if (flush(c, k) < 0)
		goto abort;
	while (k->inq != NULL && !k->closing && k->outq_len < KV_OUTQ_MAX) {
		struct kv_out o;
		kv_out_init(&o);
		/* One batch: every buffer delivered so far, while it stays small. */
		while (k->inq != NULL && !k->closing && o.len < KV_OUTQ_MAX) {
			struct iobuf *b = k->inq;
			k->inq = b->next;
			b->next = NULL;
			if (kv_text_input(&k->text, (const char *)b->data, b->len, &o) == KV_CLOSE)
				k->closing = 1;
			__atomic_add_fetch(&kv_settings.bytes_read, b->len, __ATOMIC_RELAXED);
			tcp_recved(c, b->len);
			iobuf_free(b);
		}
		if (o.head != NULL) {
			if (k->outq == NULL)
				k->outq = o.head;
			else
				iobuf_chain_append(k->outq, o.head);
			k->outq_len += o.len;
		}
		if (flush(c, k) < 0)
			goto abort;
	}
	if (k->closing && k->inq != NULL) {	/* nothing more is read */
		tcp_recved(c, iobuf_chain_len(k->inq));
		iobuf_free_chain(k->inq);
		k->inq = NULL;
	}
	if (k->outq == NULL && (k->closing || (k->fin && k->inq == NULL))) {
		conn_free(k);
		tcp_close(c);
	}
	return;
abort:
	conn_free(k);
	tcp_abort(c);
}

/* Bytes from the client join inq (NULL: its FIN); pump. */
static void
kv_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
	struct kv_conn *k = arg;

	if (data == NULL)
		k->fin = 1;
	else if (k->inq == NULL)
		k->inq = data;
	else
		iobuf_chain_append(k->inq, data);
	pump(c, k);
}

/* Send space came free: send what waits, then parse more. */
static void
kv_sent(void *arg, struct tcp_conn *c, size_t acked)
{
	(void)acked;
	pump(c, arg);
}

/* The connection is gone (reset, timed out): free its state. */
static void
kv_aborted(void *arg, struct tcp_conn *c, int reason)
{
	(void)c;
	(void)reason;
	conn_free(arg);
}

static const struct tcp_callbacks kv_cb = {
	.receive = kv_receive, .sent = kv_sent, .aborted = kv_aborted,
};

/* A new client, on the core that took its SYN. */
static int
kv_accept(void *arg, struct tcp_conn *c)
{
	struct kv_conn *k = calloc(1, sizeof *k);

	(void)arg;
	if (k == NULL || kv_text_init(&k->text) != 0) {
		free(k);
		__atomic_add_fetch(&kv_settings.rejected_connections, 1, __ATOMIC_RELAXED);
		return 1;	/* refused: reset */
	}
	__atomic_add_fetch(&kv_settings.curr_connections, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&kv_settings.total_connections, 1, __ATOMIC_RELAXED);
	tcp_setopt(c, TCP_OPT_MANUAL_RECVED, 1);
	tcp_setopt(c, TCP_OPT_NODELAY, 1);	/* a reply goes when it is whole */
	tcp_attach(c, &kv_cb, k);
	return 0;
}

/* Serve the memcached protocols on TCP port port of every interface (proto.h). */
int
kv_listen(uint16_t port)
{
	kv_settings.port = port;
	return tcp_listen(port, kv_accept, NULL);
}

/* ---- a node: load= ------------------------------------------------------------ */

static void configured(void *arg, struct netif *nif);

static struct {
	struct future joined;
	struct files *fs;
	const char *path;		/* load=, or NULL */
	uint64_t items, bad;
} kn;

/* Is a one of node_join's arguments (ebb/node.h)? */
static int
node_arg(const char *a)
{
	static const char *const keys[] = { "node=", "frontend=", "ip=", "site=", "nat=" };

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strncmp(a, keys[i], strlen(keys[i])) == 0)
			return 1;
	return 0;
}

/* One line of the load= file, p[0..n), without its newline: an item stored, or bad. */
static void
load_line(const char *p, size_t n)
{
	const char *sp;
	size_t nkey, nv;
	struct kv_item *it;
	enum kv_status why;

	while (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0 || p[0] == '#')
		return;
	if (n > KV_LOAD_LINE_MAX || (sp = memchr(p, ' ', n)) == NULL ||
	    (nkey = (size_t)(sp - p)) == 0 || nkey > KV_KEY_MAX) {
		kn.bad++;
		return;
	}
	for (size_t i = 0; i < nkey; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] == 0x7f) {
			kn.bad++;
			return;
		}
	nv = n - nkey - 1;
	if ((it = kv_item_new(p, nkey, 0, 0, nv, &why)) == NULL) {
		kn.bad++;			/* too large for item_max, or no memory */
		return;
	}
	memcpy(kv_value(it), sp + 1, nv);
	memcpy(kv_value(it) + nv, "\r\n", 2);
	if (kv_store(KV_SET, it, 0, NULL) == KV_STORED)
		kn.items++;
	else
		kn.bad++;
}

/*
 * Read load='s file through the file Ebb, piece by piece, storing each
 * whole line; buf keeps the part of a line a piece cut.  An event on
 * core 0 (it blocks on each read).
 */
static void
load(void *arg)
{
	char *buf = malloc(KV_LOAD_LINE_MAX + KV_LOAD_PIECE);
	size_t have = 0, got;
	uint64_t off = 0;
	int err = 0, skipping = 0;

	(void)arg;
	if (buf == NULL) {
		printf("kvstore: no memory to load %s\n", kn.path);
		return;
	}
	do {
		struct future f;
		struct iobuf *b;
		void *v = NULL;
		char *p, *end, *nl;

		future_init(&f);
		if ((err = file_read(kn.fs, kn.path, off, KV_LOAD_PIECE, &f)) != 0 ||
		    (err = future_block(&f, &v)) != 0)
			break;
		b = v;
		got = iobuf_chain_len(b);
		iobuf_copy_out(b, 0, got, buf + have);
		iobuf_free_chain(b);
		off += got;
		p = buf;
		end = buf + have + got;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			if (skipping)
				skipping = 0;	/* the end of a line too long */
			else
				load_line(p, (size_t)(nl - p));
			p = nl + 1;
		}
		have = (size_t)(end - p);
		if (skipping || have > KV_LOAD_LINE_MAX) {
			if (!skipping)
				kn.bad++;
			skipping = 1;
			have = 0;
		}
		memmove(buf, p, have);
	} while (got == KV_LOAD_PIECE);
	if (err == 0 && have > 0)
		load_line(buf, have);		/* the last line, without its newline */
	free(buf);
	int serving, pending;
	file_counts(kn.fs, &serving, &pending);
	if (pending != 0)		/* every read answered, or failed: none left */
		printf("kvstore: %d file requests still pending after the load\n", pending);
	if (err != 0)
		printf("kvstore: cannot load %s from the frontend: %s (%llu items loaded before)\n",
		    kn.path, strerror(err), (unsigned long long)kn.items);
	else
		printf("kvstore: loaded %llu items from the frontend's %s (%llu bad lines)\n",
		    (unsigned long long)kn.items, kn.path, (unsigned long long)kn.bad);
	fflush(stdout);
}

/* Joined: the messenger and the file Ebb on the LAN; then load=. */
static void
joined(struct future *f, void *arg)
{
	struct netif *lan = netif_first();
	struct messenger *m;
	uint32_t front = hton32(NODE_NET + 1);

	(void)arg;
	if (f->err != 0)
		return;
	printf("kvstore: node %d joined its frontend\n", (int)(uintptr_t)f->value);
	if ((m = msgr_start(lan->ip)) == NULL || (kn.fs = file_start(m, front)) == NULL) {
		printf("kvstore: cannot start the messenger and the file Ebb\n");
		return;
	}
	if (kn.path != NULL)
		spawn(load, NULL);
	fflush(stdout);
}

/* node_join (the LAN's address; nat=dhcp) and, once joined, the rest. */
static int
node_start(int argc, char **argv)
{
	char why[256];

	future_init(&kn.joined);
	if (node_join(argc, argv, &kn.joined, why, sizeof why) != 0) {
		printf("kvstore: %s\n", why);
		return 1;
	}
	configured(NULL, netif_first());
	future_then(&kn.joined, joined, NULL);
	return EBB_RUN;
}

/* ---- the app --------------------------------------------------------------- */

/* The interface has (or has lost) its address: say where we serve. */
static void
configured(void *arg, struct netif *nif)
{
	char b[16];

	(void)arg;
	if (nif->ip == 0)
		printf("kvstore: lease lost on %s; asking again\n", nif->name);
	else
		printf("kvstore: memcached protocol on tcp port %u of %s\n", kv_settings.port,
		    netcfg_fmt(nif->ip, b));
	fflush(stdout);
}

/* ebb/runtime.h; also printed with a usage error. */
const char app_usage[] = "[ip=dhcp | ip=A.B.C.D/N[,gw=G]] [port=11211] [mem=MIB] "
    "[item_max=BYTES]  (a node: node=N frontend=A ip=A/N [load=PATH], from its frontend)";

/* Say what is wrong with arg and how kvstore is called; EXIT_USAGE. */
static int
usage(const char *why, const char *arg)
{
	printf("kvstore: %s: %s\nusage: kvstore %s\n", arg, why, app_usage);
	return EXIT_USAGE;
}

/* NAME=N with lo <= N <= hi into *out; 0, or -1 if not. */
static int
number_arg(const char *arg, const char *name, unsigned long lo, unsigned long hi,
    unsigned long *out)
{
	size_t n = strlen(name);
	char *end;

	if (strncmp(arg, name, n) != 0 || arg[n] < '0' || arg[n] > '9')
		return -1;
	*out = strtoul(arg + n, &end, 10);
	return *end == '\0' && *out >= lo && *out <= hi ? 0 : -1;
}

int
app_main(int argc, char **argv)
{
	const char *cfg = "ip=dhcp";
	unsigned long port = KV_PORT, mem = KV_MEM_DEFAULT >> 20, item_max = KV_ITEM_MAX_DEFAULT;
	uint32_t ip = 0, mask = 0, gw = 0;
	struct netif *nif;
	int err, node = 0;

	for (int i = 1; i < argc; i++)
		node |= strncmp(argv[i], "node=", 5) == 0;
	for (int i = 1; i < argc; i++) {
		if (node && node_arg(argv[i]))
			continue;		/* node_join's */
		else if (node && strncmp(argv[i], "load=", 5) == 0 && argv[i][5] != '\0')
			kn.path = argv[i] + 5;
		else if (strncmp(argv[i], "ip=", 3) == 0)
			cfg = argv[i];
		else if (strncmp(argv[i], "port=", 5) == 0) {
			if (number_arg(argv[i], "port=", 1, 65535, &port) != 0)
				return usage("not port=1..65535", argv[i]);
		} else if (strncmp(argv[i], "mem=", 4) == 0) {
			if (number_arg(argv[i], "mem=", 1, 1 << 20, &mem) != 0)
				return usage("not mem=MIB (1 or more)", argv[i]);
		} else if (strncmp(argv[i], "item_max=", 9) == 0) {
			if (number_arg(argv[i], "item_max=", 1024, 128UL << 20, &item_max) != 0)
				return usage("not item_max=BYTES, 1024 to 134217728", argv[i]);
		} else
			return usage("unknown argument", argv[i]);
	}
	int dhcp = strcmp(cfg, "ip=dhcp") == 0;
	if (!node && !dhcp && (err = netcfg_parse(cfg, &ip, &mask, &gw)) != NETCFG_OK)
		return usage(netcfg_error(err), cfg);
	if ((nif = netif_first()) == NULL) {
		printf("kvstore: no network interface: give it one with make run NET=user or"
		    " NET=tap (natively) or --tap NAME (hosted, as root)\n");
		return EX_UNAVAILABLE;
	}
	kv_settings.start_ns = clock_ns();
	if ((err = kv_init(mem << 20, item_max)) != 0) {
		printf("kvstore: cannot make a store of %lu MiB: %s\n", mem, strerror(err));
		return 1;
	}
	kv_sweep_start();
	if ((err = kv_listen((uint16_t)port)) != 0) {
		printf("kvstore: cannot listen on tcp port %lu: %s\n", port, strerror(err));
		return 1;
	}
	printf("kvstore: %lu MiB for items, items up to %lu bytes, %d core%s\n", mem, item_max,
	    core_count(), core_count() == 1 ? "" : "s");
	if (node)
		return node_start(argc, argv);
	if (dhcp) {
		printf("kvstore: asking for an address on %s (DHCP)\n", nif->name);
		fflush(stdout);
		if ((err = dhcp_start(nif, configured, NULL)) != 0) {
			printf("kvstore: cannot start DHCP: %s\n", strerror(err));
			return 1;
		}
	} else {
		netcfg_apply(nif, ip, mask, gw);
		configured(NULL, nif);
	}
	return EBB_RUN;
}
