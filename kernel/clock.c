/*
 * clock.c: the monotonic clock (platform.h's clock_ns) from the CPU's
 * time-stamp counter.
 *
 * The TSC counts at a rate the CPU does not tell us reliably, so
 * clock_init measures it once against the legacy PIT (Intel 8254), whose
 * input clock is fixed at 1193182 Hz: channel 2 is programmed for a
 * one-shot count of CALIBRATE_MS milliseconds, and the TSC is read when
 * it starts and when its output goes high (visible in port 0x61, bit 5).
 * After that a reading is one rdtsc and a multiply: ns = ticks * mult >>
 * 32, with mult = 10^9 * 2^32 / tsc_hz.  We assume an invariant TSC that
 * is synchronized across cores, which QEMU and KVM provide.
 */
#include "native.h"
#include "platform.h"
#include "print.h"
#include "x86.h"

#define PIT_HZ		1193182		/* the 8254's input clock */
#define PIT_CH2		0x42		/* channel 2 data port */
#define PIT_CMD		0x43		/* mode/command register */
#define PIT_CH2_ONESHOT	0xB0		/* channel 2, lo/hi byte, mode 0 */
#define PORT_B		0x61		/* NMI status/control (port B) */
#define PORTB_GATE2	0x01		/* gate input of channel 2 */
#define PORTB_SPEAKER	0x02		/* speaker data enable: keep off */
#define PORTB_OUT2	0x20		/* channel 2's output, read-only */
#define CALIBRATE_MS	20		/* the calibration interval */

static uint64_t tsc_start;	/* TSC at clock_init: clock_ns() = 0 there */
static uint64_t tsc_mult;	/* ns per tick, times 2^32 */
static uint64_t tsc_hz;

void
clock_init(void)
{
	uint32_t count = PIT_HZ * CALIBRATE_MS / 1000;
	uint8_t b = inb(PORT_B) & ~(PORTB_SPEAKER | PORTB_GATE2);

	outb(PORT_B, b);				/* gate low: hold */
	outb(PIT_CMD, PIT_CH2_ONESHOT);
	outb(PIT_CH2, count & 0xFF);
	outb(PIT_CH2, count >> 8);
	outb(PORT_B, b | PORTB_GATE2);			/* gate high: count */
	uint64_t t0 = rdtsc();
	while ((inb(PORT_B) & PORTB_OUT2) == 0)
		;
	uint64_t t1 = rdtsc();
	outb(PORT_B, b);

	tsc_hz = (t1 - t0) * 1000 / CALIBRATE_MS;
	if (tsc_hz == 0)
		panic("clock_init: the TSC does not advance");
	tsc_mult = (uint64_t)(((unsigned __int128)1000000000 << 32) / tsc_hz);
	tsc_start = t1;
	kprintf("clock: TSC at %llu MHz\n", (unsigned long long)(tsc_hz / 1000000));
}

/* platform.h */
uint64_t
clock_ns(void)
{
	uint64_t ticks = rdtsc() - tsc_start;
	return (uint64_t)(((unsigned __int128)ticks * tsc_mult) >> 32);
}
