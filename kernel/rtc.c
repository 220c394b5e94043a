/*
 * rtc.c: the wall clock (platform.h's wall_ns) from the CMOS real-time
 * clock, read once at boot.
 *
 * The MC146818-compatible RTC keeps the date in battery-backed CMOS
 * registers, reached through an index port (0x70) and a data port
 * (0x71).  It ticks once a second and is slow to read, so rtc_init
 * reads it once and remembers which clock_ns() that date belongs to;
 * after that wall_ns() is that date plus the monotonic clock's progress
 * (the TSC's drift against the RTC, a few ppm, is ignored: an instance
 * that lives for weeks is off by seconds).
 *
 * Reading it safely: while the chip updates its registers (status A's
 * UIP bit is set for up to 2 ms before) they may be inconsistent, so
 * rtc_init waits for UIP to clear, reads every register, and repeats
 * until two readings agree.  Status B says whether the values are BCD
 * or binary and whether the hour is 12- or 24-hour (bit 7 of a 12-hour
 * value: PM).  The century is in register 0x32 (the one QEMU and ACPI's
 * FADT default name); if it reads as nonsense, years 70..99 are 19xx and
 * the rest 20xx.  QEMU's RTC runs on the host's UTC time by default
 * (-rtc base=utc), so the guest sees the host's wall clock.
 */
#include <stdint.h>

#include "date.h"
#include "native.h"
#include "platform.h"
#include "print.h"
#include "x86.h"

#define CMOS_INDEX	0x70	/* register select; bit 7 masks NMI */
#define CMOS_DATA	0x71
#define CMOS_NMI_OFF	0x80	/* keep NMIs masked while the index is set */
#define RTC_SEC		0x00
#define RTC_MIN		0x02
#define RTC_HOUR	0x04
#define RTC_DAY		0x07
#define RTC_MON		0x08
#define RTC_YEAR	0x09
#define RTC_STATUS_A	0x0A
#define RTC_STATUS_B	0x0B
#define RTC_CENTURY	0x32
#define STA_UIP		0x80	/* status A: an update is in progress */
#define STB_24H		0x02	/* status B: hours are 0..23 */
#define STB_BINARY	0x04	/* status B: values are binary, not BCD */
#define HOUR_PM		0x80	/* 12-hour mode: the hour is after noon */

static uint64_t boot_wall_ns;	/* the RTC's time at boot_mono_ns */
static uint64_t boot_mono_ns;	/* clock_ns() when the RTC was read */

static uint8_t
cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, CMOS_NMI_OFF | reg);
	return inb(CMOS_DATA);
}

/* One reading of the date registers, in the order of struct rtc_regs. */
struct rtc_regs {
	uint8_t sec, min, hour, day, mon, year, century;
};

static void
rtc_read_regs(struct rtc_regs *r)
{
	while (cmos_read(RTC_STATUS_A) & STA_UIP)
		;
	r->sec = cmos_read(RTC_SEC);
	r->min = cmos_read(RTC_MIN);
	r->hour = cmos_read(RTC_HOUR);
	r->day = cmos_read(RTC_DAY);
	r->mon = cmos_read(RTC_MON);
	r->year = cmos_read(RTC_YEAR);
	r->century = cmos_read(RTC_CENTURY);
}

static int
bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0x0F);
}

void
rtc_init(void)
{
	struct rtc_regs a, b;
	struct date d;
	uint8_t stb = cmos_read(RTC_STATUS_B);
	int pm, century;

	rtc_read_regs(&b);
	do {
		a = b;
		rtc_read_regs(&b);
	} while (a.sec != b.sec || a.min != b.min || a.hour != b.hour || a.day != b.day ||
	    a.mon != b.mon || a.year != b.year || a.century != b.century);
	boot_mono_ns = clock_ns();

	pm = (stb & STB_24H) == 0 && (b.hour & HOUR_PM) != 0;
	b.hour &= (uint8_t)~HOUR_PM;
	if ((stb & STB_BINARY) == 0) {
		b.sec = (uint8_t)bcd(b.sec);
		b.min = (uint8_t)bcd(b.min);
		b.hour = (uint8_t)bcd(b.hour);
		b.day = (uint8_t)bcd(b.day);
		b.mon = (uint8_t)bcd(b.mon);
		b.year = (uint8_t)bcd(b.year);
		b.century = (uint8_t)bcd(b.century);
	}
	if ((stb & STB_24H) == 0)		/* 12 AM is 0, 12 PM is 12 */
		b.hour = (uint8_t)(b.hour % 12 + (pm ? 12 : 0));
	century = b.century >= 19 && b.century <= 99 ? b.century : (b.year >= 70 ? 19 : 20);
	d = (struct date){ century * 100 + b.year, b.mon, b.day, b.hour, b.min, b.sec };
	if (d.mon < 1 || d.mon > 12 || d.day < 1 || d.day > 31 || d.hour > 23 ||
	    d.min > 59 || d.sec > 60) {
		kprintf("rtc: unreadable (%02x-%02x-%02x %02x:%02x:%02x): the wall clock starts at 1970\n",
		    b.year, b.mon, b.day, b.hour, b.min, b.sec);
		return;
	}
	int64_t t = date_to_unix(&d);
	boot_wall_ns = t > 0 ? (uint64_t)t * 1000000000u : 0;
	kprintf("rtc: %04d-%02d-%02d %02d:%02d:%02d UTC\n", d.year, d.mon, d.day, d.hour,
	    d.min, d.sec);
}

/* platform.h */
uint64_t
wall_ns(void)
{
	return boot_wall_ns + (clock_ns() - boot_mono_ns);
}
