/*
 * msg.h: the messenger: messages between nodes, to Ebbs, over TCP.
 * Portable.
 *
 * A node is a runtime instance on the network, named by its IPv4
 * address.  Its messenger (struct messenger) sends a message to an Ebb
 * id on another node; the receiving messenger hands it, as an event, to
 * the handler registered for that id (msg_handle), with this core's rep
 * of the Ebb.  Between two nodes there is one TCP connection, opened on
 * the first message, to port MSG_PORT; every message is framed by a
 * 12-byte header and its payload travels as the caller's iobuf chain,
 * never copied (ebb/README.md has the wire format).
 *
 *	static void on_ping(void *rep, struct msg *m)	// node B
 *	{
 *		...m->from, m->kind, m->data (m->len bytes)...
 *		msg_free(m);			// reopens the sender's window
 *	}
 *	msg_handle(PING_EBB, on_ping);
 *
 *	struct messenger *me = msgr_start(IP4(10, 0, 0, 1));	// node A
 *	err = msg_send(me, IP4(10, 0, 0, 2), PING_EBB, 1, chain, &f);
 *	// 0: the chain is the messenger's; f resolves once B's TCP has
 *	// acknowledged every byte, or fails if the connection breaks first
 *
 * Cores.  Any core may send.  The connection to a peer lives on one
 * core (the core that first sent to the peer, or the one that accepted
 * its connection), and a send from another core is handed to it as an
 * event.  Messages one core sends to one peer arrive in the order sent;
 * messages from different cores interleave in no promised order.  A
 * node's messages arrive at a peer's handlers in the order they
 * arrived, each as an event on the core that owns the connection (a
 * handler that blocks lets the next one start).
 *
 * Backpressure.  At most MSG_QUEUE_MAX bytes (headers included) may be
 * queued toward one peer and not yet acknowledged by its TCP (or one
 * message of up to MSG_LEN_MAX, if the queue is empty): a send past
 * that returns EAGAIN and takes nothing; msg_wait_room gives a
 * future that resolves when the queue has drained to half.  On the
 * receiving side a message counts against its connection from delivery
 * until msg_free: past MSG_HOLD_MAX such bytes the messenger stops
 * releasing TCP's receive window, so a handler that keeps its messages
 * (a slow reader) stops the sender, whose queue then fills.  Memory is
 * so bounded at both ends.
 *
 * Failures.  A broken connection (reset, timeout, refused, a malformed
 * frame from the peer, msgr_drop) fails every message still waiting
 * for its acknowledgement: its future fails with ECONNRESET,
 * ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH, EPROTO or ECONNABORTED.  A
 * failed message may or may not have reached the peer (its bytes may
 * have arrived and only the acknowledgement been lost); a resolved one
 * reached the peer's TCP.  A message half received when its connection
 * breaks is freed, never delivered.  The next send opens a new
 * connection.
 *
 * Errors are positive errno values.
 */
#ifndef EBB_MSG_H
#define EBB_MSG_H

#include <stdint.h>

#include "event.h"
#include "future.h"
#include "tcp/iobuf.h"

#define MSG_PORT	7311		/* every messenger listens here */
#define MSG_HDR_LEN	12		/* bytes of the frame header */
#define MSG_LEN_MAX	(4u << 20)	/* payload bytes of one message, at most */
#define MSG_QUEUE_MAX	(4u << 20)	/* bytes queued to one peer, unacknowledged */
#define MSG_HOLD_MAX	(1u << 20)	/* delivered bytes not yet freed, per connection,
					 * past which the receive window stays shut */
#define MSG_NODES_MAX	8		/* messengers in one process (tests run several) */

struct messenger;
struct msg_conn;

/*
 * A received message, the handler's from delivery: it reads what it
 * needs and calls msg_free (from any core, at any later time).  data
 * may be taken (set m->data to NULL and free the chain oneself), and
 * the window then reopens at msg_free all the same.
 */
struct msg {
	struct messenger *to;		/* the node that received it */
	uint32_t from;			/* the sender's address (network order) */
	uint32_t ebb;			/* the destination Ebb */
	uint16_t kind;			/* the Ebb's own numbering */
	uint32_t len;			/* payload bytes */
	struct iobuf *data;		/* the payload (NULL if len is 0) */
	/* the messenger's: */
	struct msg_conn *conn;		/* where it came in, for the window */
	struct event ev;		/* delivery and release, without allocating */
};

/*
 * A message for Ebb id: called as an event on the core that owns the
 * connection, with this core's rep of the Ebb (ebb_rep).  It owns m.
 * It may block.
 */
typedef void (*msg_handler)(void *rep, struct msg *m);

/*
 * Start this node's messenger on address ip (network order; one of the
 * node's interfaces has it): listen on MSG_PORT (once for the process),
 * take connections to ip.  Any core.  Messengers are never stopped (as
 * interfaces are never removed); msgr_drop closes their connections.
 * NULL if memory ran out, ip is 0 or taken, or MSG_NODES_MAX are running.
 */
struct messenger *msgr_start(uint32_t ip);

/* The address m was started on. */
uint32_t msgr_ip(const struct messenger *m);

/*
 * Deliver messages for Ebb id to fn (the Ebb must be bound here when
 * they come: ebb_bind).  Any core; one handler per id.  Returns 0,
 * EEXIST, EINVAL (id 0), or ENOMEM.
 */
int msg_handle(uint32_t id, msg_handler fn);

/*
 * Send a message of kind to Ebb ebb on node to: the chain data (NULL
 * for none; its iobuf_chain_len is the length) becomes the messenger's
 * on success (a header goes in its first buffer's headroom if that is
 * not shared, else in a buffer in front).  sent, if not NULL, resolves
 * (value NULL) when the peer's TCP has acknowledged the whole message,
 * or fails as the top says; it must stay valid until then.  Any core.
 * Returns 0; or, taking nothing: EAGAIN (the peer's queue is full: see
 * msg_wait_room), EMSGSIZE (over MSG_LEN_MAX), EINVAL (to is this node
 * or 0, ebb is 0), ENOMEM.
 */
int msg_send(struct messenger *m, uint32_t to, uint32_t ebb, uint16_t kind,
    struct iobuf *data, struct future *sent);

/*
 * Resolve f (value NULL) once the queue toward node to holds at most
 * MSG_QUEUE_MAX / 2 bytes (at once if it does now): the place to send
 * again after EAGAIN.  Returns 0, or ENOMEM.
 */
int msg_wait_room(struct messenger *m, uint32_t to, struct future *f);

/* Give a received message back: its bytes no longer hold the window. */
void msg_free(struct msg *m);

/*
 * Reset every connection between m and node peer (0: every peer),
 * failing their messages with ECONNABORTED, as a broken connection
 * would.  Any core; done on each core soon after (as events).  Returns
 * 0, or ENOMEM (nothing done).
 */
int msgr_drop(struct messenger *m, uint32_t peer);

/* What a messenger has done: counters, summed over cores. */
struct msgr_stats {
	uint64_t sent, sent_bytes;		/* messages queued by msg_send, and bytes */
	uint64_t acked;				/* ... whose future resolved */
	uint64_t failed;			/* ... failed by a broken connection */
	uint64_t delivered, rx_bytes;		/* messages handed to handlers; bytes from TCP */
	uint64_t no_handler;			/* messages for an id with no handler or Ebb */
	uint64_t bad_frames;			/* malformed headers (the connection reset) */
	uint64_t opened, accepted, broken;	/* connections */
	int64_t held;				/* delivered bytes not yet msg_free'd, now */
	int64_t live;				/* connections alive, now */
};

void msgr_stats(const struct messenger *m, struct msgr_stats *out);

#endif
