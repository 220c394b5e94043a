/*
 * meta.c: memcached's meta commands (protocol.txt, "Meta Commands"), as
 * memcached 1.6.18 answers them, over the store.  Portable; no network
 * calls.  text.c hands over every line whose first word is mg, ms, md,
 * ma, mn or me (and, for ms, the data block and its outcome).
 *
 *	mg <key> <flags>*		get: HD, VA <len> + data block, or EN
 *	ms <key> <datalen> <flags>*	set: HD, NS, EX or NF
 *	md <key> <flags>*		delete: HD, NF or EX
 *	ma <key> <flags>*		arithmetic: HD, VA, NF, NS or EX
 *	mn				MN (the end of a pipeline of quiet ones)
 *	me <key>			ME <key> exp= la= cas= fetch= cls= size=, or EN
 *
 * A flag is one letter, some with a token glued on (T30, Oabc); every
 * flag may come once.  Return flags (k O c f t s h l) are answered in
 * the order they were asked, then Z, X, W (memcached's order).  q hides
 * the common reply (mg: EN; ms, md, ma: HD); errors are always said.
 *
 *	kv_meta_command -> parse_flags (into struct meta)
 *	    -> meta_get | meta_set | meta_delete | meta_arith | meta_debug
 *	ms: the line is kept (t->mline) until its data block is whole:
 *	    text.c's data() -> kv_meta_stored -> kv_store -> the reply
 *
 * Recache (the dog-pile guard).  An item carries three marks (store.h's
 * KV_ITEM_*).  md I (and ms I with an old C) publishes a STALE copy with
 * a new unique.  mg on a miss with N creates an empty item, already
 * WON, and tells its caller W; mg of a STALE item, or (R) of one whose
 * TTL is below the token, tells the first caller W (setting WON with an
 * atomic or: exactly one wins) and every later one Z.
 *
 * Where it differs from memcached 1.6.18: no b (base64 keys: "invalid
 * flag"); l and me's la= are always 0 (items keep no access time); me's
 * cls= is 1 and size= is our charge for the item; E is an invalid flag,
 * as in 1.6.18 (it came later).
 */
#include <string.h>
#include <stdio.h>

#include "proto.h"

#define META_TOKENS	19		/* words a meta line may have (memcached 1.6.18's) */
#define META_OPAQUE_MAX	32		/* an O flag's word, the O included */

/* One meta command's line, parsed. */
struct meta {
	char cmd;			/* g, s, d, a or e: the command's second letter */
	struct kv_word key;
	struct kv_word flag[META_TOKENS];	/* the flags, in the order sent */
	int nflag;
	uint64_t has;			/* bit (letter - 'A') per flag present */
	int64_t ttl, vivify, recache;	/* T, N, R */
	uint64_t cas, delta, initial;	/* C, D, J */
	uint64_t cflags;		/* F */
	char mode;			/* M */
};

#define HAS(m, c)	(((m)->has >> ((c) - 'A')) & 1)

/*
 * The flags memcached 1.6.18 takes on every meta command (a command
 * ignores those it has no use for); P and L are proxy hints, ignored.
 * b (base64 keys) is not done here: it is an invalid flag.
 */
#define META_FLAGS	"cfhklqstuvCDFIJLMNOPRT"

/* ---- parsing -------------------------------------------------------------- */

/*
 * An error line for command c: md and ma say "invalid or duplicate flag"
 * for every fault of their flags, as memcached does.
 */
static const char *
flag_error(char c, const char *msg)
{
	if (c == 'd' || c == 'a')
		return "CLIENT_ERROR invalid or duplicate flag\r\n";
	return msg;
}

/* ms's and ma's M token: the error line, or NULL. */
static const char *
flag_mode(char c, const struct kv_word *tok, struct meta *m)
{
	if (tok->n != 1)
		return flag_error(c, "CLIENT_ERROR incorrect length for M token\r\n");
	m->mode = tok->p[0];	/* mg and md take it and ignore it */
	if (c == 's' && strchr("EAPRS", m->mode) == NULL)
		return "CLIENT_ERROR invalid mode for ms M token\r\n";
	if (c == 'a' && strchr("I+D-", m->mode) == NULL)
		return "CLIENT_ERROR invalid mode for ma M token\r\n";
	return NULL;
}

/* A flag's token, if it takes one: the error line for command c, or NULL. */
static const char *
flag_token(char c, const struct kv_word *f, struct meta *m)
{
	struct kv_word tok = { f->p + 1, f->n - 1 };
	const char *bad = flag_error(c, "CLIENT_ERROR bad token in command line format\r\n");

	switch (f->p[0]) {
	case 'T': return kv_num_i32(&tok, &m->ttl) == 0 ? NULL : bad;
	case 'N': return kv_num_i32(&tok, &m->vivify) == 0 ? NULL : bad;
	case 'R': return kv_num_i32(&tok, &m->recache) == 0 ? NULL : bad;
	case 'C': return kv_num_u64(&tok, UINT64_MAX, &m->cas) == 0 ? NULL : bad;
	case 'D':
		return kv_num_u64(&tok, UINT64_MAX, &m->delta) == 0 ? NULL :
		    flag_error(c, "CLIENT_ERROR invalid numeric delta value\r\n");
	case 'J':
		return kv_num_u64(&tok, UINT64_MAX, &m->initial) == 0 ? NULL :
		    flag_error(c, "CLIENT_ERROR invalid numeric initial value\r\n");
	case 'F':
		return kv_num_u64(&tok, UINT32_MAX, &m->cflags) == 0 ? NULL :
		    flag_error(c, "CLIENT_ERROR bad command line format\r\n");
	case 'O':
		return f->n <= META_OPAQUE_MAX ? NULL :
		    flag_error(c, "CLIENT_ERROR opaque token too long\r\n");
	case 'M':
		return flag_mode(c, &tok, m);
	}
	return NULL;
}

/*
 * Parse the flags w[0..nw) of command c into m (its key already set).
 * Returns NULL, or the error line to answer.
 */
static const char *
parse_flags(char c, struct kv_word *w, int nw, struct meta *m)
{
	m->nflag = 0;
	m->has = 0;
	m->delta = 1;
	m->mode = 0;
	for (int i = 0; i < nw; i++) {
		char f = w[i].p[0];
		if (!((f >= 'A' && f <= 'Z') || (f >= 'a' && f <= 'z')) ||
		    strchr(META_FLAGS, f) == NULL)
			return flag_error(c, "CLIENT_ERROR invalid flag\r\n");
		if (HAS(m, f))
			return flag_error(c, "CLIENT_ERROR duplicate flag\r\n");
		m->has |= 1ULL << (f - 'A');
		m->flag[m->nflag++] = w[i];
		const char *e = flag_token(c, &w[i], m);
		if (e != NULL)
			return e;
	}
	return NULL;
}

/* ---- replies ---------------------------------------------------------------- */

/* A reply line being built: "CD" then " flag"s. */
struct line {
	char s[64 + KV_KEY_MAX + META_OPAQUE_MAX + 8 * 24];
	size_t n;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (l->n + n <= sizeof l->s) {
		memcpy(l->s + l->n, s, n);
		l->n += n;
	}
}

static void
put_num(struct line *l, char flag, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof b, " %c%lld", flag, (long long)v);
	put(l, b, (size_t)n);
}

/* "VA <len>": the code of a reply with a data block. */
static void
put_va(struct line *l, uint64_t len)
{
	char b[24];
	int n = snprintf(b, sizeof b, "VA %llu", (unsigned long long)len);
	put(l, b, (size_t)n);
}

static void
put_unum(struct line *l, char flag, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof b, " %c%llu", flag, (unsigned long long)v);
	put(l, b, (size_t)n);
}

/* Seconds it has to live, -1 for ever. */
static int64_t
ttl_left(const struct kv_item *it)
{
	int64_t e = __atomic_load_n(&it->exptime, __ATOMIC_RELAXED);
	return e == 0 ? -1 : e - kv_now();
}

/*
 * The return flags m asked for, in its order: from it (NULL: a miss or
 * a failure, where only k and O are said, as memcached does); cas is
 * the unique to show for c.  fetched: h's answer.
 */
static void
put_flags(struct line *l, const struct meta *m, const struct kv_item *it, uint64_t cas,
    int fetched)
{
	for (int i = 0; i < m->nflag; i++) {
		const struct kv_word *f = &m->flag[i];
		switch (f->p[0]) {
		case 'O':
			put(l, " ", 1);
			put(l, f->p, f->n);
			continue;
		case 'k':
			put(l, " k", 2);
			put(l, m->key.p, m->key.n);
			continue;
		}
		if (f->p[0] == 'c' && (it != NULL || m->cmd == 's')) {
			put_unum(l, 'c', cas);	/* ms: also on failure, as 0 */
			continue;
		}
		if (it == NULL)
			continue;
		switch (f->p[0]) {
		case 'f': put_unum(l, 'f', it->flags); break;
		case 's': put_unum(l, 's', it->nbytes); break;
		case 't': put_num(l, 't', ttl_left(it)); break;
		case 'h': put_num(l, 'h', fetched); break;
		case 'l': put_num(l, 'l', 0); break;
		}
	}
}

static void
send_line(struct kv_out *out, struct line *l)
{
	put(l, "\r\n", 2);
	kv_out_str(out, l->s, l->n);
}

/* "CD" with m's k and O flags only (a miss, a failure). */
static void
short_reply(struct kv_out *out, const struct meta *m, const char *cd)
{
	struct line l = { .n = 0 };

	put(&l, cd, 2);
	put_flags(&l, m, NULL, 0, 0);
	send_line(out, &l);
}

/* ---- mg ------------------------------------------------------------------- */

/* A miss with N: create the empty item, already WON.  The item, or NULL. */
static struct kv_item *
vivify(const struct meta *m, int *win)
{
	enum kv_status why;
	struct kv_item *it = kv_item_new(m->key.p, m->key.n, 0, m->vivify, 0, &why);

	if (it == NULL)
		return NULL;
	it->mflags = KV_ITEM_WON;	/* not published yet: a plain store */
	if (kv_store(KV_ADD, it, 0, NULL) == KV_STORED)
		*win = 1;
	return kv_get(m->key.p, m->key.n, KV_PEEK);
}

/* mg: HD or VA and the value, the flags asked for, then Z X W; EN on a miss. */
static void
meta_get(const struct meta *m, struct kv_out *out)
{
	struct kv_item *it;
	int win = 0;

	kv_count(KV_CMD_GET);
	it = kv_get(m->key.p, m->key.n, KV_COUNT | KV_PEEK);
	if (it == NULL && HAS(m, 'N'))
		it = vivify(m, &win);
	if (it == NULL) {
		if (!HAS(m, 'q'))
			short_reply(out, m, "EN");
		return;
	}
	if (HAS(m, 'T') && kv_touch(m->key.p, m->key.n, m->ttl) == NULL) {
		if (!HAS(m, 'q'))	/* it expired between the two: a miss */
			short_reply(out, m, "EN");
		return;
	}
	uint8_t before = __atomic_load_n(&it->mflags, __ATOMIC_RELAXED);
	int64_t left = ttl_left(it);
	int claim = (before & KV_ITEM_STALE) ||
	    (HAS(m, 'R') && left != -1 && left < m->recache);
	if (!HAS(m, 'u') || claim)
		before = kv_mark(it, claim ? KV_ITEM_WON : 0);
	if (claim && !(before & KV_ITEM_WON))
		win = 1;

	struct line l = { .n = 0 };
	if (HAS(m, 'v'))
		put_va(&l, it->nbytes);
	else
		put(&l, "HD", 2);
	put_flags(&l, m, it, it->cas, (before & KV_ITEM_FETCHED) != 0);
	if ((__atomic_load_n(&it->mflags, __ATOMIC_RELAXED) & KV_ITEM_WON) && !win)
		put(&l, " Z", 2);	/* another client has won the recache */
	if (before & KV_ITEM_STALE)
		put(&l, " X", 2);
	if (win)
		put(&l, " W", 2);
	send_line(out, &l);
	if (HAS(m, 'v'))
		kv_out_ref(out, kv_value_buf(it));
}

/* ---- ms ------------------------------------------------------------------- */

/* ms's mode as a store op. */
static enum kv_op
set_op(const struct meta *m)
{
	switch (m->mode) {
	case 'E': return KV_ADD;
	case 'A': return KV_APPEND;
	case 'P': return KV_PREPEND;
	case 'R': return KV_REPLACE;
	default:  return HAS(m, 'C') ? KV_CAS : KV_SET;
	}
}

/*
 * ms KEY DATALEN FLAGS: start reading the data block into a new item
 * (text.c reads it); the line waits in t->mline for kv_meta_stored.
 */
static void
meta_set(struct kv_text *t, struct kv_word *w, int nw, struct kv_out *out)
{
	struct meta m = { .cmd = 's', .key = w[1] };
	int64_t len;
	enum kv_status why;

	if (nw < 2) {
		kv_out_cstr(out, "ERROR\r\n");
		return;
	}
	if (nw < 3 || !kv_key_ok(&w[1]) || kv_num_i32(&w[2], &len) != 0 || len < 0 ||
	    len > INT32_MAX - 2) {
		kv_out_cstr(out, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	const char *e = parse_flags('s', w + 3, nw - 3, &m);
	if (e == NULL) {
		t->item = kv_item_new(w[1].p, w[1].n, (uint32_t)m.cflags, m.ttl, (size_t)len, &why);
		if (t->item == NULL)
			e = why == KV_TOO_LARGE ? "SERVER_ERROR object too large for cache\r\n" :
			    "SERVER_ERROR out of memory storing object\r\n";
	}
	if (e != NULL) {
		kv_out_cstr(out, e);
		t->swallow = (size_t)len + 2;
		return;
	}
	/* Keep the line's words (key and flags) for the reply. */
	const char *from = w[1].p, *to = w[nw - 1].p + w[nw - 1].n;
	memcpy(t->mline, from, (size_t)(to - from));
	t->nmline = (size_t)(to - from);
	t->meta = 1;
	t->need = (size_t)len + 2;
	t->got = 0;
	t->op = set_op(&m);
	t->cas = m.cas;
}

/* An ms's data block is whole: store it (invalidating, with I) and answer. */
void
kv_meta_stored(struct kv_text *t, struct kv_item *it, struct kv_out *out)
{
	struct kv_word w[META_TOKENS];
	int nw = kv_split(t->mline, t->nmline, w, META_TOKENS);
	struct meta m = { .cmd = 's', .key = w[0] };
	enum kv_status s;
	uint64_t cas = 0;

	t->meta = 0;
	parse_flags('s', w + 2, nw - 2, &m);	/* it passed in meta_set */
	if (HAS(&m, 'I') && HAS(&m, 'C') && t->op == KV_CAS) {
		/* Invalidate: an older unique still stores, as a stale item. */
		struct kv_item *cur = kv_get(m.key.p, m.key.n, KV_PEEK);
		if (cur != NULL && m.cas < cur->cas) {
			it->mflags = KV_ITEM_STALE;	/* not published yet */
			t->cas = cur->cas;
		}
	}
	s = kv_store(t->op, it, t->cas, &cas);
	struct line l = { .n = 0 };
	switch (s) {
	case KV_STORED:
		if (HAS(&m, 'q'))
			return;
		put(&l, "HD", 2);
		break;
	case KV_NOT_STORED:	put(&l, "NS", 2); break;
	case KV_EXISTS:		put(&l, "EX", 2); break;
	case KV_NOT_FOUND:	put(&l, "NF", 2); break;
	case KV_TOO_LARGE:
		kv_out_cstr(out, "SERVER_ERROR object too large for cache\r\n");
		return;
	default:
		kv_out_cstr(out, "SERVER_ERROR out of memory storing object\r\n");
		return;
	}
	put_flags(&l, &m, NULL, s == KV_STORED ? cas : 0, 0);
	send_line(out, &l);
}

/* ---- md, ma, me ---------------------------------------------------------------- */

/* md I: publish a stale copy of the item with a new unique (and T's TTL). */
static enum kv_status
invalidate(const struct meta *m)
{
	struct kv_item *cur = kv_get(m->key.p, m->key.n, KV_PEEK);
	enum kv_status why;

	if (cur == NULL)
		return KV_NOT_FOUND;
	if (HAS(m, 'C') && cur->cas != m->cas)
		return KV_EXISTS;
	struct kv_item *n = kv_item_new(cur->key, cur->nkey, cur->flags,
	    HAS(m, 'T') ? m->ttl : 0, cur->nbytes, &why);
	if (n == NULL)
		return why;
	if (!HAS(m, 'T'))
		n->exptime = cur->exptime;
	memcpy(kv_value(n), kv_value(cur), cur->nbytes);
	/* Not published yet: plain stores.  Fetched stays; WON goes (a new race). */
	n->mflags = KV_ITEM_STALE | (__atomic_load_n(&cur->mflags, __ATOMIC_RELAXED) & KV_ITEM_FETCHED);
	enum kv_status s = kv_store(KV_CAS, n, cur->cas, NULL);
	return s == KV_STORED ? KV_DELETED : s;
}

/* md: delete, or with I mark stale; HD (not with q), NF or EX. */
static void
meta_delete(const struct meta *m, struct kv_out *out)
{
	enum kv_status s = HAS(m, 'I') ? invalidate(m) :
	    kv_delete_cas(m->key.p, m->key.n, HAS(m, 'C') ? m->cas : 0);

	switch (s) {
	case KV_DELETED:
		if (!HAS(m, 'q'))
			short_reply(out, m, "HD");
		break;
	case KV_EXISTS:		short_reply(out, m, "EX"); break;
	case KV_NOT_FOUND:	short_reply(out, m, "NF"); break;
	default:		kv_out_cstr(out, "SERVER_ERROR out of memory\r\n"); break;
	}
}

/* ma N: create the item with J's value; KV_STORED, KV_NOT_STORED (it came first) or an error. */
static enum kv_status
arith_create(const struct meta *m, uint64_t *cas)
{
	char d[24];
	int n = snprintf(d, sizeof d, "%llu", (unsigned long long)m->initial);
	enum kv_status why;
	struct kv_item *it = kv_item_new(m->key.p, m->key.n, 0, m->vivify, (size_t)n, &why);

	if (it == NULL)
		return why;
	memcpy(kv_value(it), d, (size_t)n);
	return kv_store(KV_ADD, it, 0, cas);
}

/* ma: incr or decr (M), creating with N; HD or VA and the number, NF, NS or EX. */
static void
meta_arith(const struct meta *m, struct kv_out *out)
{
	int incr = m->mode != 'D' && m->mode != '-', created = 0;
	uint64_t v = 0, cas = 0;
	enum kv_status s;

	for (int tries = 0;; tries++) {
		s = kv_arith_cas(m->key.p, m->key.n, incr, m->delta, HAS(m, 'C') ? m->cas : 0,
		    &v, &cas);
		if (s != KV_NOT_FOUND || !HAS(m, 'N') || tries == 2)
			break;
		s = arith_create(m, &cas);
		if (s != KV_NOT_STORED) {	/* NOT_STORED: another made it; go again */
			v = m->initial;
			created = 1;
			break;
		}
	}
	struct line l = { .n = 0 };
	switch (s) {
	case KV_STORED:
		break;
	case KV_NOT_FOUND:	short_reply(out, m, "NF"); return;
	case KV_EXISTS:		short_reply(out, m, "EX"); return;
	case KV_NOT_STORED:	short_reply(out, m, "NS"); return;
	case KV_NON_NUMERIC:
		kv_out_cstr(out, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
		return;
	default:
		kv_out_cstr(out, "SERVER_ERROR out of memory\r\n");
		return;
	}
	struct kv_item *it = HAS(m, 'T') ? kv_touch(m->key.p, m->key.n, m->ttl) :
	    kv_get(m->key.p, m->key.n, KV_PEEK);
	char num[24];
	int nd = snprintf(num, sizeof num, "%llu\r\n", (unsigned long long)v);
	if (HAS(m, 'v')) {
		put_va(&l, (uint64_t)nd - 2);
	} else {
		/* q hides HD, but not after creating the item (memcached 1.6.18's way) */
		if (HAS(m, 'q') && !created)
			return;
		put(&l, "HD", 2);
	}
	if (it != NULL)
		put_flags(&l, m, it, cas, 0);
	else
		put_flags(&l, m, NULL, 0, 0);
	send_line(out, &l);
	if (HAS(m, 'v'))
		kv_out_str(out, num, (size_t)nd);
}

/* me KEY: the item's metadata, in memcached's words. */
static void
meta_debug(const struct meta *m, struct kv_out *out)
{
	struct kv_item *it = kv_get(m->key.p, m->key.n, KV_PEEK);

	if (it == NULL) {
		kv_out_cstr(out, "EN\r\n");
		return;
	}
	int64_t e = __atomic_load_n(&it->exptime, __ATOMIC_RELAXED);
	kv_out_printf(out, "ME %.*s exp=%lld la=0 cas=%llu fetch=%s cls=1 size=%u\r\n",
	    (int)it->nkey, it->key, e == 0 ? -1LL : (long long)(kv_now() - e),
	    (unsigned long long)it->cas,
	    (__atomic_load_n(&it->mflags, __ATOMIC_RELAXED) & KV_ITEM_FETCHED) ? "yes" : "no",
	    it->size);
}

/* ---- the entry ------------------------------------------------------------ */

/* Is w a meta command's name? */
int
kv_is_meta(const struct kv_word *w)
{
	return w->n == 2 && w->p[0] == 'm' && strchr("gsdane", w->p[1]) != NULL;
}

/* One meta command line (no newline): parse it, run it, answer into out. */
void
kv_meta_command(struct kv_text *t, const char *line, size_t n, struct kv_out *out)
{
	struct kv_word w[META_TOKENS + 1];
	int nw = kv_split(line, n, w, META_TOKENS + 1);
	char c = w[0].p[1];
	struct meta m;

	if (c == 'n') {
		kv_out_cstr(out, "MN\r\n");
		return;
	}
	if (nw > META_TOKENS) {
		kv_out_cstr(out, c == 'g' ? "CLIENT_ERROR options flags are too long\r\n" :
		    "CLIENT_ERROR options flags too long\r\n");
		return;
	}
	if (c == 's') {
		meta_set(t, w, nw, out);
		return;
	}
	if (nw < 2) {
		kv_out_cstr(out, c == 'e' ? "CLIENT_ERROR bad command line format\r\n" : "ERROR\r\n");
		return;
	}
	if (!kv_key_ok(&w[1])) {
		kv_out_cstr(out, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	memset(&m, 0, sizeof m);
	m.cmd = c;
	m.key = w[1];
	if (c == 'e') {		/* me's flags: only b, which we do not do; ignored as memcached */
		meta_debug(&m, out);
		return;
	}
	const char *e = parse_flags(c, w + 2, nw - 2, &m);
	if (e != NULL) {
		kv_out_cstr(out, e);
		return;
	}
	switch (c) {
	case 'g': meta_get(&m, out); break;
	case 'd': meta_delete(&m, out); break;
	case 'a': meta_arith(&m, out); break;
	}
}
