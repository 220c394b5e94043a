/*
 * cluster.h: what the cluster app's two roles share: its Ebbs, its
 * messages, and the checked streams both send and receive.
 *
 * The app's Ebbs are global: the frontend's range of ids (node 0's,
 * ebb/node.h) begins with them, so every node knows them without
 * asking.  Each is bound on the nodes that serve it (CL_FRONT on the
 * frontend, CL_NODE and CL_COUNT on each node).
 *
 * Messages (ebb/msg.h), by kind; numbers are big-endian:
 *	HELLO   node -> CL_FRONT   "hello from node N"
 *	PEERS   front -> CL_NODE   u32 msgs, u32 xmsgs, u32 n, then n node addresses
 *	DATA    any -> CL_FRONT or CL_NODE   one item of a checked stream
 *	END     the same           u32 items sent before it
 *	DONE    node -> CL_FRONT   struct cl_done
 *	IDSET   node 1 -> CL_FRONT u32 id: it has set that global id in the map
 *	GETID   front -> CL_NODE   u32 id: read it from the map, answer GOTID
 *	GOTID   node -> CL_FRONT   u32 id, then the value it read
 *	GONE    front -> CL_NODE   u32 address: that node died, stop waiting
 *	PING    any -> CL_FRONT or CL_NODE   bytes to send back as PONG (bench.c)
 *	BENCH   front -> CL_NODE   u32 address: measure toward that node
 *	BENCHRES node -> CL_FRONT  the figures, a line of text
 *	SETID   front -> CL_NODE   u32 id, then a value: set it in the map
 *	        (putid=); answered IDSET u32 id, u32 status
 *	SHARE   front -> CL_NODE   (share=DIR) walk the host's DIR through the file Ebb
 *	SHARED  node -> CL_FRONT   the walk's report, text (share.c)
 */
#ifndef APP_CLUSTER_H
#define APP_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "ebb/counter.h"
#include "ebb/future.h"
#include "ebb/msg.h"
#include "ebb/node.h"
#include "tcp/iobuf.h"

enum { CL_FRONT_OFF, CL_NODE_OFF, CL_COUNT_OFF };	/* offsets in range 0 */
#define CL_ID(off)	(EBB_LOCAL_MAX + 1 + (off))	/* node_ids(0) + off */
#define CL_FRONT	CL_ID(CL_FRONT_OFF)
#define CL_NODE		CL_ID(CL_NODE_OFF)
#define CL_COUNT	CL_ID(CL_COUNT_OFF)

enum cl_kind { K_HELLO = 1, K_PEERS, K_DATA, K_END, K_DONE, K_IDSET, K_GETID, K_GOTID, K_GONE,
	K_PING, K_PONG, K_BENCH, K_BENCHRES, K_SETID, K_SHARE, K_SHARED };

#define CL_ITEM		64		/* bytes of a stream item */
#define CL_SENT_EVERY	256		/* items between those whose delivery is awaited */
#define CL_PROGRESS	100000		/* items between progress lines */

/* A node's report when its streams are over (DONE). */
struct cl_done {
	uint32_t node;
	uint32_t got;			/* stream items received, checked */
	uint32_t bad;			/* ... out of order or wrong */
	uint32_t sent;			/* stream items to send, all streams */
	uint32_t failed;		/* ... not delivered */
	uint32_t err;			/* the first failure's error, or 0 */
	uint32_t counted;		/* the node's CL_COUNT: items received */
};

/* One stream received from one sender. */
struct cl_in {
	uint32_t got, bad;
	uint32_t end;			/* END's count, once it came */
	int ended;
};

/* One stream sent: what came of it. */
struct cl_out {
	uint32_t n;			/* items in the stream */
	uint32_t sent;			/* ... handed to the messenger */
	uint32_t failed;		/* ... not delivered: failed or never sent */
	int err;			/* the first failure's error */
};

/*
 * Send n stream items of size bytes (at least 8; CL_ITEM in the app's
 * checks) of source src to Ebb ebb on node to, then END;
 * blocks the calling event while the queue is full and until every
 * awaited delivery is known; stops (ECONNABORTED) once *stop is set
 * (the peer died).  Counts into *out; prints "LABEL: N items sent"
 * every CL_PROGRESS items if label is not NULL.
 */
void cl_stream(struct messenger *m, uint32_t to, uint32_t ebb, uint32_t src,
    uint32_t n, uint32_t size, const int *stop, const char *label, struct cl_out *out);

/*
 * A DATA message from src: check it against the stream so far (an item
 * after the stream's END begins a new stream).
 */
void cl_stream_data(struct cl_in *in, uint32_t src, const struct msg *m);

/* A message's first 4 bytes (big-endian) at off, or 0 if it is shorter. */
uint32_t cl_word(const struct msg *m, uint32_t off);

/* Send kind to ebb on node to with n bytes copied from p (fire and forget). */
int cl_send(struct messenger *m, uint32_t to, uint32_t ebb, uint16_t kind,
    const void *p, uint32_t n);

/* Give m to core 0 (where the app's state lives) as an event, run fn there. */
void cl_on_core0(struct msg *m, void (*fn)(struct msg *m));

/* bench.c: the benchmark's pieces (core 0). */
void cl_bench_ping(struct messenger *me, struct msg *m, uint32_t ebb);	/* frees m */
void cl_bench_pong(struct msg *m);					/* frees m */
void cl_bench_gone(void);		/* a peer died: fail the round trip in flight */
void cl_bench_pair(struct messenger *m, uint32_t to, uint32_t ebb, uint32_t src,
    const int *stop, char *line, size_t len);

/* share.c: the share= argument (the file Ebb's demonstration). */
int cl_share_dir_ok(const char *dir);			/* frontend: can it be served? */
int cl_share_serve(struct messenger *m, const char *dir);	/* frontend: serve dir */
void cl_share_got(int num, struct msg *m);		/* frontend: node num's SHARED */
void cl_share_gone(int num);				/* frontend: node num died */
int cl_share_check(struct messenger *m, const uint32_t *ips, const int *nums, int n);
void cl_share_node(struct messenger *m, uint32_t front);	/* node: SHARE came */

/* The roles. */
int cl_frontend(int argc, char **argv);
void cl_member_joined(int num);

#endif
