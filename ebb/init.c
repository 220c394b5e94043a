/*
 * init.c: ebb_init_runtime, the table of contents of the runtime's
 * start, as kmain is of the machine's: each line brings up one piece,
 * in dependency order.  The platform calls it before its drivers probe,
 * since a driver may arm a timer as it attaches (virtio-net's
 * watchdog), and then ebb_start (runtime.c).  A file of its own, apart
 * from runtime.c, because tests, benchmarks and fuzz targets bring the
 * runtime up the same way without an app_main to run.
 */
#include "ebb.h"
#include "event.h"
#include "rcu.h"
#include "runtime.h"
#include "timer.h"

void
ebb_init_runtime(void)
{
	ebb_init();		/* the local id map */
	event_init();		/* the loops' queues and event records: EBB_EVENTS */
	timer_init();		/* timers, hooked into the loops: EBB_TIMERS */
	rcu_init();		/* grace periods: hooks into the loops too */
}
