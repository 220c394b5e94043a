/*
 * test_clock.c: the wall clock (platform.h's wall_ns) and the date
 * arithmetic the native RTC reader uses (kernel/date.c).
 *
 * date_to_unix and date_from_unix are checked against glibc's timegm
 * and gmtime_r at every day from 1800 to 2400 (leap centuries
 * included) and at random seconds; hosted wall_ns against time(2), and
 * against clock_ns for its pace.  The native RTC is checked by
 * boot.sh (boot.rtc_*: the date the kernel prints against the host's,
 * and a QEMU started at a given date).
 */
#define _GNU_SOURCE
#include <time.h>
#include <unistd.h>

#include "kernel/date.h"
#include "kernel/platform.h"
#include "test.h"

/* Every day of six centuries, both ways, against glibc. */
TEST(date_days)
{
	struct tm tm = { 0 };
	long bad = 0;

	for (int y = 1800; y < 2400; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 1; d <= 31; d++) {
				tm = (struct tm){ .tm_year = y - 1900, .tm_mon = m - 1,
				    .tm_mday = d, .tm_hour = 13, .tm_min = 7, .tm_sec = 9 };
				time_t want = timegm(&tm);
				struct tm back;
				gmtime_r(&want, &back);
				if (back.tm_mday != d)
					continue;	/* no such day (Feb 30) */
				struct date dt = { y, m, d, 13, 7, 9 }, o;
				if (date_to_unix(&dt) != (int64_t)want)
					bad++;
				date_from_unix((int64_t)want, &o);
				if (o.year != y || o.mon != m || o.day != d || o.hour != 13 ||
				    o.min != 7 || o.sec != 9)
					bad++;
			}
	CHECK_EQ(bad, 0);
}

/* Random seconds, negative ones too, back and forth. */
TEST(date_random)
{
	long bad = 0;

	for (int i = 0; i < 200000; i++) {
		int64_t t = (int64_t)(test_rnd() % 20000000000ULL) - 5000000000LL;
		struct date d;
		struct tm tm;
		time_t tt = (time_t)t;
		date_from_unix(t, &d);
		gmtime_r(&tt, &tm);
		if (d.year != tm.tm_year + 1900 || d.mon != tm.tm_mon + 1 || d.day != tm.tm_mday ||
		    d.hour != tm.tm_hour || d.min != tm.tm_min || d.sec != tm.tm_sec ||
		    date_to_unix(&d) != t)
			bad++;
	}
	CHECK_EQ(bad, 0);
	struct date epoch = { 1970, 1, 1, 0, 0, 0 }, y2038 = { 2038, 1, 19, 3, 14, 8 };
	CHECK_EQ(date_to_unix(&epoch), 0);
	CHECK_EQ(date_to_unix(&y2038), 2147483648LL);
}

/* Hosted wall_ns is the system's time and keeps pace with clock_ns. */
TEST(wall)
{
	uint64_t w0 = wall_ns(), m0 = clock_ns();
	time_t now = time(NULL);

	CHECK(w0 / 1000000000u + 1 >= (uint64_t)now && w0 / 1000000000u <= (uint64_t)now + 1);
	CHECK(w0 > 1600000000ULL * 1000000000u);	/* after 2020 */
	usleep(50000);
	uint64_t dw = wall_ns() - w0, dm = clock_ns() - m0;
	CHECK(dw >= 40000000 && dm >= 40000000);
	CHECK(dw < dm + 20000000 && dm < dw + 20000000);
}
