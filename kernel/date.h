/*
 * date.h: civil dates (UTC, proleptic Gregorian) to and from Unix time.
 * Portable and pure: the native RTC reader turns the CMOS clock's date
 * into seconds with it, and a test checks it against the C library's
 * timegm and gmtime at every day of four centuries.
 */
#ifndef DATE_H
#define DATE_H

#include <stdint.h>

/* A broken-down UTC time. */
struct date {
	int year;		/* e.g. 2025 */
	int mon;		/* 1..12 */
	int day;		/* 1..31 */
	int hour, min, sec;	/* 0..23, 0..59, 0..59 */
};

/* Seconds since 1970-01-01 00:00:00 UTC of d (negative before 1970). */
int64_t date_to_unix(const struct date *d);

/* The date of Unix time t. */
void date_from_unix(int64_t t, struct date *d);

#endif
