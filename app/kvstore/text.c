/*
 * text.c: memcached's text protocol (its protocol.txt), version 1.6's
 * replies and error lines, over the store.  Portable; no network calls.
 *
 * Input is parsed where it lies: kv_text_input walks the received bytes
 * line by line and runs each command as soon as its line is whole.  Only
 * a line that a segment boundary cuts is copied, into t->pend, until its
 * newline comes.  A storage command's data block goes straight into the
 * new item, however it is split (t->item, t->need), so that a value is
 * copied once, from the segment into the store.
 *
 *	kv_text_input -> (pend_more | data | lines) -> command -> store.c
 *	                                                      -> kv_out_*
 *
 * The other protocols come in here too: a connection whose first byte
 * is 0x80 is binary and goes to binary.c (kv_bin_input) for good; a
 * line whose first word is mg, ms, md, ma, mn or me goes to meta.c.
 *
 * Lines end at "\n", with a "\r" before it dropped; words are separated
 * by one or more spaces (only spaces, as memcached's tokenizer).  Limits:
 * a line of more than KV_LINE_MAX bytes (KV_GET_LINE_MAX for the get
 * family, whose lines carry many keys) is answered "CLIENT_ERROR line
 * too long" and the connection closes, whether or not its newline has
 * come.  Keys are 1..250 bytes.  Numbers are
 * decimal digits (exptime and delay may have a '-'), range-checked.
 *
 * Where memcached answers an error and goes on, so do we, in the same
 * place: a refused storage command whose size was understood (too large,
 * no memory) skips its data block ("swallow"); one whose line was not
 * understood reads the data block as the next command line, as
 * memcached does.  noreply silences every reply of its command.
 */
#include <errno.h>
#include <string.h>

#include "kernel/malloc.h"
#include "kernel/platform.h"
#include "proto.h"

#define MAX_WORDS	8		/* words a non-get command is split into */

struct kv_settings kv_settings;

int
kv_text_init(struct kv_text *t)
{
	memset(t, 0, sizeof *t);
	t->pend = kmalloc(KV_GET_LINE_MAX + 2);
	t->mline = kmalloc(KV_LINE_MAX);
	if (t->pend == NULL || t->mline == NULL) {
		kv_text_free(t);
		return ENOMEM;
	}
	return 0;
}

void
kv_text_free(struct kv_text *t)
{
	kfree(t->pend);
	kfree(t->mline);
	kv_bin_free(t->bin);
	kv_item_drop(t->item);
	memset(t, 0, sizeof *t);
}

/* A reply line of t's command, unless it said noreply. */
static void
reply(struct kv_text *t, struct kv_out *out, const char *s)
{
	if (!t->noreply)
		kv_out_cstr(out, s);
}

/* ---- words and numbers ------------------------------------------------ */

/*
 * Split line into at most max words; returns how many.  A word's end is
 * found with memchr, which looks at many bytes an instruction: a GET's
 * key is most of its line.
 */
int
kv_split(const char *p, size_t n, struct kv_word *w, int max)
{
	int k = 0;

	for (size_t i = 0; i < n && k < max;) {
		while (i < n && p[i] == ' ')
			i++;
		if (i == n)
			break;
		const char *sp = memchr(p + i, ' ', n - i);
		size_t e = sp != NULL ? (size_t)(sp - p) : n;
		w[k++] = (struct kv_word){ p + i, e - i };
		i = e;
	}
	return k;
}

int
kv_is(const struct kv_word *w, const char *s)
{
	return w->n == strlen(s) && memcmp(w->p, s, w->n) == 0;
}

/*
 * A key: 1..KV_KEY_MAX bytes.  As memcached's text protocol, any byte
 * but a space or a newline may be in one (a tab, say): the words say
 * where keys end.
 */
int
kv_key_ok(const struct kv_word *w)
{
	return w->n > 0 && w->n <= KV_KEY_MAX;
}

/* Unsigned decimal, at most max; 0, or -1 if not. */
int
kv_num_u64(const struct kv_word *w, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (w->n == 0 || w->n > 20)
		return -1;
	for (size_t i = 0; i < w->n; i++) {
		unsigned d = (unsigned)(w->p[i] - '0');
		if (d > 9 || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Signed decimal that fits in 32 bits (memcached's safe_strtol); 0 or -1. */
int
kv_num_i32(const struct kv_word *w, int64_t *out)
{
	struct kv_word d = *w;
	uint64_t v;
	int neg = d.n > 0 && d.p[0] == '-';

	if (neg) {
		d.p++;
		d.n--;
	}
	if (kv_num_u64(&d, neg ? 2147483648ULL : 2147483647ULL, &v) < 0)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* ---- storage commands ------------------------------------------------- */

/* The reply to a storage command's outcome. */
static const char *
stored_line(enum kv_status s)
{
	switch (s) {
	case KV_STORED:		return "STORED\r\n";
	case KV_NOT_STORED:	return "NOT_STORED\r\n";
	case KV_EXISTS:		return "EXISTS\r\n";
	case KV_NOT_FOUND:	return "NOT_FOUND\r\n";
	case KV_TOO_LARGE:	return "SERVER_ERROR object too large for cache\r\n";
	default:		return "SERVER_ERROR out of memory storing object\r\n";
	}
}

/*
 * set/add/replace/append/prepend KEY FLAGS EXPTIME BYTES [noreply],
 * cas KEY FLAGS EXPTIME BYTES CAS [noreply]: start reading the data.
 */
static void
cmd_store(struct kv_text *t, struct kv_word *w, int nw, enum kv_op op, struct kv_out *out)
{
	int base = op == KV_CAS ? 6 : 5;
	uint64_t flags, cas = 0;
	int64_t exptime, bytes;
	enum kv_status why;

	if (nw != base && nw != base + 1) {
		kv_out_cstr(out, "ERROR\r\n");
		return;
	}
	t->noreply = nw == base + 1 && kv_is(&w[base], "noreply");
	if (!kv_key_ok(&w[1]) || kv_num_u64(&w[2], UINT32_MAX, &flags) < 0 ||
	    kv_num_i32(&w[3], &exptime) < 0 || kv_num_i32(&w[4], &bytes) < 0 || bytes < 0 ||
	    (op == KV_CAS && kv_num_u64(&w[5], UINT64_MAX, &cas) < 0)) {
		reply(t, out, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	t->item = kv_item_new(w[1].p, w[1].n, (uint32_t)flags, exptime, (size_t)bytes, &why);
	if (t->item == NULL) {
		reply(t, out, stored_line(why));
		t->swallow = (size_t)bytes + 2;
		if (op == KV_SET)	/* no stale value may stay behind a failed set */
			kv_delete(w[1].p, w[1].n);
		return;
	}
	t->need = (size_t)bytes + 2;
	t->got = 0;
	t->op = op;
	t->cas = cas;
}

/* Read data-block bytes into t->item (or skip them); store it when whole. */
static size_t
data(struct kv_text *t, const char *p, size_t n, struct kv_out *out)
{
	if (t->swallow > 0) {
		size_t k = n < t->swallow ? n : t->swallow;
		t->swallow -= k;
		return k;
	}
	size_t k = n < t->need ? n : t->need;
	memcpy(kv_value(t->item) + t->got, p, k);
	t->got += k;
	t->need -= k;
	if (t->need == 0) {
		struct kv_item *it = t->item;
		t->item = NULL;
		if (memcmp(kv_value(it) + it->nbytes, "\r\n", 2) != 0) {
			kv_item_drop(it);
			t->meta = 0;
			reply(t, out, "CLIENT_ERROR bad data chunk\r\n");
		} else if (t->meta) {
			kv_meta_stored(t, it, out);
		} else {
			reply(t, out, stored_line(kv_store(t->op, it, t->cas, NULL)));
		}
	}
	return k;
}

/* ---- retrieval ---------------------------------------------------------- */

/* Write v in decimal ending at end; returns where it starts. */
static char *
decimal(char *end, uint64_t v)
{
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return end;
}

/*
 * "VALUE key flags bytes [cas]\r\n", formatted by hand: the hot path of
 * every GET, where printf would cost more than the lookup.
 */
static void
value_header(struct kv_out *out, const struct kv_item *it, int cas)
{
	char line[6 + KV_KEY_MAX + 3 * 21 + 2], num[21], *p = line, *d;

	memcpy(p, "VALUE ", 6);
	p += 6;
	memcpy(p, it->key, it->nkey);
	p += it->nkey;
	uint64_t v[3] = { it->flags, it->nbytes, it->cas };
	for (int i = 0; i < (cas ? 3 : 2); i++) {
		*p++ = ' ';
		d = decimal(num + sizeof num, v[i]);
		memcpy(p, d, (size_t)(num + sizeof num - d));
		p += num + sizeof num - d;
	}
	memcpy(p, "\r\n", 2);
	kv_out_str(out, line, (size_t)(p + 2 - line));
}

/*
 * get|gets KEY..., gat|gats EXPTIME KEY...: a VALUE block for each key
 * found, then END.  Every key is checked before any is looked up, so
 * that a bad one makes the whole reply one error line.
 */
static void
cmd_get(const char *line, size_t n, struct kv_word *cmd, struct kv_out *out)
{
	int cas = cmd->p[cmd->n - 1] == 's', touch = cmd->p[1] == 'a';
	const char *p = cmd->p + cmd->n, *end = line + n;
	struct kv_word w, first = { NULL, 0 };
	int64_t exptime = 0;
	int keys = 0;

	if (touch) {
		if (kv_split(p, (size_t)(end - p), &w, 1) != 1)
			goto usage;
		if (kv_num_i32(&w, &exptime) < 0) {
			kv_out_cstr(out, "CLIENT_ERROR invalid exptime argument\r\n");
			return;
		}
		p = w.p + w.n;
	}
	for (const char *q = p; kv_split(q, (size_t)(end - q), &w, 1) == 1; q = w.p + w.n, keys++) {
		if (!kv_key_ok(&w)) {
			kv_out_cstr(out, "CLIENT_ERROR bad command line format\r\n");
			return;
		}
		if (keys == 0)
			first = w;
	}
	if (keys == 0 && !touch)
		goto usage;	/* "gat 10" is answered END, as memcached does */
	/* The keys again, the one of a one-key line without splitting it twice. */
	for (int i = 0; i < keys; p = w.p + w.n, i++) {
		if (i == 0)
			w = first;
		else
			kv_split(p, (size_t)(end - p), &w, 1);
		struct kv_item *it;
		if (touch) {
			it = kv_touch(w.p, w.n, exptime);
		} else {
			kv_count(KV_CMD_GET);
			it = kv_get(w.p, w.n, KV_COUNT);
		}
		if (it == NULL)
			continue;
		if (!cas && keys == 1) {	/* the whole reply is prebuilt */
			kv_out_ref(out, kv_reply_buf(it, 1));
			return;
		}
		if (cas) {
			value_header(out, it, cas);
			kv_out_ref(out, kv_value_buf(it));
		} else {
			kv_out_ref(out, kv_reply_buf(it, 0));
		}
	}
	kv_out_str(out, "END\r\n", 5);
	return;
usage:
	kv_out_cstr(out, "ERROR\r\n");
}

/* ---- the other commands --------------------------------------------------- */

/* delete KEY [0] [noreply] */
static void
cmd_delete(struct kv_text *t, struct kv_word *w, int nw, struct kv_out *out)
{
	if (nw < 2 || nw > 4) {
		kv_out_cstr(out, "ERROR\r\n");
		return;
	}
	if (nw > 2) {
		int zero = kv_is(&w[2], "0");
		t->noreply = kv_is(&w[nw - 1], "noreply");
		if (!((nw == 3 && (zero || t->noreply)) || (nw == 4 && zero && t->noreply))) {
			reply(t, out, "CLIENT_ERROR bad command line format.  "
			    "Usage: delete <key> [noreply]\r\n");
			return;
		}
	}
	if (!kv_key_ok(&w[1])) {
		reply(t, out, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	reply(t, out, kv_delete(w[1].p, w[1].n) == KV_DELETED ? "DELETED\r\n" : "NOT_FOUND\r\n");
}

/*
 * The shape of incr, decr and touch: "CMD KEY ARG [noreply]".  0 if it
 * has it (t->noreply set), or -1 with the error already answered.
 */
static int
key_arg_cmd(struct kv_text *t, const struct kv_word *w, int nw, struct kv_out *out)
{
	if (nw != 3 && nw != 4) {
		kv_out_cstr(out, "ERROR\r\n");
		return -1;
	}
	t->noreply = nw == 4 && kv_is(&w[3], "noreply");
	if (!kv_key_ok(&w[1])) {
		reply(t, out, "CLIENT_ERROR bad command line format\r\n");
		return -1;
	}
	return 0;
}

/* incr|decr KEY DELTA [noreply] */
static void
cmd_arith(struct kv_text *t, struct kv_word *w, int nw, struct kv_out *out)
{
	uint64_t delta, v;

	if (key_arg_cmd(t, w, nw, out) != 0)
		return;
	if (kv_num_u64(&w[2], UINT64_MAX, &delta) < 0) {
		reply(t, out, "CLIENT_ERROR invalid numeric delta argument\r\n");
		return;
	}
	switch (kv_arith(w[1].p, w[1].n, w[0].p[0] == 'i', delta, &v, NULL)) {
	case KV_STORED:
		if (!t->noreply)
			kv_out_printf(out, "%llu\r\n", (unsigned long long)v);
		break;
	case KV_NOT_FOUND:
		reply(t, out, "NOT_FOUND\r\n");
		break;
	case KV_NON_NUMERIC:
		reply(t, out, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
		break;
	default:
		reply(t, out, "SERVER_ERROR out of memory\r\n");
		break;
	}
}

/* touch KEY EXPTIME [noreply] */
static void
cmd_touch(struct kv_text *t, struct kv_word *w, int nw, struct kv_out *out)
{
	int64_t exptime;

	if (key_arg_cmd(t, w, nw, out) != 0)
		return;
	if (kv_num_i32(&w[2], &exptime) < 0) {
		reply(t, out, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	reply(t, out, kv_touch(w[1].p, w[1].n, exptime) != NULL ? "TOUCHED\r\n" : "NOT_FOUND\r\n");
}

/* flush_all [DELAY] [noreply] */
static void
cmd_flush(struct kv_text *t, struct kv_word *w, int nw, struct kv_out *out)
{
	int64_t delay = 0;

	if (nw > 3) {
		kv_out_cstr(out, "ERROR\r\n");
		return;
	}
	t->noreply = nw > 1 && kv_is(&w[nw - 1], "noreply");
	if (nw > (t->noreply ? 2 : 1) && kv_num_i32(&w[1], &delay) < 0) {
		reply(t, out, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	kv_flush(delay);
	reply(t, out, "OK\r\n");
}

/* stats, stats settings */
static void
cmd_stats(struct kv_word *w, int nw, struct kv_out *out)
{
	if (nw > 2 || kv_stats_text(nw == 2 ? w[1].p : "", nw == 2 ? w[1].n : 0, out) != 0)
		kv_out_cstr(out, "ERROR\r\n");
}

int
kv_stats_text(const char *group, size_t n, struct kv_out *out)
{
	struct kv_stats st;
	struct kv_settings *k = &kv_settings;
	uint64_t now = clock_ns();

	if (n != 0 && !(n == 8 && memcmp(group, "settings", 8) == 0))
		return -1;
	kv_stats(&st);
	if (n != 0) {
		kv_out_printf(out, "STAT maxbytes %llu\r\nSTAT maxconns %u\r\nSTAT tcpport %u\r\n",
		    (unsigned long long)st.limit_maxbytes, 65536u, k->port);
		kv_out_printf(out, "STAT evictions on\r\nSTAT cas_enabled yes\r\n"
		    "STAT num_threads %d\r\nSTAT item_size_max %llu\r\n"
		    "STAT flush_enabled yes\r\nSTAT binding_protocol ascii\r\nEND\r\n",
		    core_count(), (unsigned long long)st.item_max);
		return 0;
	}
	kv_out_printf(out, "STAT pid 1\r\nSTAT uptime %llu\r\nSTAT time %lld\r\n"
	    "STAT version %s\r\nSTAT pointer_size %d\r\n",
	    (unsigned long long)((now - k->start_ns) / 1000000000u), (long long)kv_now(),
	    KV_VERSION, (int)(8 * sizeof(void *)));
	kv_out_printf(out, "STAT curr_connections %llu\r\nSTAT total_connections %llu\r\n"
	    "STAT rejected_connections %llu\r\n",
	    (unsigned long long)__atomic_load_n(&k->curr_connections, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&k->total_connections, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&k->rejected_connections, __ATOMIC_RELAXED));
	for (int i = 0; i < KV_TOTAL_ITEMS; i++)
		kv_out_printf(out, "STAT %s %llu\r\n", kv_counter_names[i],
		    (unsigned long long)st.n[i]);
	kv_out_printf(out, "STAT bytes_read %llu\r\nSTAT bytes_written %llu\r\n"
	    "STAT limit_maxbytes %llu\r\nSTAT threads %d\r\nSTAT bytes %llu\r\n"
	    "STAT curr_items %llu\r\n",
	    (unsigned long long)__atomic_load_n(&k->bytes_read, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&k->bytes_written, __ATOMIC_RELAXED),
	    (unsigned long long)st.limit_maxbytes, core_count(),
	    (unsigned long long)st.bytes, (unsigned long long)st.curr_items);
	for (int i = KV_TOTAL_ITEMS; i < KV_NCOUNTERS; i++)
		kv_out_printf(out, "STAT %s %llu\r\n", kv_counter_names[i],
		    (unsigned long long)st.n[i]);
	kv_out_cstr(out, "END\r\n");
	return 0;
}

/* Run one whole command line (no newline). */
static void
command(struct kv_text *t, const char *line, size_t n, struct kv_out *out)
{
	static const struct { const char *name; enum kv_op op; } stores[] = {
		{ "set", KV_SET }, { "add", KV_ADD }, { "replace", KV_REPLACE },
		{ "append", KV_APPEND }, { "prepend", KV_PREPEND }, { "cas", KV_CAS },
	};
	struct kv_word w[MAX_WORDS];

	/* The command word first: the get family and meta split their own lines. */
	t->noreply = 0;
	if (kv_split(line, n, w, 1) == 0) {
		kv_out_cstr(out, "ERROR\r\n");
		return;
	}
	if (kv_is_meta(&w[0])) {
		kv_meta_command(t, line, n, out);
		return;
	}
	if (kv_is(&w[0], "get") || kv_is(&w[0], "gets") || kv_is(&w[0], "gat") || kv_is(&w[0], "gats")) {
		cmd_get(line, n, &w[0], out);
		return;
	}
	int nw = kv_split(line, n, w, MAX_WORDS);
	for (size_t i = 0; i < sizeof stores / sizeof stores[0]; i++)
		if (kv_is(&w[0], stores[i].name)) {
			cmd_store(t, w, nw, stores[i].op, out);
			return;
		}
	if (kv_is(&w[0], "delete"))
		cmd_delete(t, w, nw, out);
	else if (kv_is(&w[0], "incr") || kv_is(&w[0], "decr"))
		cmd_arith(t, w, nw, out);
	else if (kv_is(&w[0], "touch"))
		cmd_touch(t, w, nw, out);
	else if (kv_is(&w[0], "flush_all"))
		cmd_flush(t, w, nw, out);
	else if (kv_is(&w[0], "stats"))
		cmd_stats(w, nw, out);
	else if (kv_is(&w[0], "version"))		/* words after it ignored, as memcached */
		kv_out_cstr(out, "VERSION " KV_VERSION "\r\n");
	else if (kv_is(&w[0], "verbosity") && (nw == 2 || nw == 3)) {
		t->noreply = kv_is(&w[nw - 1], "noreply");
		reply(t, out, "OK\r\n");
	} else if (kv_is(&w[0], "quit"))
		t->closing = 1;
	else
		kv_out_cstr(out, "ERROR\r\n");
}

/* ---- lines ------------------------------------------------------------------- */

/* The longest line allowed for what starts with p (n bytes of it). */
static size_t
line_limit(const char *p, size_t n)
{
	while (n > 0 && *p == ' ')
		p++, n--;
	if ((n >= 4 && (memcmp(p, "get ", 4) == 0 || memcmp(p, "gat ", 4) == 0)) ||
	    (n >= 5 && (memcmp(p, "gets ", 5) == 0 || memcmp(p, "gats ", 5) == 0)))
		return KV_GET_LINE_MAX;
	return KV_LINE_MAX;
}

static void
too_long(struct kv_text *t, struct kv_out *out)
{
	kv_out_cstr(out, "CLIENT_ERROR line too long\r\n");
	t->closing = 1;
}

/* Run the whole lines at p; stop at a data block.  Returns bytes used. */
static size_t
lines(struct kv_text *t, const char *p, size_t n, struct kv_out *out)
{
	size_t used = 0;

	while (used < n && t->item == NULL && t->swallow == 0 && !t->closing) {
		const char *s = p + used, *nl = memchr(s, '\n', n - used);
		if (nl == NULL)
			break;
		size_t len = (size_t)(nl - s);
		used += len + 1;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (len > KV_LINE_MAX && len > line_limit(s, len))
			too_long(t, out);
		else
			command(t, s, len, out);
	}
	return used;
}

/* Bytes after a line that a segment cut: add them to pend up to its newline. */
static size_t
pend_more(struct kv_text *t, const char *p, size_t n, struct kv_out *out)
{
	const char *nl = memchr(p, '\n', n);
	size_t k = nl != NULL ? (size_t)(nl - p) + 1 : n;

	if (t->npend + k > KV_GET_LINE_MAX + 2) {
		too_long(t, out);
		return n;
	}
	memcpy(t->pend + t->npend, p, k);
	t->npend += k;
	if (nl != NULL) {
		lines(t, t->pend, t->npend, out);	/* exactly one line */
		t->npend = 0;
	} else if (t->npend - (t->pend[t->npend - 1] == '\r') > line_limit(t->pend, t->npend)) {
		too_long(t, out);	/* too long already, whatever comes */
	}
	return k;
}

int
kv_text_input(struct kv_text *t, const char *p, size_t n, struct kv_out *out)
{
	/* The first byte says which protocol, as memcached's: 0x80 is binary. */
	if (n > 0 && t->proto == KV_PROTO_NONE)
		t->proto = (uint8_t)p[0] == KV_BIN_MAGIC ? KV_PROTO_BINARY : KV_PROTO_TEXT;
	if (t->proto == KV_PROTO_BINARY)
		return kv_bin_input(t, p, n, out);
	while (n > 0 && !t->closing && !out->nomem) {
		size_t used;
		if (t->item != NULL || t->swallow > 0) {
			used = data(t, p, n, out);
		} else if (t->npend > 0) {
			used = pend_more(t, p, n, out);
		} else {
			used = lines(t, p, n, out);
			if (used < n && t->item == NULL && t->swallow == 0 && !t->closing)
				/* the rest is a line without its newline yet */
				used += pend_more(t, p + used, n - used, out);
		}
		p += used;
		n -= used;
	}
	return t->closing || out->nomem ? KV_CLOSE : KV_OK;
}
