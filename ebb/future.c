/*
 * future.c: futures (see future.h).  Portable.
 *
 * A pending future keeps a list of waiters: callbacks (future_then) and
 * blocked events (future_block).  Completing it takes the list under the
 * future's lock, marks it done, and then, without the lock, sends each
 * callback to its core as an event (spawn_on) and activates each blocked
 * event (event_activate, which queues its resumption on its own core).
 * A waiter that arrives after completion sees done under the lock and
 * does not wait.  Every waiter carries the event record it will be sent
 * with, so completing a future cannot fail for want of memory.  A blocked event's waiter record lives on its own
 * stack, which is safe: the stack stays put until the event resumes.
 */
#include <errno.h>

#include "event.h"
#include "future.h"
#include "kernel/malloc.h"
#include "kernel/platform.h"

struct future_waiter {
	struct event ev;		/* the callback's event: sending cannot fail */
	struct future_waiter *next;
	struct event_ctx *ctx;		/* a blocked event, or NULL: */
	void (*fn)(struct future *f, void *arg);	/* a callback */
	void *arg;
	struct future *f;
	int core;			/* where the callback runs */
};

void
future_init(struct future *f)
{
	spin_init(&f->lock, "future");
	f->done = 0;
	f->err = 0;
	f->value = NULL;
	f->waiters = NULL;
}

/* A callback waiter, run as an event: call it and free the record. */
static void
run_then(void *arg)
{
	struct future_waiter *w = arg;

	w->fn(w->f, w->arg);
	kfree(w);
}

static void
complete(struct future *f, void *value, int err)
{
	struct future_waiter *w, *next;

	spin_lock(&f->lock);
	if (f->done)
		panic("future: %p completed twice", (void *)f);
	f->value = value;
	f->err = err;
	f->done = 1;
	w = f->waiters;
	f->waiters = NULL;
	spin_unlock(&f->lock);
	for (; w != NULL; w = next) {
		next = w->next;		/* w may be gone once handed over */
		if (w->ctx != NULL)
			event_activate(w->ctx);
		else
			spawn_on_record(w->core, &w->ev, run_then, w);
	}
}

void
future_resolve(struct future *f, void *value)
{
	complete(f, value, 0);
}

void
future_fail(struct future *f, int err)
{
	complete(f, NULL, err != 0 ? err : EINVAL);
}

int
future_then(struct future *f, void (*fn)(struct future *f, void *arg), void *arg)
{
	struct future_waiter *w = kmalloc(sizeof *w);

	if (w == NULL)
		return ENOMEM;
	*w = (struct future_waiter){ .fn = fn, .arg = arg, .f = f, .core = core_id() };
	spin_lock(&f->lock);
	if (!f->done) {
		w->next = f->waiters;
		f->waiters = w;
		spin_unlock(&f->lock);
		return 0;
	}
	spin_unlock(&f->lock);
	spawn_on_record(core_id(), &w->ev, run_then, w);
	return 0;
}

int
future_block(struct future *f, void **value)
{
	struct event_ctx ctx;
	struct future_waiter w = { .ctx = &ctx };

	/* Make sure blocking cannot fail once w is published. */
	if (event_block_reserve() != 0)
		return ENOMEM;
	event_ctx_init(&ctx);
	spin_lock(&f->lock);
	if (!f->done) {
		w.next = f->waiters;
		f->waiters = &w;
		/*
		 * A completer on another core may take w as soon as the lock
		 * is dropped and call event_activate(&ctx): that needs only
		 * ctx.core (event_ctx_init), and queues the resumption on this
		 * core, where it cannot run before event_block has switched
		 * away.
		 */
		spin_unlock(&f->lock);
		event_block(&ctx);	/* cannot fail: reserved above */
	} else {
		spin_unlock(&f->lock);
	}
	if (value != NULL)
		*value = f->value;
	return f->err;
}
