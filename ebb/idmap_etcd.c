/*
 * idmap_etcd.c: the id map's etcd store (idmap_etcd in idmap.h).
 * Portable.
 *
 * The id map's server keeps id's value under the key
 * "ebb/idmap/<id in decimal>" through ebb/etcd.h, so frontends on
 * several hosts given the same etcd share one map.  A struct etcd_val
 * is laid out as a struct idmap_val (checked below), so a get's value
 * passes through as it is; an empty value (which etcd's gateway may
 * answer) is no value the map sets, and reads as ENOENT.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "etcd.h"
#include "idmap.h"
#include "kernel/malloc.h"

_Static_assert(offsetof(struct etcd_val, len) == offsetof(struct idmap_val, len) &&
    offsetof(struct etcd_val, bytes) == offsetof(struct idmap_val, bytes) &&
    sizeof(struct etcd_val) == sizeof(struct idmap_val), "etcd_val is an idmap_val");
_Static_assert(IDMAP_VAL_MAX <= ETCD_VAL_MAX, "an id map value fits in etcd");

struct idmap_etcd {
	struct idmap_store st;
	struct etcd e;
};

/* A get in flight: the map's future, completed from etcd's. */
struct eget {
	struct future f;		/* etcd's */
	struct future *out;		/* the map's */
};

static void
key_of(uint32_t id, char *key, size_t n)
{
	snprintf(key, n, "ebb/idmap/%u", id);
}

static void
got(struct future *f, void *arg)
{
	struct eget *g = arg;
	struct etcd_val *v = f->value;

	if (f->err != 0)
		future_fail(g->out, f->err);
	else if (v->len == 0) {
		kfree(v);
		future_fail(g->out, ENOENT);
	} else
		future_resolve(g->out, v);
	kfree(g);
}

static int
etcd_store_get(void *arg, uint32_t id, struct future *f)
{
	struct idmap_etcd *s = arg;
	struct eget *g = kmalloc(sizeof *g);
	char key[32];
	int err;

	if (g == NULL)
		return ENOMEM;
	g->out = f;
	future_init(&g->f);
	key_of(id, key, sizeof key);
	if (future_then(&g->f, got, g) != 0) {
		kfree(g);
		return ENOMEM;
	}
	if ((err = etcd_get(&s->e, key, &g->f)) != 0)
		future_fail(&g->f, err);	/* got fails f and frees g */
	return 0;
}

static int
etcd_store_set(void *arg, uint32_t id, const void *bytes, size_t n, struct future *done)
{
	struct idmap_etcd *s = arg;
	char key[32];

	key_of(id, key, sizeof key);
	return etcd_put(&s->e, key, bytes, n, done);
}

int
idmap_etcd(struct idmap *im, const char *addr)
{
	struct idmap_etcd *s = kmalloc(sizeof *s);

	if (s == NULL)
		return ENOMEM;
	if (etcd_addr(&s->e, addr) != 0) {
		kfree(s);
		return EINVAL;
	}
	s->st = (struct idmap_store){ .get = etcd_store_get, .set = etcd_store_set, .arg = s };
	idmap_use_store(im, &s->st);
	return 0;
}
