/*
 * test_cmdline.c: kernel/cmdline.c, splitting the command line into argv.
 */
#include <string.h>

#include "kernel/cmdline.h"
#include "test.h"

/* Split s (copied) and compare with the expected words. */
static int
splits_to(const char *s, int n, const char *const *want)
{
	char buf[256];
	char *argv[9];

	strcpy(buf, s);
	int got = cmdline_split(buf, argv, 8);
	if (got != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (strcmp(argv[i], want[i]) != 0)
			return 0;
	return argv[n] == NULL;
}

TEST(words)
{
	CHECK(splits_to("", 0, NULL));
	CHECK(splits_to("   \t ", 0, NULL));
	CHECK(splits_to("a", 1, (const char *[]){ "a" }));
	CHECK(splits_to("  kernel  one\ttwo  ", 3, (const char *[]){ "kernel", "one", "two" }));
	CHECK(splits_to("ip=10.0.2.15/24,gw=10.0.2.2", 1,
	    (const char *[]){ "ip=10.0.2.15/24,gw=10.0.2.2" }));
}

TEST(quotes)
{
	CHECK(splits_to("k \"two words\" x", 3, (const char *[]){ "k", "two words", "x" }));
	CHECK(splits_to("a\"b c\"d", 1, (const char *[]){ "ab cd" }));
	CHECK(splits_to("\"\"", 1, (const char *[]){ "" }));
	CHECK(splits_to("x \"\" y", 3, (const char *[]){ "x", "", "y" }));
}

TEST(errors)
{
	char buf[256];
	char *argv[9];

	strcpy(buf, "a \"b c");
	CHECK_EQ(cmdline_split(buf, argv, 8), CMDLINE_UNTERMINATED);
	strcpy(buf, "1 2 3 4 5 6 7 8");
	CHECK_EQ(cmdline_split(buf, argv, 8), 8);
	strcpy(buf, "1 2 3 4 5 6 7 8 9");
	CHECK_EQ(cmdline_split(buf, argv, 8), CMDLINE_TOO_MANY);
}
