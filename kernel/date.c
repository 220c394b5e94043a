/*
 * date.c: civil dates to and from Unix time (date.h).  Portable.
 *
 * Both directions count days with the "era" method: the calendar
 * repeats every 400 years (146097 days), and a year that starts on
 * March 1 puts the leap day at its end, so the day of the year follows
 * from the month by one linear formula, (153 * m + 2) / 5, with m
 * counted from March.  No tables, no loops, any year.
 */
#include "date.h"

/* Days from 1970-01-01 to y-m-d. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;				/* years start in March */
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;		/* 0..399 */
	int64_t mp = (m + 9) % 12;		/* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + d - 1;	/* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* 0..146096 */
	return era * 146097 + doe - 719468;	/* 719468: 0000-03-01 to 1970-01-01 */
}

int64_t
date_to_unix(const struct date *d)
{
	int64_t days = days_from_civil(d->year, d->mon, d->day);
	return days * 86400 + d->hour * 3600 + d->min * 60 + d->sec;
}

void
date_from_unix(int64_t t, struct date *d)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400;	/* 0..86399 */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	d->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	d->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	d->year = (int)(yoe + era * 400 + (d->mon <= 2));
	d->hour = (int)(secs / 3600);
	d->min = (int)(secs / 60 % 60);
	d->sec = (int)(secs % 60);
}
