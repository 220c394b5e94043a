/*
 * test_idmap.c: the global id map (ebb/idmap.c) between three nodes in
 * one process (test/msgnet.h): A serves it, B and C ask A over the
 * messenger.
 *
 *	ranges		each node gets its own range of global ids; ids from
 *			them are distinct and global
 *	set_get		a value set on B is got on C and on A; set again on C,
 *			B gets the new one; 64 KiB values cross intact; an id
 *			never set is ENOENT; a local id is EINVAL
 *	server_gone	with the connections reset under a request, the
 *			request is answered or fails (the reset, or the
 *			timeout), never hangs; the next one works
 *	global_miss	ebb_rep of a global id bound nowhere in the process
 *			asks the map (from C, over the messenger), builds the
 *			root through its registered type and binds it; every
 *			core then gets that rep
 *
 * Values the server keeps stay (they are the map's), so the first run
 * (prime) sets every id the suite sets, with values of the same sizes:
 * a later set replaces a value (the old one freed after a grace
 * period) and the leak checks compare like with like.
 */
#include <errno.h>

#include "ebb/idmap.h"
#include "kernel/malloc.h"
#include "msgnet.h"

#define TYPE_TEST	7		/* the suite's global type */

static struct idmap *im[NNODES];
static uint32_t ids[3];			/* set_get's, from C's range */

/* ---- helpers ------------------------------------------------------------------ */

/* idmap_get, blocking: the value (kfree it) or NULL with *err. */
static struct idmap_val *
get(int n, uint32_t id, int *err)
{
	struct future f;
	void *v = NULL;

	future_init(&f);
	if ((*err = idmap_get(im[n], id, &f)) != 0)
		return NULL;
	*err = future_block(&f, &v);
	return v;
}

/* idmap_set, blocking: 0 or the error. */
static int
set(int n, uint32_t id, const void *bytes, size_t len)
{
	struct future f;
	int err;

	future_init(&f);
	if ((err = idmap_set(im[n], id, bytes, len, &f)) != 0)
		return err;
	return future_block(&f, NULL);
}

/* Does node n get id's value as bytes[0..len)? */
static int
got(int n, uint32_t id, const void *bytes, size_t len)
{
	int err;
	struct idmap_val *v = get(n, id, &err);
	int ok = v != NULL && err == 0 && v->len == len && memcmp(v->bytes, bytes, len) == 0;

	kfree(v);
	return ok;
}

/* A fresh range for node n: its first id. */
static uint32_t
range(int n)
{
	struct future f;
	void *first = NULL;

	future_init(&f);
	CHECK_EQ(idmap_range(im[n], &f), 0);
	CHECK_EQ(future_block(&f, &first), 0);
	return (uint32_t)(uintptr_t)first;
}

/* ---- the suite's global type: a shared Ebb whose rep holds the value's bytes ------ */

struct thing {
	struct ebb_shared sh;
	char text[32];
};

static struct thing things[4];		/* no allocation: a bound root stays */
static int nthings;

static struct ebb_root *
thing_make(uint32_t id, const void *bytes, size_t n)
{
	struct thing *t;

	(void)id;
	if (n >= sizeof t->text || nthings == 4)
		return NULL;
	t = &things[__atomic_fetch_add(&nthings, 1, __ATOMIC_RELAXED)];
	t->sh = (struct ebb_shared)EBB_SHARED(t);
	memcpy(t->text, bytes, n);
	t->text[n] = 0;
	return &t->sh.root;
}

static void
thing_drop(struct ebb_root *root)
{
	(void)root;		/* static: nothing to free */
}

/* ---- set-up -------------------------------------------------------------------------- */

static struct netif *
make(void)
{
	struct netif *prime = msgnet_make();

	CHECK((im[0] = idmap_start(node[0], NODE_IP(0))) != NULL);
	CHECK((im[1] = idmap_start(node[1], NODE_IP(0))) != NULL);
	CHECK((im[2] = idmap_start(node[2], NODE_IP(0))) != NULL);
	CHECK(idmap_start(node[1], NODE_IP(0)) == NULL);	/* one per messenger */
	CHECK_EQ(idmap_type(TYPE_TEST, thing_make, thing_drop), 0);
	CHECK_EQ(idmap_type(TYPE_TEST, thing_make, thing_drop), EEXIST);
	return prime;
}

static void set_get_body(void);

static struct test_leaks
begin(void)
{
	return wire_begin_primed(make, run, set_get_body);	/* the values the suite keeps */
}

/* ---- ranges ------------------------------------------------------------------------------ */

static void
ranges_body(void)
{
	uint32_t a, b, c, x, y;

	CHECK_EQ(idmap_id_alloc(im[0]), EBB_LOCAL_MAX + 1);	/* the server's own range */
	b = range(1);
	c = range(2);
	a = range(0);
	CHECK(b > EBB_LOCAL_MAX && c > EBB_LOCAL_MAX && a > EBB_LOCAL_MAX);
	CHECK(b != c && b != a && c != a);
	CHECK(b % IDMAP_RANGE == (EBB_LOCAL_MAX + 1) % IDMAP_RANGE);
	x = idmap_id_alloc(im[1]);
	y = idmap_id_alloc(im[1]);
	CHECK_EQ(x, b);
	CHECK_EQ(y, b + 1);
	CHECK_EQ(idmap_id_alloc(im[2]), c);
	for (int i = 2; i < IDMAP_RANGE; i++)
		CHECK_EQ(idmap_id_alloc(im[1]), b + (uint32_t)i);
	CHECK_EQ(idmap_id_alloc(im[1]), 0);			/* used up */
	idmap_range_set(im[1], EBB_MAX - 2, 2);			/* as a call-in would */
	CHECK_EQ(idmap_id_alloc(im[1]), EBB_MAX - 2);
	CHECK_EQ(idmap_id_alloc(im[1]), EBB_MAX - 1);
	CHECK_EQ(idmap_id_alloc(im[1]), 0);
}

TEST(ranges)
{
	struct test_leaks l = begin();

	run(ranges_body);
	wire_end(l);
}

/* ---- set_get --------------------------------------------------------------------------------- */

static void
set_get_body(void)
{
	static uint8_t big[IDMAP_VAL_MAX], big2[IDMAP_VAL_MAX];
	int err;

	if (ids[0] == 0) {
		uint32_t first = range(2);
		for (int i = 0; i < 3; i++)
			ids[i] = first + (uint32_t)i;
	}
	CHECK_EQ(set(1, ids[0], "hello from B", 12), 0);
	CHECK(got(2, ids[0], "hello from B", 12));
	CHECK(got(0, ids[0], "hello from B", 12));
	CHECK_EQ(set(2, ids[0], "C was here!!", 12), 0);
	CHECK(got(1, ids[0], "C was here!!", 12));
	for (size_t i = 0; i < sizeof big; i++) {
		big[i] = (uint8_t)(i * 13 + (i >> 8));
		big2[i] = (uint8_t)(i * 7 + 1);
	}
	CHECK_EQ(set(1, ids[1], big, sizeof big), 0);
	CHECK(got(2, ids[1], big, sizeof big));
	CHECK_EQ(set(0, ids[1], big2, sizeof big2), 0);		/* on the server itself */
	CHECK(got(1, ids[1], big2, sizeof big2));
	CHECK(get(2, ids[2], &err) == NULL);
	CHECK_EQ(err, ENOENT);
	CHECK(get(0, ids[2], &err) == NULL);
	CHECK_EQ(err, ENOENT);
	CHECK(get(1, 5, &err) == NULL);
	CHECK_EQ(err, EINVAL);
	CHECK_EQ(idmap_set(im[1], ids[2], big, IDMAP_VAL_MAX + 1, NULL), EINVAL);
	CHECK_EQ(idmap_set(im[1], ids[2], big, 0, NULL), EINVAL);
}

TEST(set_get)
{
	struct test_leaks l = begin();

	run(set_get_body);
	wire_end(l);
}

/* ---- server_gone --------------------------------------------------------------------------- */

static void
server_gone_body(void)
{
	struct future f;
	void *v = NULL;
	int err;

	/* A's messenger resets everything the moment B's request is queued. */
	future_init(&f);
	CHECK_EQ(idmap_get(im[1], ids[0], &f), 0);
	CHECK_EQ(msgr_drop(node[0], 0), 0);
	CHECK_EQ(msgr_drop(node[1], 0), 0);
	err = future_block(&f, &v);
	/* Either the reply made it first, or the request failed: never a hang. */
	if (err == 0)
		kfree(v);
	else
		CHECK(err == ECONNABORTED || err == ECONNRESET || err == ETIMEDOUT);
	/* The map still works: the next request opens a new connection. */
	CHECK(got(1, ids[0], "C was here!!", 12));
}

TEST(server_gone)
{
	struct test_leaks l = begin();

	run(server_gone_body);
	wire_end(l);
}

/* ---- global_miss ----------------------------------------------------------------------------- */

static uint32_t gid;
static struct thing *seen[NCORES];
static struct future seen_all;
static int nseen;

/* On each core: the rep of gid (core 1 missed first; the rest find the root). */
static void
look(void *unused)
{
	(void)unused;
	seen[core_id()] = ebb_rep(gid);
	if (__atomic_add_fetch(&nseen, 1, __ATOMIC_ACQ_REL) == NCORES)
		future_resolve(&seen_all, NULL);
}

static void
miss_body(void)
{
	static const uint8_t val[] = { 0, TYPE_TEST, 'r', 'e', 'm', 'o', 't', 'e' };

	gid = idmap_id_alloc(im[0]);
	CHECK(gid > EBB_LOCAL_MAX);
	CHECK(ebb_root_of(gid) == NULL);
	CHECK_EQ(set(0, gid, val, sizeof val), 0);
	idmap_default(im[2]);		/* misses ask from C, over the messenger */
	future_init(&seen_all);
	nseen = 0;
	/* Core 1 first (it blocks while C asks A), then every core. */
	CHECK_EQ(spawn_on(1, look, NULL), 0);
	while (__atomic_load_n(&nseen, __ATOMIC_ACQUIRE) == 0)
		test_sleep_ms(1);
	for (int c = 0; c < NCORES; c++)
		if (c != 1)
			CHECK_EQ(spawn_on(c, look, NULL), 0);
	CHECK_EQ(future_block(&seen_all, NULL), 0);
	CHECK(seen[1] != NULL);
	if (seen[1] != NULL)
		CHECK(strcmp(seen[1]->text, "remote") == 0);
	for (int c = 0; c < NCORES; c++)
		CHECK(seen[c] == seen[1]);
	CHECK_EQ(nthings, 1);
	idmap_default(im[0]);
}

/*
 * What the run leaves, and keeps for good, is five slab objects: the
 * binding (a node of the local id map); at the server the id's slot,
 * its node in the server's table and the value; and core 1's second
 * loop stack's record (its first event ever to block, the miss).  The
 * check allows exactly those (no iobuf, event or armed timer), and not
 * the pages (the stack's) of test_leak_check.
 */
TEST(global_miss)
{
	struct test_leaks l = begin(), after;

	run(miss_body);
	CHECK_EQ(iobuf_live(), 0);
	after = test_leak_start(NCORES);	/* a run in which every core reaps */
	CHECK_EQ(after.objs, l.objs + 5);
}

/* ---- store ---------------------------------------------------------------------------------- */

/*
 * A store other than the server's memory (idmap_use_store): one slot,
 * answered a moment later (a spawn), as etcd's would be; a key never
 * set is ENOENT; fail makes every call fail.
 */
static struct {
	uint32_t id, len;
	uint8_t bytes[64];
	int fail;			/* 0, or the error every call fails with */
	int gets, sets;
} fake;

struct fake_call {
	struct future *f;
	uint32_t id;
};

static void
fake_answer(void *arg)
{
	struct fake_call *c = arg;
	struct idmap_val *v;

	if (fake.fail != 0)
		future_fail(c->f, fake.fail);
	else if (c->id != fake.id)
		future_fail(c->f, ENOENT);
	else if ((v = kmalloc(sizeof *v + fake.len)) == NULL)
		future_fail(c->f, ENOMEM);
	else {
		v->len = fake.len;
		memcpy(v->bytes, fake.bytes, fake.len);
		future_resolve(c->f, v);
	}
	kfree(c);
}

static int
fake_get(void *arg, uint32_t id, struct future *f)
{
	struct fake_call *c = kmalloc(sizeof *c);

	(void)arg;
	if (c == NULL)
		return ENOMEM;
	fake.gets++;
	*c = (struct fake_call){ f, id };
	if (spawn(fake_answer, c) != 0) {
		kfree(c);
		return ENOMEM;
	}
	return 0;
}

static int
fake_set(void *arg, uint32_t id, const void *bytes, size_t n, struct future *done)
{
	(void)arg;
	fake.sets++;
	if (n > sizeof fake.bytes)
		return EINVAL;
	if (fake.fail == 0) {
		fake.id = id;
		fake.len = (uint32_t)n;
		memcpy(fake.bytes, bytes, n);
	}
	if (done != NULL) {
		if (fake.fail != 0)
			future_fail(done, fake.fail);
		else
			future_resolve(done, NULL);
	}
	return 0;
}

static const struct idmap_store fake_store = { fake_get, fake_set, NULL };

static void
store_body(void)
{
	int err;

	fake = (typeof(fake)){ 0 };
	idmap_use_store(im[0], &fake_store);
	CHECK_EQ(set(1, ids[2], "in the store", 12), 0);	/* B, over the messenger */
	CHECK_EQ(fake.sets, 1);
	CHECK_EQ(fake.id, ids[2]);
	CHECK(got(2, ids[2], "in the store", 12));		/* C, over the messenger */
	CHECK(got(0, ids[2], "in the store", 12));		/* A, the server itself */
	CHECK_EQ(fake.gets, 2);
	CHECK(get(1, ids[0], &err) == NULL);			/* in memory, not in the store */
	CHECK_EQ(err, ENOENT);
	fake.fail = EIO;					/* the store is down */
	CHECK_EQ(set(2, ids[2], "lost", 4), EIO);
	CHECK(get(1, ids[2], &err) == NULL);
	CHECK_EQ(err, EIO);
	CHECK(get(0, ids[2], &err) == NULL);
	CHECK_EQ(err, EIO);
	idmap_use_store(im[0], NULL);				/* memory again */
	CHECK(got(1, ids[0], "C was here!!", 12));
	CHECK(get(1, ids[2], &err) == NULL);			/* never in memory */
	CHECK_EQ(err, ENOENT);
	CHECK_EQ(idmap_site(im[1], 1), EINVAL);			/* a client has no sites */
	CHECK_EQ(idmap_site(im[0], IDMAP_SITES), EINVAL);
}

/*
 * The server's handler blocks on the store: the first time an event
 * blocks on a core, the core keeps a second loop stack for good (as in
 * global_miss), so a first run warms up and the second is checked.
 */
TEST(store)
{
	struct test_leaks l = begin();

	run(store_body);
	l = test_leak_start(NCORES);
	run(store_body);
	wire_end(l);
}
