/*
 * test_ksym.c: kernel/ksym.c, finding the function that holds an address,
 * over tables built by hand.  (The table the image carries is checked by
 * the boot tests: a trap report must name the functions on the stack.)
 */
#include <string.h>

#include "kernel/ksym.h"
#include "test.h"

static const uint64_t addr[] = { 0x1000, 0x1010, 0x1010, 0x1100 };
static const uint32_t off[] = { 0, 6, 12, 16 };
static const char names[] = "alpha\0beta_\0gam\0last";
static const struct ksym_table t = { 4, addr, off, names };

TEST(lookup)
{
	uintptr_t o = 99;

	CHECK(ksym_find(&t, 0xfff, &o) == NULL);
	CHECK(strcmp(ksym_find(&t, 0x1000, &o), "alpha") == 0);
	CHECK_EQ(o, 0);
	CHECK(strcmp(ksym_find(&t, 0x100f, &o), "alpha") == 0);
	CHECK_EQ(o, 0xf);
	/* Two symbols at one address: the later one in the table wins. */
	CHECK(strcmp(ksym_find(&t, 0x1010, &o), "gam") == 0);
	CHECK_EQ(o, 0);
	CHECK(strcmp(ksym_find(&t, 0x10ff, &o), "gam") == 0);
	CHECK(strcmp(ksym_find(&t, 0x1100, &o), "last") == 0);
	CHECK(strcmp(ksym_find(&t, 0xffffffff, &o), "last") == 0);
	CHECK_EQ(o, 0xffffffff - 0x1100);
}

TEST(empty_table)
{
	struct ksym_table e = { 0, NULL, NULL, "" };
	uintptr_t o;

	CHECK(ksym_find(&e, 0x1234, &o) == NULL);
}

TEST(every_entry)
{
	uint64_t a[1000];
	uint32_t of[1000];
	static char blob[1000 * 8];
	size_t pos = 0;

	for (int i = 0; i < 1000; i++) {
		a[i] = 0x100000 + (uint64_t)i * 32;
		of[i] = (uint32_t)pos;
		pos += (size_t)sprintf(blob + pos, "f%d", i) + 1;
	}
	struct ksym_table big = { 1000, a, of, blob };
	for (int i = 0; i < 1000; i++) {
		char want[16];
		uintptr_t o;
		sprintf(want, "f%d", i);
		const char *got = ksym_find(&big, a[i] + 31, &o);
		CHECK(got != NULL && strcmp(got, want) == 0);
		CHECK_EQ(o, 31);
	}
}
