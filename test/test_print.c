/*
 * test_print.c: kernel/print.c's formatter against glibc's snprintf.
 *
 * Every supported conversion, with flags, widths, precisions and length
 * modifiers, over interesting and random values: the kernel's output and
 * the C library's must be byte-identical, including the returned length
 * and truncation at every buffer size.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/print.h"
#include "test.h"

/* Format with both and compare; returns 1 if they agree. */
static int
same(const char *fmt, ...)
{
	char a[512], b[512];
	va_list ap, aq;

	va_start(ap, fmt);
	va_copy(aq, ap);
	int na = kvsnprintf(a, sizeof a, fmt, ap);
	int nb = vsnprintf(b, sizeof b, fmt, aq);
	va_end(aq);
	va_end(ap);
	if (na != nb || strcmp(a, b) != 0) {
		char m[1400];
		snprintf(m, sizeof m, "format \"%s\": kernel \"%s\" (%d), libc \"%s\" (%d)",
		    fmt, a, na, b, nb);
		test_fail(__FILE__, __LINE__, m);
		return 0;
	}
	return 1;
}

static const char *int_formats[] = {
	"%d", "%i", "%5d", "%-5d|", "%05d", "%+d", "% d", "%.3d", "%8.3d", "%-8.3d|",
	"%+05d", "%.0d", "%u", "%x", "%X", "%#x", "%#X", "%08x", "%#08x", "%-#8x|",
	"%o", "%#o", "%.0o", "%#.0o", "%#5o", "%.5x", "%#.5x", "%*d", "%-*d|", "%.*d",
};

static const long long int_values[] = {
	0, 1, -1, 7, 8, 9, 10, 15, 16, 42, -42, 255, 256, 999, 1000, 65535,
	INT_MAX, INT_MIN, 123456789, -123456789,
};

TEST(integers)
{
	for (size_t f = 0; f < sizeof int_formats / sizeof *int_formats; f++) {
		const char *fmt = int_formats[f];
		for (size_t v = 0; v < sizeof int_values / sizeof *int_values; v++) {
			int x = (int)int_values[v];
			if (strchr(fmt, '*'))
				same(fmt, 7, x);
			else
				same(fmt, x);
		}
	}
}

TEST(length_modifiers)
{
	long long vals[] = { 0, -1, 1, LLONG_MAX, LLONG_MIN, 0x1234567890abcdefLL };
	for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
		long long v = vals[i];
		same("%lld %llu %llx %#llo", v, (unsigned long long)v,
		    (unsigned long long)v, (unsigned long long)v);
		same("%ld %lu %lx", (long)v, (unsigned long)v, (unsigned long)v);
		same("%hd %hu %hx", (short)v, (unsigned short)v, (unsigned short)v);
		same("%hhd %hhu %hhx", (signed char)v, (unsigned char)v, (unsigned char)v);
		same("%zu %zx %td %jd", (size_t)v, (size_t)v, (ptrdiff_t)v, (intmax_t)v);
	}
}

TEST(random_integers)
{
	srand(1);
	for (int i = 0; i < 20000; i++) {
		long long v = (long long)(((unsigned long long)rand() << 33) ^
		    ((unsigned long long)rand() << 2) ^ (unsigned long long)rand());
		if (i & 1)
			v = -v;
		int w = rand() % 25, p = rand() % 25;
		same("%*.*lld|%-*llx|%0*llo", w, p, v, w, (unsigned long long)v, w,
		    (unsigned long long)v);
	}
}

TEST(strings_chars_pointers)
{
	same("%s", "hello");
	same("[%10s]", "hi");
	same("[%-10s]", "hi");
	same("[%.2s]", "hello");
	same("[%8.3s]", "hello");
	same("[%-8.3s]", "hello");
	same("[%.*s]", 3, "hello");
	same("[%s]", "");
	same("%c%c%c", 'a', 'b', 'c');
	same("[%5c][%-5c]", 'x', 'y');
	same("%p", (void *)0x1234);
	same("%p", (void *)&same);
	same("[%20p]", (void *)0xdeadbeef);
	same("[%-20p]", (void *)0xdeadbeef);
	same("%p", (void *)0);
	same("100%%");
	same("%d%% of %s", 50, "it");
}

TEST(truncation)
{
	const char *expect = "value=12345 name=abcdef";
	char buf[64];

	for (size_t size = 0; size < sizeof buf; size++) {
		memset(buf, 'Z', sizeof buf);
		int n = ksnprintf(buf, size, "value=%d name=%s", 12345, "abcdef");
		CHECK_EQ(n, strlen(expect));
		if (size > 0) {
			size_t kept = size - 1 < strlen(expect) ? size - 1 : strlen(expect);
			CHECK(memcmp(buf, expect, kept) == 0);
			CHECK_EQ(buf[kept], '\0');
		}
		CHECK_EQ(buf[size], 'Z');	/* nothing written past size */
	}
	CHECK_EQ(ksnprintf(NULL, 0, "%d", 123456), 6);
}

TEST(null_string)
{
	char buf[32];
	const char *volatile nul = NULL;	/* hide the NULL from -Wformat */

	ksnprintf(buf, sizeof buf, "[%s]", nul);
	CHECK(strcmp(buf, "[(null)]") == 0);
}
