/*
 * front.c: the cluster app's frontend (hosted).
 *
 *	cl_frontend -> node_boot x N, the messenger and the id map's
 *	               server on 10.235.0.1, CL_FRONT and CL_COUNT bound
 *	every node's HELLO -> PEERS to each, a stream to each (one
 *	               blocking event per node)
 *	DATA, END from each node: checked, counted; DONE: its report
 *	IDSET from node 1 -> GETID to the last node -> GOTID: compared
 *	putid=: SETID to node 1 -> IDSET (id, status) -> GETID as above;
 *	getid=: GETID to the last node at the start
 *	a node's QEMU ends early -> its connections dropped, GONE to the
 *	               others, the rest goes on without it
 *	everything in -> the counter summed, bye to every node, exit
 *
 * With lan=tap:BRIDGE (as root, with --tap NAME): the nodes' LAN is
 * TAP devices on that Linux bridge instead of the default's (node.h,
 * node_lan_tap), the --tap interface the frontend's own port on it.
 *
 * plain: the nodes run another app (spec.image: kvstore, say) and never
 * say hello: once every node has called in, say so and stay until
 * Ctrl-C, serving share=DIR through the file Ebb; fwd= forwards their
 * ports to the host's (node_spec's fwd).  The status is 1 if every node
 * ended first.
 *
 * With idmap=etcd: the map's server keeps its values in etcd, and site=
 * picks this frontend's share of the ranges (ebb/idmap.h).
 *
 * Everything runs on core 0 (messages are handed there first).  The
 * exit status is 0 if every node called in, every stream arrived whole
 * and checked both ways, the map's value was read back as set, the
 * counter's sum is what was sent, and every node exited 0; else 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "ebb/etcd.h"
#include "ebb/event.h"
#include "ebb/idmap.h"
#include "ebb/runtime.h"
#include "tcp/netcfg.h"
#include "tcp/proto.h"

struct fnode {
	struct node *node;
	uint32_t ip;
	int num, called, hello, dead, streamed, reported, failed;
	struct cl_in in;		/* its stream to us */
	struct cl_out out;		/* ours to it */
	struct cl_done rep;		/* its DONE, host order */
};

static struct {
	int want, stay, bench, plain, started, finished, bad;
	const char *share;		/* share=DIR, or NULL */
	struct future *bench_wait;	/* node 1's BENCHRES, awaited */
	char bench_line[256];
	uint32_t msgs, xmsgs, ip;
	struct messenger *m;
	struct idmap *im;
	struct fnode n[NODE_MAX + 1];	/* by node number, 1..want */
	uint32_t id;			/* the id node 1 set, once told */
	int id_state;			/* 0 waiting, 1 asked, 2 checked, -1 failed */
	int id_reader;
	int id_mode;			/* 0, or 'p' (putid=) or 'g' (getid=) */
	uint32_t id_given;		/* putid=ID:TEXT, getid=ID:TEXT */
	char id_text[64];
} fe;

static struct counter count;		/* CL_COUNT: items the frontend received */
static struct ebb_shared front_ebb = EBB_SHARED(&fe);

static void
no_init(void *rep, int core)
{
	(void)rep;
	(void)core;
}

static struct fnode *
of(uint32_t ip)
{
	int k = (int)(ntoh32(ip) - NODE_NET) - 1;

	return k >= 1 && k <= fe.want ? &fe.n[k] : NULL;
}

static void
finish(void *arg)
{
	long total = counter_sum(&count), expect = 0;
	int live = 0, dead = 0;

	(void)arg;
	for (int k = 1; k <= fe.want; k++) {	/* every item delivered is counted once */
		struct fnode *f = &fe.n[k];

		if (f->dead) {
			dead++;
			continue;
		}
		live++;
		total += f->rep.counted;
		expect += (long)f->out.n - f->out.failed + (long)f->rep.sent - f->rep.failed;
	}
	if (dead == 0) {
		printf("cluster: the distributed counter: %ld items counted over %d nodes and the"
		    " frontend (%ld sent and delivered)\n", total, live, expect);
		if (total != expect)
			fe.bad = 1;
	} else {
		printf("cluster: the distributed counter: %ld items counted over %d nodes and the"
		    " frontend (not compared: %d node%s died)\n", total, live, dead,
		    dead == 1 ? "" : "s");
	}
	if (fe.id_state != 2 && (fe.want >= 2 || fe.id_mode))
		fe.bad = 1;
	printf("cluster: %s\n", fe.bad ? "some checks failed" : "all checks passed");
	for (int k = 1; k <= fe.want; k++)
		node_stop(fe.n[k].node, 10000);
	node_wait_all();
	for (int k = 1; k <= fe.want; k++)
		if (fe.n[k].failed)
			fe.bad = 1;
	ebb_exit(fe.bad ? 1 : 0);
}

/* Everything in from every live node?  Then finish, once. */
static void
check_finish(void)
{
	int any = 0;

	if (fe.finished || !fe.started || fe.stay)
		return;
	if (fe.plain) {		/* stays while any node is up */
		for (int k = 1; k <= fe.want; k++)
			if (!fe.n[k].dead)
				return;
		printf("cluster: every node has ended\n");
		ebb_exit(1);
		return;
	}
	for (int k = 1; k <= fe.want; k++) {
		struct fnode *f = &fe.n[k];

		if (f->dead)
			continue;
		if (!f->streamed || !f->reported || !f->in.ended)
			return;
		any = 1;
	}
	if ((fe.want >= 2 || fe.id_mode) && fe.id_state < 2 && fe.id_state != -1 && any) {
		int setter = fe.n[1].dead, reader = fe.id_reader && fe.n[fe.id_reader].dead;

		if (!setter && !reader)
			return;			/* the map's check is still going */
		fe.id_state = -1;
	}
	fe.finished = 1;
	spawn(finish, NULL);
}

/* Our stream to one node, as an event that blocks while its queue is full. */
static void
stream_to(void *arg)
{
	struct fnode *f = arg;
	char label[32];

	snprintf(label, sizeof label, "frontend: to node %d", f->num);
	cl_stream(fe.m, f->ip, CL_NODE, fe.ip, fe.msgs, CL_ITEM, &f->dead, label,
	    &f->out);
	f->streamed = 1;
	printf("frontend: to node %d: %u of %u items delivered%s%s\n", f->num,
	    f->out.n - f->out.failed, f->out.n, f->out.err ? "; not all: " : "",
	    f->out.err ? strerror(f->out.err) : "");
	if (f->out.failed && !f->dead)
		fe.bad = 1;
	check_finish();
}

/* bench: frontend <-> node 1, then node 1 <-> node 2; then the end. */
static void
front_bench(void *arg)
{
	char line[256];
	struct future f;

	(void)arg;
	cl_bench_pair(fe.m, fe.n[1].ip, CL_NODE, fe.ip, &fe.n[1].dead, line, sizeof line);
	printf("bench: frontend <-> node 1: %s\n", line);
	if (strstr(line, "failed") != NULL)
		fe.bad = 1;
	if (fe.want >= 2 && !fe.n[1].dead && !fe.n[2].dead) {
		uint32_t w = fe.n[2].ip;

		future_init(&f);
		fe.bench_wait = &f;
		if (cl_send(fe.m, fe.n[1].ip, CL_NODE, K_BENCH, &w, 4) == 0 &&
		    future_block(&f, NULL) == 0) {
			printf("bench: node 1 <-> node 2: %s\n", fe.bench_line);
			if (strstr(fe.bench_line, "failed") != NULL)
				fe.bad = 1;
		} else {
			fe.bad = 1;
		}
		fe.bench_wait = NULL;
	}
	fe.finished = 1;
	for (int k = 1; k <= fe.want; k++)
		node_stop(fe.n[k].node, 10000);
	node_wait_all();
	ebb_exit(fe.bad ? 1 : 0);
}

/* The last live node, or 0. */
static int
last_live(void)
{
	for (int k = fe.want; k >= 1; k--)
		if (!fe.n[k].dead)
			return k;
	return 0;
}

/*
 * putid=: node 1 sets the id given (SETID), and once it has (IDSET) the
 * last node reads it back; getid=: the last node reads it at once.
 */
static void
id_start(void)
{
	uint8_t b[4 + sizeof fe.id_text];
	uint32_t w = hton32(fe.id_given), n = (uint32_t)strlen(fe.id_text);

	if (fe.id_mode == 0)
		return;
	fe.id = fe.id_given;
	if (fe.id_mode == 'p' && !fe.n[1].dead) {
		memcpy(b, &w, 4);
		memcpy(b + 4, fe.id_text, n);
		if (cl_send(fe.m, fe.n[1].ip, CL_NODE, K_SETID, b, 4 + n) != 0)
			fe.id_state = -1;
	} else if (fe.id_mode == 'g' && (fe.id_reader = last_live()) != 0) {
		fe.id_state = 1;
		if (cl_send(fe.m, fe.n[fe.id_reader].ip, CL_NODE, K_GETID, &w, 4) != 0)
			fe.id_state = -1;
	}
}

/* share: every node walks the shared directory; then the end. */
static void
front_share(void *arg)
{
	uint32_t ips[NODE_MAX];
	int nums[NODE_MAX], n = 0;

	(void)arg;
	for (int k = 1; k <= fe.want; k++)
		if (!fe.n[k].dead) {
			ips[n] = fe.n[k].ip;
			nums[n++] = k;
		}
	if (cl_share_check(fe.m, ips, nums, n) != 0)
		fe.bad = 1;
	printf("cluster: %s\n", fe.bad ? "some checks failed" : "all checks passed");
	fe.finished = 1;
	for (int k = 1; k <= fe.want; k++)
		node_stop(fe.n[k].node, 10000);
	node_wait_all();
	ebb_exit(fe.bad ? 1 : 0);
}

/* Every live node has said hello: tell each its peers, start the streams. */
static void
start(void)
{
	uint32_t w[3 + NODE_MAX], n = 0;

	for (int k = 1; k <= fe.want; k++)
		if (!fe.n[k].dead)
			w[3 + n++] = fe.n[k].ip;	/* already network order */
	w[0] = hton32(fe.msgs);
	w[1] = hton32(fe.xmsgs);
	w[2] = hton32(n);
	fe.started = 1;
	if (fe.plain) {
		printf("cluster: all %u nodes are up; Ctrl-C ends them and me\n", n);
		return;
	}
	if (fe.bench) {
		spawn(front_bench, NULL);
		return;
	}
	if (fe.share != NULL) {
		spawn(front_share, NULL);
		return;
	}
	if (fe.stay) {
		printf("cluster: all %u nodes are up; Ctrl-C ends them and me\n", n);
		return;
	}
	for (int k = 1; k <= fe.want; k++) {
		if (fe.n[k].dead)
			continue;
		if (cl_send(fe.m, fe.n[k].ip, CL_NODE, K_PEERS, w, 4 * (3 + n)) != 0)
			fe.bad = 1;
		spawn(stream_to, &fe.n[k]);
	}
	id_start();
}

/*
 * A node said hello or ended: before the start, start once every live
 * node has said hello, or finish if none is left; after, see whether
 * everything is in.
 */
static void
progress(void)
{
	int live = 0;

	if (!fe.started && !fe.finished) {
		for (int k = 1; k <= fe.want; k++) {
			if (fe.n[k].dead)
				continue;
			if (!fe.n[k].hello)
				return;
			live++;
		}
		if (live == 0) {
			fe.finished = 1;
			fe.bad = 1;
			if (fe.plain) {
				printf("cluster: every node has ended\n");
				ebb_exit(1);
				return;
			}
			spawn(finish, NULL);
			return;
		}
		start();
	}
	check_finish();
}

static void
front_msg0(struct msg *m)
{
	struct fnode *f = of(m->from);
	char text[80];
	uint32_t n;

	if (f == NULL) {
		msg_free(m);
		return;
	}
	switch (m->kind) {
	case K_PING:
		cl_bench_ping(fe.m, m, CL_NODE);
		return;
	case K_PONG:
		cl_bench_pong(m);
		return;
	case K_SHARED:
		cl_share_got(f->num, m);
		break;
	case K_BENCHRES:
		n = m->len < sizeof fe.bench_line - 1 ? m->len : sizeof fe.bench_line - 1;
		iobuf_copy_out(m->data, 0, n, fe.bench_line);
		fe.bench_line[n] = '\0';
		if (fe.bench_wait != NULL)
			future_resolve(fe.bench_wait, NULL);
		fe.bench_wait = NULL;
		break;
	case K_HELLO:
		n = m->len < sizeof text - 1 ? m->len : sizeof text - 1;
		iobuf_copy_out(m->data, 0, n, text);
		text[n] = '\0';
		printf("frontend: node %d says \"%s\"\n", f->num, text);
		f->hello = 1;
		progress();
		break;
	case K_DATA:
		cl_stream_data(&f->in, m->from, m);
		counter_add(CL_COUNT, 1);
		break;
	case K_END:
		f->in.end = cl_word(m, 0);
		f->in.ended = 1;
		printf("frontend: node %d's stream: %u items, %u in order and intact\n",
		    f->num, f->in.end, f->in.got);
		if (f->in.got != f->in.end || f->in.bad != 0)
			fe.bad = 1;
		check_finish();
		break;
	case K_DONE: {
		struct cl_done d;

		if (m->len != sizeof d || iobuf_copy_out(m->data, 0, sizeof d, &d) == NULL)
			break;
		f->rep = (struct cl_done){ ntoh32(d.node), ntoh32(d.got), ntoh32(d.bad),
		    ntoh32(d.sent), ntoh32(d.failed), ntoh32(d.err), ntoh32(d.counted) };
		f->reported = 1;
		printf("frontend: node %d reports %u items received (%u bad), %u of %u delivered%s%s,"
		    " its counter %u\n", f->num, f->rep.got, f->rep.bad, f->rep.sent - f->rep.failed,
		    f->rep.sent, f->rep.err ? "; not all: " : "",
		    f->rep.err ? strerror((int)f->rep.err) : "", f->rep.counted);
		if (f->rep.bad != 0 || f->rep.counted != f->rep.got)
			fe.bad = 1;
		check_finish();
		break;
	}
	case K_IDSET:
		if (fe.id_mode == 'g' || (fe.id_mode == 'p' && (m->len != 8 || cl_word(m, 0) != fe.id)))
			break;			/* node 1's own: not checked in these modes */
		if (fe.id_mode == 'p') {
			if (cl_word(m, 4) != 0) {
				printf("frontend: node 1 could not set global id %u: %s\n", fe.id,
				    strerror((int)cl_word(m, 4)));
				fe.id_state = -1;
				fe.bad = 1;
				check_finish();
				break;
			}
			if ((fe.id_reader = last_live()) != 0) {
				uint32_t w = hton32(fe.id);

				fe.id_state = 1;
				cl_send(fe.m, fe.n[fe.id_reader].ip, CL_NODE, K_GETID, &w, 4);
			}
			break;
		}
		fe.id = cl_word(m, 0);
		for (int k = fe.want; k >= 1 && fe.id_reader == 0; k--)
			if (k != f->num && !fe.n[k].dead)
				fe.id_reader = k;
		if (fe.id_reader != 0) {
			uint32_t w = hton32(fe.id);

			fe.id_state = 1;
			cl_send(fe.m, fe.n[fe.id_reader].ip, CL_NODE, K_GETID, &w, 4);
		}
		break;
	case K_GOTID: {
		char want[sizeof fe.id_text];

		n = m->len > 4 ? m->len - 4 : 0;
		n = n < sizeof text - 1 ? n : sizeof text - 1;
		if (n > 0)
			iobuf_copy_out(m->data, 4, n, text);
		text[n] = '\0';
		if (fe.id_mode != 0)
			snprintf(want, sizeof want, "%s", fe.id_text);
		else
			snprintf(want, sizeof want, "set by node %d", 1);
		printf("frontend: node %d read global id %u from the map: \"%s\"\n", f->num,
		    cl_word(m, 0), text);
		fe.id_state = cl_word(m, 0) == fe.id && strcmp(text, want) == 0 ? 2 : -1;
		if (fe.id_state != 2)
			fe.bad = 1;
		check_finish();
		break;
	}
	}
	msg_free(m);
}

static void
front_msg(void *rep, struct msg *m)
{
	(void)rep;
	cl_on_core0(m, front_msg0);
}

/* A node's QEMU ended: if before its end, drop it and tell the others. */
static void
node_ended(struct node *n, int status)
{
	struct fnode *f = &fe.n[node_num(n)];
	uint32_t w = f->ip;

	if (status != 0)
		f->failed = 1;
	if (fe.finished)
		return;
	f->dead = 1;
	fe.bad = 1;
	printf("cluster: node %d is gone; the others go on without it\n", f->num);
	cl_bench_gone();
	cl_share_gone(f->num);
	if (fe.bench_wait != NULL) {
		future_fail(fe.bench_wait, ECONNABORTED);
		fe.bench_wait = NULL;
	}
	if (fe.m != NULL) {
		msgr_drop(fe.m, f->ip);		/* our messages to it fail now */
		for (int k = 1; k <= fe.want; k++)
			if (!fe.n[k].dead && fe.n[k].hello)
				cl_send(fe.m, fe.n[k].ip, CL_NODE, K_GONE, &w, 4);
	}
	progress();
}

static void
called_in(struct future *fut, void *arg)
{
	struct fnode *f = arg;

	if (fut->err == 0) {
		f->called = 1;
		if (fe.plain) {		/* its call-in is its hello */
			f->hello = 1;
			progress();
		}
		return;
	}
	printf("cluster: node %d did not call in: %s\n", f->num, strerror(fut->err));
	f->failed = 1;
}

int
cl_frontend(int argc, char **argv)
{
	struct node_spec spec = { .image = "build/native/cluster.elf32", .cpus = 1, .mem_mib = 64 };
	const char *etcd = NULL, *ipcfg = NULL, *bridge = NULL;
	char why[256];
	int site = 0, mem_given = 0;

	fe.want = 2;
	fe.msgs = 10000;
	fe.xmsgs = 1000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "nodes=", 6) == 0)
			fe.want = atoi(a + 6);
		else if (strncmp(a, "image=", 6) == 0)
			spec.image = a + 6;
		else if (strncmp(a, "cpus=", 5) == 0)
			spec.cpus = atoi(a + 5);
		else if (strncmp(a, "mem=", 4) == 0)
			spec.mem_mib = atoi(a + 4), mem_given = 1;
		else if (strncmp(a, "callin=", 7) == 0)
			spec.callin_s = atoi(a + 7);
		else if (strncmp(a, "nodeargs=", 9) == 0)
			spec.args = a + 9;
		else if (strncmp(a, "msgs=", 5) == 0)
			fe.msgs = (uint32_t)atol(a + 5);
		else if (strncmp(a, "xmsgs=", 6) == 0)
			fe.xmsgs = (uint32_t)atol(a + 6);
		else if (strncmp(a, "idmap=etcd:", 11) == 0)
			etcd = a + 11;
		else if (strncmp(a, "lan=tap:", 8) == 0)
			bridge = a + 8;
		else if (strncmp(a, "ip=", 3) == 0)
			ipcfg = a;
		else if (strncmp(a, "site=", 5) == 0)
			site = atoi(a + 5);
		else if (strncmp(a, "putid=", 6) == 0 || strncmp(a, "getid=", 6) == 0) {
			char *colon = strchr(a + 6, ':');
			unsigned long id = strtoul(a + 6, NULL, 10);

			if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= sizeof fe.id_text ||
			    id <= EBB_LOCAL_MAX || id >= EBB_MAX) {
				printf("cluster: %s: want ID:TEXT, a global id (%u..%u) and up to %zu"
				    " bytes\n", a, EBB_LOCAL_MAX + 1, EBB_MAX - 1, sizeof fe.id_text - 1);
				return 2;
			}
			fe.id_mode = a[0] == 'p' ? 'p' : 'g';
			fe.id_given = (uint32_t)id;
			snprintf(fe.id_text, sizeof fe.id_text, "%s", colon + 1);
		} else if (strcmp(a, "stay") == 0)
			fe.stay = 1;
		else if (strcmp(a, "bench") == 0)
			fe.bench = 1;
		else if (strncmp(a, "share=", 6) == 0)
			fe.share = a + 6;
		else if (strcmp(a, "plain") == 0)
			fe.plain = 1;
		else if (strncmp(a, "fwd=", 4) == 0)
			spec.fwd = a + 4;
		else {
			printf("cluster: unknown argument \"%s\"; usage: cluster %s\n", a, app_usage);
			return 2;
		}
	}
	if (fe.plain && !mem_given)
		spec.mem_mib = 256;	/* another app's: make run's MEM */
	if (fe.want < 1 || fe.want > NODE_MAX || spec.cpus < 1 || spec.mem_mib < 4 ||
	    spec.callin_s < 0 || fe.msgs > 10000000 || fe.xmsgs > 10000000) {
		printf("cluster: nodes must be 1..%d, cpus at least 1, mem at least 4, callin"
		    " not negative, msgs and xmsgs at most 10000000\n", NODE_MAX);
		return 2;
	}
	if (site < 0 || site >= IDMAP_SITES) {
		printf("cluster: site must be 0..%d\n", IDMAP_SITES - 1);
		return 2;
	}
	if (etcd != NULL && etcd_addr(&(struct etcd){ 0 }, etcd) != 0) {
		printf("cluster: idmap=etcd:%s: not A.B.C.D:PORT\n", etcd);
		return 2;
	}
	if (ipcfg != NULL) {		/* the TAP's address, to reach etcd */
		struct netif *nif = netif_first();
		uint32_t ip, mask, gw;
		int err;

		if (nif == NULL) {
			printf("cluster: %s needs an interface: --tap NAME\n", ipcfg);
			return 2;
		}
		if ((err = netcfg_parse(ipcfg, &ip, &mask, &gw)) != NETCFG_OK) {
			printf("cluster: %s: %s\n", ipcfg, netcfg_error(err));
			return 2;
		}
		netcfg_apply(nif, ip, mask, gw);
	}
	if (bridge != NULL && ipcfg != NULL) {
		printf("cluster: lan=tap: and ip= both set the --tap interface's address\n");
		return 2;
	}
	if (bridge != NULL && node_lan_tap(bridge, netif_first(), why, sizeof why) != 0) {
		printf("cluster: lan=tap:%s: %s\n", bridge, why);
		return 2;
	}
	node_site(site);
	if (fe.share != NULL && cl_share_dir_ok(fe.share) != 0)
		return 2;
	node_on_exit(node_ended);
	fe.ip = hton32(NODE_NET + 1);
	count.mc = (struct ebb_multicore)EBB_MULTICORE(no_init, sizeof(struct counter_rep));
	count.id = CL_COUNT;
	for (int i = 1; i <= fe.want; i++) {
		struct fnode *f = &fe.n[i];

		if ((f->node = node_boot(&spec, why, sizeof why)) == NULL) {
			printf("cluster: node_boot: %s\n", why);
			for (int k = 1; k < i; k++)
				node_stop(fe.n[k].node, 0);
			node_wait_all();
			return 1;
		}
		f->num = i;
		f->ip = node_ip(f->node);
		if (i == 1 && ((fe.m = msgr_start(fe.ip)) == NULL ||
		    (fe.im = idmap_start(fe.m, fe.ip)) == NULL ||
		    ebb_bind(CL_FRONT, &front_ebb.root) != 0 ||
		    ebb_bind(CL_COUNT, &count.mc.root) != 0 ||
		    msg_handle(CL_FRONT, front_msg) != 0)) {
			printf("cluster: cannot start the frontend's messenger\n");
			return 1;
		}
		if (i == 1 && (site != 0 || etcd != NULL)) {
			uint32_t base;

			node_ids(0, &base);
			if (idmap_site(fe.im, site) != 0 || (etcd != NULL && idmap_etcd(fe.im, etcd) != 0)) {
				printf("cluster: cannot set up the id map's site or store\n");
				return 1;
			}
			printf("frontend: site %d, global ids from %u; the id map in %s%s\n", site,
			    base, etcd != NULL ? "etcd at " : "memory", etcd != NULL ? etcd : "");
		}
		if (i == 1)
			idmap_reserve(fe.im, NODE_MAX + 1);	/* ranges by node number */
		if (i == 1 && fe.share != NULL && cl_share_serve(fe.m, fe.share) != 0) {
			node_stop(f->node, 0);
			node_wait_all();
			return 1;
		}
		future_then(node_called_in(f->node), called_in, f);
	}
	return EBB_RUN;
}
