/*
 * member.c: the cluster app on a node (node_join has brought it in).
 *
 *	joined -> messenger, id map (the call-in's range), CL_NODE and
 *	          CL_COUNT bound -> HELLO to the frontend
 *	PEERS  -> (node 1: an id set in the map, IDSET to the frontend)
 *	       -> a stream to the frontend, one to every other node
 *	DATA, END from the frontend and every peer: checked, counted
 *	all sent, every stream in (or its sender GONE) -> DONE
 *	GETID  -> the id read from the map -> GOTID
 *
 * Everything runs on core 0 (messages are handed there first); the
 * sending is one event that blocks while queues are full.
 */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "ebb/event.h"
#include "ebb/idmap.h"
#include "kernel/malloc.h"
#include "tcp/proto.h"

static struct {
	int num;
	uint32_t ip, front;		/* network order */
	struct messenger *m;
	struct idmap *im;
	uint32_t msgs, xmsgs, npeers;
	uint32_t peer[NODE_MAX];	/* the other nodes' addresses */
	int gone[NODE_MAX + 1];		/* by node number: it died */
	int peer_of[NODE_MAX + 1];	/* by node number: a peer (or [0]) */
	struct cl_in in[NODE_MAX + 1];	/* by node number; [0] the frontend */
	struct cl_out out[NODE_MAX + 1];
	int sending_done, done_sent;
} me;

static struct counter count;		/* CL_COUNT: items received here */
static struct ebb_shared node_ebb = EBB_SHARED(&me);

static void
no_init(void *rep, int core)
{
	(void)rep;
	(void)core;			/* zeroed memory is a count of 0 */
}

/* A node number from its LAN address (the frontend is 0). */
static int
num_of(uint32_t ip)
{
	return (int)(ntoh32(ip) - NODE_NET) - 1;
}

static void
maybe_done(void)
{
	struct cl_done d = { .node = hton32((uint32_t)me.num) };
	uint32_t got = 0, bad = 0, sent = 0, failed = 0, err = 0;

	if (me.done_sent || !me.sending_done)
		return;
	for (int i = 0; i <= NODE_MAX; i++) {
		if (!me.peer_of[i])
			continue;
		if (!me.in[i].ended && !me.gone[i])
			return;			/* still coming */
		got += me.in[i].got;
		bad += me.in[i].bad + (me.in[i].ended && me.in[i].end > me.in[i].got + me.in[i].bad ?
		    me.in[i].end - me.in[i].got - me.in[i].bad : 0);
		sent += i == 0 ? me.msgs : me.xmsgs;	/* (a gone peer's stream
							 * may never have started) */
		failed += me.out[i].failed + ((i == 0 ? me.msgs : me.xmsgs) - me.out[i].n);
		if (err == 0)
			err = (uint32_t)me.out[i].err;
	}
	d.got = hton32(got);
	d.bad = hton32(bad);
	d.sent = hton32(sent);
	d.failed = hton32(failed);
	d.err = hton32(err);
	d.counted = hton32((uint32_t)counter_sum(&count));
	me.done_sent = 1;
	printf("cluster: node %d: received %u items (%u bad); of %u to send, %u not delivered\n",
	    me.num, got, bad, sent, failed);
	cl_send(me.m, me.front, CL_FRONT, K_DONE, &d, sizeof d);
}

/* The sending, as one event that may block. */
static void
streams(void *arg)
{
	(void)arg;
	if (me.num == 1 && me.npeers > 0) {	/* the id map: set here, read elsewhere */
		uint32_t id = idmap_id_alloc(me.im), w = hton32(id);
		char val[32];
		struct future f;

		snprintf(val, sizeof val, "set by node %d", me.num);
		future_init(&f);
		if (id != 0 && idmap_set(me.im, id, val, strlen(val), &f) == 0 &&
		    future_block(&f, NULL) == 0)
			cl_send(me.m, me.front, CL_FRONT, K_IDSET, &w, 4);
		else
			printf("cluster: node 1: could not set a global id in the map\n");
	}
	cl_stream(me.m, me.front, CL_FRONT, me.ip, me.msgs, CL_ITEM, &me.gone[0], NULL,
	    &me.out[0]);
	for (uint32_t i = 0; i < me.npeers; i++) {
		int k = num_of(me.peer[i]);

		cl_stream(me.m, me.peer[i], CL_NODE, me.ip, me.xmsgs, CL_ITEM, &me.gone[k], NULL,
		    &me.out[k]);
	}
	me.sending_done = 1;
	maybe_done();
}

/* GETID: read the id from the map (blocking), answer GOTID. */
static void
getid(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	uint8_t reply[4 + 64];
	uint32_t w = hton32(id), n = 0;
	struct future f;
	void *v;
	int err;

	future_init(&f);
	if ((err = idmap_get(me.im, id, &f)) == 0 && (err = future_block(&f, &v)) == 0) {
		struct idmap_val *val = v;

		n = val->len < 64 ? val->len : 64;
		memcpy(reply + 4, val->bytes, n);
		kfree(val);
	} else {
		printf("cluster: node %d: global id %u: %s\n", me.num, id, strerror(err));
	}
	memcpy(reply, &w, 4);
	cl_send(me.m, me.front, CL_FRONT, K_GOTID, reply, 4 + n);
}

/* SETID (putid=): set the id given to the value given, answer IDSET id, status. */
static void
setid(void *arg)
{
	struct msg *m = arg;
	uint32_t id = cl_word(m, 0), w[2] = { hton32(id), 0 };
	uint8_t val[64];
	uint32_t n = m->len - 4 < sizeof val ? m->len - 4 : sizeof val;
	struct future f;
	int err;

	iobuf_copy_out(m->data, 4, n, val);
	msg_free(m);
	future_init(&f);
	if ((err = idmap_set(me.im, id, val, n, &f)) == 0)
		err = future_block(&f, NULL);
	printf("cluster: node %d: set global id %u in the map: %s\n", me.num, id,
	    err == 0 ? "done" : strerror(err));
	w[1] = hton32((uint32_t)err);
	cl_send(me.m, me.front, CL_FRONT, K_IDSET, w, 8);
}

/* BENCH: measure toward the node named, report the line. */
static void
bench(void *arg)
{
	uint32_t to = (uint32_t)(uintptr_t)arg;
	char line[256];
	int k = num_of(to);

	if (k < 1 || k > NODE_MAX)
		return;
	cl_bench_pair(me.m, to, CL_NODE, me.ip, &me.gone[k], line, sizeof line);
	cl_send(me.m, me.front, CL_FRONT, K_BENCHRES, line, (uint32_t)strlen(line));
}

static void
node_msg0(struct msg *m)
{
	int k = num_of(m->from);

	if (k < 0 || k > NODE_MAX) {
		msg_free(m);
		return;
	}
	switch (m->kind) {
	case K_PING:
		cl_bench_ping(me.m, m, k == 0 ? CL_FRONT : CL_NODE);
		return;
	case K_PONG:
		cl_bench_pong(m);
		return;
	case K_BENCH:
		spawn(bench, (void *)(uintptr_t)hton32(cl_word(m, 0)));
		break;
	case K_PEERS:
		me.msgs = cl_word(m, 0);
		me.xmsgs = cl_word(m, 4);
		me.peer_of[0] = 1;		/* the frontend's stream */
		for (uint32_t i = 0, n = cl_word(m, 8); i < n && me.npeers < NODE_MAX; i++) {
			uint32_t ip = hton32(cl_word(m, 12 + 4 * i));

			int pk = num_of(ip);

			if (ip != me.ip && pk > 0 && pk <= NODE_MAX) {
				me.peer[me.npeers++] = ip;
				me.peer_of[pk] = 1;
			}
		}
		spawn(streams, NULL);
		break;
	case K_DATA:
		cl_stream_data(&me.in[k], m->from, m);
		counter_add(CL_COUNT, 1);
		break;
	case K_END:
		me.in[k].end = cl_word(m, 0);
		me.in[k].ended = 1;
		maybe_done();
		break;
	case K_SETID:
		if (m->len > 4 && spawn(setid, m) == 0)
			return;
		break;
	case K_SHARE:
		cl_share_node(me.m, me.front);
		break;
	case K_GETID:
		spawn(getid, (void *)(uintptr_t)cl_word(m, 0));
		break;
	case K_GONE: {
		uint32_t ip = hton32(cl_word(m, 0));
		int g = num_of(ip);

		if (g > 0 && g <= NODE_MAX && !me.gone[g]) {
			me.gone[g] = 1;
			printf("cluster: node %d: the frontend says node %d is gone\n", me.num, g);
			cl_bench_gone();
			msgr_drop(me.m, ip);	/* fail what waits on it */
			maybe_done();
		}
		break;
	}
	}
	msg_free(m);
}

static void
node_msg(void *rep, struct msg *m)
{
	(void)rep;
	cl_on_core0(m, node_msg0);
}

void
cl_member_joined(int num)
{
	char hello[32];
	uint32_t base;

	me.num = num;
	me.ip = hton32(NODE_NET + (uint32_t)num + 1);
	me.front = hton32(NODE_NET + 1);
	node_ids(num, &base);
	count.mc = (struct ebb_multicore)EBB_MULTICORE(no_init, sizeof(struct counter_rep));
	count.id = CL_COUNT;
	if ((me.m = msgr_start(me.ip)) == NULL || (me.im = idmap_start(me.m, me.front)) == NULL ||
	    ebb_bind(CL_NODE, &node_ebb.root) != 0 || ebb_bind(CL_COUNT, &count.mc.root) != 0 ||
	    msg_handle(CL_NODE, node_msg) != 0) {
		printf("cluster: node %d: cannot start its messenger\n", num);
		return;
	}
	idmap_range_set(me.im, base, NODE_IDS);
	printf("cluster: node %d joined its frontend; global Ebb ids %u..%u are mine\n",
	    num, base, base + NODE_IDS - 1);
	snprintf(hello, sizeof hello, "hello from node %d", num);
	cl_send(me.m, me.front, CL_FRONT, K_HELLO, hello, (uint32_t)strlen(hello));
}
