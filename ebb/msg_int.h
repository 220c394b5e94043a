/*
 * msg_int.h: what msg.c (nodes, peers, sending) and msg_rx.c
 * (receiving, delivery) share.  Portable; the messenger's files only.
 *
 * The wire (ebb/README.md, "The messenger"): a connection is a stream
 * of frames, each a 12-byte header and len bytes of payload, all
 * numbers big-endian:
 *
 *	0  len    u32	payload bytes (<= MSG_LEN_MAX)
 *	4  ebb    u32	the destination Ebb id (0: the messenger's own frame)
 *	8  kind   u16	the Ebb's message kind (for Ebb 0: MSG_KIND_*)
 *	10 flags  u16	0 (anything else is a malformed frame)
 *
 * The side that opened the connection sends one hello first (Ebb 0,
 * MSG_KIND_HELLO, struct msg_hello): the accepting side learns which
 * node is at the other end from it, not from the TCP source address
 * (one process may run several nodes, and a node's address need not be
 * the one its packets leave from).  No other frame goes to Ebb 0.
 */
#ifndef EBB_MSG_INT_H
#define EBB_MSG_INT_H

#include <stdint.h>
#include <sys/queue.h>

#include "msg.h"
#include "percore.h"
#include "rhash.h"
#include "tcp/tcp.h"

#define MSG_MAGIC	0x4542424du	/* "EBBM" */
#define MSG_VERSION	1
#define MSG_KIND_HELLO	1

struct msg_wire_hdr {
	uint32_t len, ebb;
	uint16_t kind, flags;
} __attribute__((packed));

struct msg_hello {
	uint32_t magic;		/* MSG_MAGIC */
	uint16_t version;	/* MSG_VERSION */
	uint16_t zero;
	uint32_t node;		/* the sender's node address (network order as is) */
} __attribute__((packed));

#define MSG_HELLO_LEN	((uint32_t)sizeof(struct msg_hello))

/* One message on its way out, on its connection's core. */
struct msg_out {
	STAILQ_ENTRY(msg_out) link;	/* on conn->outq */
	struct event ev;		/* the hand-over to the peer's core */
	struct msg_peer *peer;
	struct iobuf *rest;		/* bytes TCP has not taken yet (header first) */
	uint32_t len;			/* header and payload */
	int kind;			/* OUT_MSG, or OUT_HELLO (not counted as sent) */
	uint64_t end;			/* stream offset past its last byte */
	struct future *sent;		/* the sender's, or NULL */
};

#define OUT_MSG		0
#define OUT_HELLO	1

/* Waiting for room toward a peer (msg_wait_room). */
struct msg_waiter {
	struct event ev;
	struct msg_waiter *next;
	struct msg_peer *peer;
	struct future *f;
};

/*
 * The sending side toward one node, made on first use and kept.  core
 * is fixed; queued is an atomic any sender reserves from; the rest is
 * core's alone.
 */
struct msg_peer {
	struct messenger *m;
	uint32_t ip;
	int core;
	uint32_t queued;		/* atomic: bytes in messages not yet acked */
	/* core's: */
	struct msg_conn *conn;		/* the connection sending for it, or NULL */
	struct msg_waiter *waiters;	/* msg_wait_room's */
};

/* One TCP connection, with everything in it owned by core. */
struct msg_conn {
	struct messenger *m;
	struct tcp_conn *c;		/* NULL once the TCP connection is gone */
	int core;
	int refs;			/* 1 until conn_gone, + messages delivered
					 * and not yet given back */
	int up;				/* established: tcp_send may be called */
	uint32_t from;			/* the node at the other end; 0 until its hello */
	struct msg_peer *peer;		/* the peer it sends for, or NULL */
	LIST_ENTRY(msg_conn) link;	/* on m->cores[core].conns until conn_gone */
	/* sending: */
	STAILQ_HEAD(, msg_out) outq;	/* oldest first, until acked */
	struct msg_out *unsent;		/* the first record TCP has not taken all of */
	uint64_t qend;			/* stream offset past the last record queued */
	uint64_t acked;			/* bytes the peer's TCP acknowledged */
	/* receiving: */
	struct iobuf *rx;		/* bytes of the frame being received */
	size_t rx_len;
	int have_hdr;			/* hdr below is this frame's */
	uint32_t want, ebb;		/* its payload length, destination ... */
	uint16_t kind;			/* ... and kind */
	size_t held;			/* bytes delivered, not yet msg_free'd */
	size_t owed;			/* bytes received and not yet released
					 * to TCP's window (held was too big) */
};

/* A core's part of a messenger. */
struct msgr_core {
	LIST_HEAD(, msg_conn) conns;	/* this core's connections, alive */
	struct msgr_stats st;		/* counters: written here (relaxed), read anywhere */
} PERCORE;

struct messenger {
	uint32_t ip;			/* this node */
	struct rhash *peers;		/* address -> struct msg_peer */
	struct msgr_core cores[NCPU];
};

/* Count n in this core's counter f of m (relaxed: a value of its own). */
#define MSTAT(m, f, n) \
	__atomic_fetch_add(&(m)->cores[core_id()].st.f, (n), __ATOMIC_RELAXED)

/* msg.c */
struct messenger *msgr_find(uint32_t ip);
struct msg_peer *peer_get(struct messenger *m, uint32_t ip);
void peer_room(struct msg_peer *p);
void out_done(struct msg_out *o, int err);
struct msg_conn *conn_new(struct messenger *m);
void conn_put(struct msg_conn *cn);
void conn_pump(struct msg_conn *cn);
void conn_acked(struct msg_conn *cn, size_t acked);
void conn_gone(struct msg_conn *cn, int err);
void conn_reset(struct msg_conn *cn, int err);

/* msg_rx.c */
extern const struct tcp_callbacks msg_tcp_cb;
int msg_accept(void *arg, struct tcp_conn *c);

#endif
