/*
 * rhash.c: the RCU hash table (see rhash.h).  Portable.
 *
 * Each bucket is a singly linked chain.  Readers walk it with rcu_deref
 * loads.  Writers, under h->lock, insert at the head after filling in
 * the new node (rcu_assign publishes it whole), and unlink a node by
 * pointing its predecessor past it (rcu_assign); the unlinked node still
 * points into the chain, so a reader standing on it walks on safely,
 * and it is freed by rcu_call after a grace period.
 */
#include <errno.h>

#include "kernel/malloc.h"
#include "kernel/spinlock.h"
#include "rcu.h"
#include "rhash.h"

struct rhash_node {
	struct rhash_node *next;	/* rcu_assign / rcu_deref */
	uint64_t key;
	void *value;
	struct rcu_head rcu;		/* for freeing after a grace period */
};

struct rhash {
	struct spinlock lock;		/* writers: guards every chain's links */
	size_t mask;			/* nbuckets - 1 */
	struct rhash_node *bucket[];	/* rcu_assign / rcu_deref */
};

static size_t
slot(struct rhash *h, uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & h->mask;
}

struct rhash *
rhash_new(size_t nbuckets)
{
	size_t n = 1;
	struct rhash *h;

	while (n < nbuckets)
		n <<= 1;
	if ((h = kcalloc(1, sizeof *h + n * sizeof h->bucket[0])) == NULL)
		return NULL;
	spin_init(&h->lock, "rhash");
	h->mask = n - 1;
	return h;
}

void *
rhash_get(struct rhash *h, uint64_t key)
{
	struct rhash_node *n = rcu_deref(h->bucket[slot(h, key)]);

	for (; n != NULL; n = rcu_deref(n->next))
		if (n->key == key)
			return n->value;
	return NULL;
}

int
rhash_put(struct rhash *h, uint64_t key, void *value)
{
	struct rhash_node *n = kmalloc(sizeof *n), **head;

	if (n == NULL)
		return ENOMEM;
	spin_lock(&h->lock);
	head = &h->bucket[slot(h, key)];
	for (struct rhash_node *m = *head; m != NULL; m = m->next)
		if (m->key == key) {
			spin_unlock(&h->lock);
			kfree(n);
			return -1;
		}
	n->key = key;
	n->value = value;
	n->next = *head;
	rcu_assign(*head, n);		/* publishes key, value and next */
	spin_unlock(&h->lock);
	return 0;
}

/* A removed node, after its grace period. */
static void
node_free(struct rcu_head *head)
{
	kfree((char *)head - offsetof(struct rhash_node, rcu));
}

void *
rhash_del(struct rhash *h, uint64_t key)
{
	struct rhash_node **pp, *n;
	void *value = NULL;

	spin_lock(&h->lock);
	for (pp = &h->bucket[slot(h, key)]; (n = *pp) != NULL; pp = &n->next)
		if (n->key == key) {
			rcu_assign(*pp, n->next);
			value = n->value;
			break;
		}
	spin_unlock(&h->lock);
	if (n != NULL)
		rcu_call_head(&n->rcu, node_free);
	return value;
}
