/*
 * block.c: events that give up their core and are resumed later (see
 * event.h's "Blocking").  Portable.
 *
 * A core's loop runs on a loop instance: a stack (struct loop).  The
 * first is the core's own stack (event_core.base).  When an event blocks,
 * its stack is frozen as it is, with the event in the middle of it, and
 * the core goes on with its loop on another instance: a parked one if
 * there is one, else a new stack from the page allocator (loop_new),
 * whose first code is loop_entry.  Activating the event queues
 * resume_event on its core; that event, running on whatever instance the
 * loop is on then, parks that instance and switches to the frozen one,
 * so the blocked event returns from event_block and carries on.  An
 * instance parked inside resume_event is reused by the next event that
 * blocks: it returns from resume_event into its own loop.
 *
 *	core 0, instance A: event e calls event_block(&ctx)
 *	  A frozen (blocked), B taken (parked or new): the loop goes on on B
 *	core 0, instance B: resume_event(&ctx), sent by event_activate
 *	  B parked, switch to A: e returns from event_block
 *
 * A run stops in whichever instance is running.  On cores 1.. that does
 * not matter (their loops never return).  On core 0 only the base
 * instance may return from event_run, so loop_entry switches to it if it
 * is parked; if it is blocked, the run cannot return and the instance
 * ends with machine_exit (said on the console).
 *
 * All of it is per-core data of the core that runs it: no locks.
 */
#include <errno.h>

#include "context.h"
#include "ebb.h"
#include "kernel/page.h"
#include "kernel/malloc.h"
#include "kernel/print.h"
#include "loop.h"

/* Switch this core from the running loop instance to `to`, parking it. */
static void
loop_switch(struct event_core *me, struct loop *to)
{
	struct loop *from = me->cur;

	from->next = me->parked;
	me->parked = from;
	me->cur = to;
	ctx_switch(&from->sp, to->sp);
	/* Back: whoever switched to us has made us me->cur again. */
}

/* Take l off this core's parked list (it is on it). */
static void
loop_unpark(struct event_core *me, struct loop *l)
{
	struct loop **pp = &me->parked;

	while (*pp != l)
		pp = &(*pp)->next;
	*pp = l->next;
}

/*
 * The first code of a new loop instance.  On cores 1..: their loop, for
 * good.  On core 0, when a run stops here rather than in the base
 * instance, hand over to the base, which returns from event_run.
 */
static void
loop_entry(void *unused)
{
	struct event_core *me = ebb_rep(EBB_EVENTS);

	(void)unused;
	if (core_id() != 0)
		event_ap_loop(me);
	for (;;) {
		event_loop();
		if (me->base.blocked) {
			kprintf("event: a run stopped while core 0's first event loop is blocked"
			    " in an event; exiting with status %d\n", event_run_status());
			machine_exit(event_run_status());
		}
		loop_unpark(me, &me->base);
		loop_switch(me, &me->base);
	}
}

/* A new loop instance on a fresh stack, or NULL. */
static struct loop *
loop_new(struct event_core *me)
{
	struct loop *l = kmalloc(sizeof *l);
	void *stack = page_alloc(EVENT_STACK_ORDER);

	if (l == NULL || stack == NULL) {
		kfree(l);
		if (stack != NULL)
			page_free(stack, EVENT_STACK_ORDER);
		return NULL;
	}
	l->blocked = 0;
	stack_guard(stack, "an event loop stack");	/* its lowest page */
	l->sp = ctx_make((char *)stack + PAGE_SIZE,
	    ((size_t)PAGE_SIZE << EVENT_STACK_ORDER) - PAGE_SIZE, loop_entry, NULL);
	me->nloops++;
	return l;
}

void
event_ctx_init(struct event_ctx *ctx)
{
	ctx->core = core_id();
	ctx->loop = NULL;
}

int
event_block_reserve(void)
{
	struct event_core *me = ebb_rep(EBB_EVENTS);
	struct loop *l;

	if (me->parked != NULL)
		return 0;
	if ((l = loop_new(me)) == NULL)
		return ENOMEM;
	l->next = NULL;
	me->parked = l;
	return 0;
}

int
event_block(struct event_ctx *ctx)
{
	struct event_core *me = ebb_rep(EBB_EVENTS);
	struct loop *from = me->cur, *to;

	if ((to = me->parked) != NULL)
		me->parked = to->next;
	else if ((to = loop_new(me)) == NULL)
		return ENOMEM;
	if (ctx->core != core_id())
		panic("event_block: %p was prepared on core %d, blocks on core %d",
		    (void *)ctx, ctx->core, core_id());
	if (me->in_hook)
		panic("event_block: called from a hook, an idle handler, or a timer's or"
		    " RCU's callback, which must not block");
	ctx->loop = from;
	from->blocked = 1;
	me->nblocks++;
	me->cur = to;
	ctx_switch(&from->sp, to->sp);
	/* Activated: resume_event made this instance current again. */
	return 0;
}

/* The event event_activate sends: switch to the blocked instance. */
static void
resume_event(void *arg)
{
	struct event_ctx *ctx = arg;
	struct event_core *me = ebb_rep(EBB_EVENTS);
	struct loop *to = ctx->loop;

	if (to == NULL || !to->blocked)
		panic("event_activate: %p is not blocked (activated twice?)", (void *)ctx);
	to->blocked = 0;
	loop_switch(me, to);
	/* Reused later by event_block: back to this instance's loop. */
}

void
event_activate(struct event_ctx *ctx)
{
	spawn_on_record(ctx->core, &ctx->resume, resume_event, ctx);
}
