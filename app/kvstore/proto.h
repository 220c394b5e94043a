/*
 * proto.h: what app/kvstore's protocol code shares with the connection
 * glue (conn.c) and the tests: the reply batch, the settings "stats"
 * shows, and a connection's parser state (struct kv_text), which serves
 * the text protocol with the meta commands (text.c, meta.c) or, if the
 * first byte is 0x80, the binary protocol (binary.c).  Portable; no
 * network calls: a parser takes bytes and gives back a reply chain, so
 * a hosted test can drive it at every split point.
 *
 *	struct kv_text t;  kv_text_init(&t);
 *	struct kv_out o;   kv_out_init(&o);
 *	for each received buffer b:
 *		if (kv_text_input(&t, b->data, b->len, &o) == KV_CLOSE) ...
 *	tcp_send(c, o.head) ... kv_out_free(&o);	// one send per segment
 *	kv_text_free(&t);
 */
#ifndef KVSTORE_PROTO_H
#define KVSTORE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "tcp/iobuf.h"

#define KV_LINE_MAX	2048		/* a command line without its newline (memcached's) */
#define KV_GET_LINE_MAX	(64 * 1024)	/* ... but for get/gets/gat/gats, many keys */
#define KV_VERSION	"1.6.0"		/* the memcached version we answer as */

/*
 * A batch of replies: a chain of iobufs, small strings copied into
 * buffers of their own, values referenced (kv_value_buf: zero copy).
 * nomem: some reply could not be built (the connection is closed: a
 * client must not get a reply stream with a hole in it).
 */
struct kv_out {
	struct iobuf *head, *tail;
	struct iobuf *copy;		/* the tail, when it is ours to copy into */
	size_t len;			/* bytes in the chain */
	int nomem;
};

void kv_out_init(struct kv_out *o);
void kv_out_free(struct kv_out *o);	/* frees the chain (after tcp_send took its copy) */
void kv_out_str(struct kv_out *o, const char *s, size_t n);	/* copied */
void kv_out_cstr(struct kv_out *o, const char *s);		/* copied, strlen */
void kv_out_printf(struct kv_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kv_out_ref(struct kv_out *o, struct iobuf *b);		/* b's ownership passes */

/* What "stats settings" and "stats" show that the store does not know. */
struct kv_settings {
	uint16_t port;
	uint64_t start_ns;		/* clock_ns at start: uptime */
	/* From conn.c, read with relaxed loads (0 in the parser's tests): */
	uint64_t curr_connections, total_connections, rejected_connections;
	uint64_t bytes_read, bytes_written;
};
extern struct kv_settings kv_settings;

/* One word of a command line (text.c's tokenizer, shared with meta.c). */
struct kv_word {
	const char *p;
	size_t n;
};

int kv_split(const char *p, size_t n, struct kv_word *w, int max);	/* words, at most max */
int kv_is(const struct kv_word *w, const char *s);		/* w is the string s */
int kv_key_ok(const struct kv_word *w);			/* 1..KV_KEY_MAX bytes */
int kv_num_u64(const struct kv_word *w, uint64_t max, uint64_t *out);	/* 0, or -1 */
int kv_num_i32(const struct kv_word *w, int64_t *out);		/* 0, or -1 */

/* A request's outcome for the connection. */
enum { KV_OK = 0, KV_CLOSE = 1 };

/*
 * A connection's protocol state: which protocol (its first byte says);
 * for text, a command line that came split across segments (pend), and
 * a storage command's data block being read straight into its new item
 * (for ms, with the line kept in mline); for binary, binary.c's state.
 */
struct kv_text {
	char *pend;			/* an incomplete line, KV_GET_LINE_MAX bytes */
	size_t npend;
	/* a storage command's data block: */
	struct kv_item *item;		/* filled as bytes come; NULL: none */
	size_t need;			/* data bytes still to come, "\r\n" included */
	size_t got;			/* data bytes read so far */
	size_t swallow;			/* bytes to skip (a refused data block) */
	enum kv_op op;
	uint64_t cas;
	int noreply;
	int meta;			/* the data block is an ms's: its line is in mline */
	char *mline;			/* KV_LINE_MAX bytes */
	size_t nmline;
	int closing;			/* quit, or a fatal error: nothing more is read */
	enum { KV_PROTO_NONE, KV_PROTO_TEXT, KV_PROTO_BINARY } proto;	/* by the first byte */
	struct kv_bin *bin;		/* binary.c's state: a binary connection */
};

/* Set up t; returns 0 or ENOMEM. */
int kv_text_init(struct kv_text *t);
void kv_text_free(struct kv_text *t);

/*
 * Take n received bytes: run every request they complete, replies
 * appended to out.  Returns KV_CLOSE when the connection must close
 * once out is sent (quit, a line too long, no memory), else KV_OK.
 */
int kv_text_input(struct kv_text *t, const char *p, size_t n, struct kv_out *out);

/*
 * The meta commands (meta.c), called by text.c: kv_is_meta says whether
 * a line's first word is one; kv_meta_command runs the line; an ms's
 * data block, once whole, goes to kv_meta_stored (which takes it).
 */
int kv_is_meta(const struct kv_word *w);
void kv_meta_command(struct kv_text *t, const char *line, size_t n, struct kv_out *out);
void kv_meta_stored(struct kv_text *t, struct kv_item *it, struct kv_out *out);

/*
 * The binary protocol (binary.c): a connection whose first byte is 0x80
 * goes there for good.  kv_bin_input is kv_text_input's twin.
 */
#define KV_BIN_MAGIC	0x80
int kv_bin_input(struct kv_text *t, const char *p, size_t n, struct kv_out *out);
void kv_bin_free(struct kv_bin *b);

/*
 * "stats" (group "", n 0) or "stats settings" as text lines, "STAT name
 * value\r\n" ... "END\r\n", into out; -1 for a group there is not.
 */
int kv_stats_text(const char *group, size_t n, struct kv_out *out);

/*
 * The connection glue (conn.c): listen on TCP port port, every
 * interface, and serve each client there; 0 or tcp_listen's errno.  The
 * store must be made (kv_init) first.  app_main calls it; so does
 * test/bench_kvnet.c, which has no app_main.
 */
int kv_listen(uint16_t port);

#endif
