/*
 * clock.c: the monotonic clock (platform.h's clock_ns) from the CPU's
 * time-stamp counter.
 *
 * The TSC counts at a rate the CPU does not tell us reliably, so
 * clock_init measures it once against the legacy PIT (Intel 8254), whose
 * input clock is fixed at 1193182 Hz.  Channel 0 counts down from 65536
 * over and over (mode 2); we read its count with the latch command, and
 * the TSC just before and just after each read.  Channel 0 needs no
 * gate, so this works on machines without port 0x61 (QEMU's microvm,
 * where channel 2's gate and output do not exist), and reading counts
 * instead of waiting for an edge lets a sample be checked:
 *
 *   - a sample whose two TSC reads lie far apart (the virtual CPU was
 *     descheduled between them, as happens under TCG on a busy host) is
 *     taken again, so each sample pins the count to a narrow TSC span;
 *   - the count wraps every 54.9 ms, so elapsed counts are summed over
 *     many reads close together; a pause longer than a wrap would lose
 *     65536 counts, so two windows are measured and must agree within
 *     CLOCK_AGREE_PPM, or both are measured again.
 *
 * A window is CLOCK_CALIBRATE_MS (param.h): with samples a few
 * microseconds wide that is accurate to well under 0.1%.  Afterwards
 * channel 0 is stopped (mode 0, no count: its output stays low, so it
 * raises no interrupt).  A reading is then one rdtsc and a multiply:
 * ns = ticks * mult >> 32, with mult = 10^9 * 2^32 / tsc_hz.  We assume
 * an invariant TSC that is synchronized across cores, which QEMU and
 * KVM provide.
 */
#include "native.h"
#include "platform.h"
#include "print.h"
#include "x86.h"

#define PIT_HZ		1193182		/* the 8254's input clock */
#define PIT_CH0		0x40		/* channel 0 data port */
#define PIT_CMD		0x43		/* mode/command register */
#define PIT_CH0_RATE	0x34		/* channel 0, lo/hi byte, mode 2 (rate generator) */
#define PIT_CH0_STOP	0x30		/* channel 0, lo/hi byte, mode 0, no count: stopped */
#define PIT_CH0_LATCH	0x00		/* latch channel 0's count for reading */
#define SAMPLE_TRIES	8		/* reads per sample; the narrowest is kept */
#define CLOCK_AGREE_PPM	2000		/* two windows must agree within 0.2% */
#define CLOCK_ROUNDS	5		/* pairs of windows before we give up agreeing */
#define PIT_STUCK	(1ULL << 36)	/* TSC ticks without a new count: no PIT
					 * (tens of seconds at any TSC rate) */

static uint64_t tsc_start;	/* TSC at clock_init: clock_ns() = 0 there */
static uint64_t tsc_mult;	/* ns per tick, times 2^32 */
static uint64_t tsc_hz;

/* Channel 0's count now (counting down). */
static uint32_t
pit_read(void)
{
	outb(PIT_CMD, PIT_CH0_LATCH);
	uint32_t lo = inb(PIT_CH0);
	return lo | (uint32_t)inb(PIT_CH0) << 8;
}

/* A PIT count and the TSC at the middle of the narrowest of a few reads. */
static uint32_t
pit_sample(uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;
	uint32_t count = 0;

	for (int i = 0; i < SAMPLE_TRIES; i++) {
		uint64_t a = rdtsc();
		uint32_t c = pit_read();
		uint64_t b = rdtsc();
		if (b - a < best) {
			best = b - a;
			count = c;
			*tsc = a + (b - a) / 2;
		}
	}
	return count;
}

/* TSC ticks per second, measured over one window of PIT counts. */
static uint64_t
clock_window(void)
{
	uint32_t want = PIT_HZ / 1000 * CLOCK_CALIBRATE_MS, done = 0;
	uint64_t t0, t1;
	uint32_t c0 = pit_sample(&t0), prev = c0, c;

	uint64_t moved = t0;

	while (done < want) {
		c = pit_read();
		done += (prev - c) & 0xFFFF;	/* counts down; wraps at 65536 */
		if (c != prev)
			moved = rdtsc();
		else if (rdtsc() - moved > PIT_STUCK)
			panic("clock_init: the PIT's channel 0 does not count");
		prev = c;
	}
	c = pit_sample(&t1);
	done += (prev - c) & 0xFFFF;
	return (uint64_t)((unsigned __int128)(t1 - t0) * PIT_HZ / done);
}

void
clock_init(void)
{
	uint64_t a = 0, b = 0;

	outb(PIT_CMD, PIT_CH0_RATE);
	outb(PIT_CH0, 0);			/* count 0: 65536 */
	outb(PIT_CH0, 0);
	for (int round = 0; round < CLOCK_ROUNDS; round++) {
		a = clock_window();
		b = clock_window();
		uint64_t diff = a > b ? a - b : b - a;
		if (diff * 1000000 <= (a < b ? a : b) * CLOCK_AGREE_PPM)
			break;
	}
	outb(PIT_CMD, PIT_CH0_STOP);		/* quiet from now on */

	tsc_hz = a / 2 + b / 2;
	if (tsc_hz == 0)
		panic("clock_init: the TSC does not advance");
	tsc_mult = (uint64_t)(((unsigned __int128)1000000000 << 32) / tsc_hz);
	tsc_start = rdtsc();
	kprintf("clock: TSC at %llu MHz\n", (unsigned long long)(tsc_hz / 1000000));
}

/* platform.h */
uint64_t
clock_ns(void)
{
	uint64_t ticks = rdtsc() - tsc_start;
	return (uint64_t)(((unsigned __int128)ticks * tsc_mult) >> 32);
}
