/*
 * test.c: main() for every hosted unit-test binary (see test.h).
 *
 * Tests register themselves from constructors, so a suite is just its
 * test file linked with this one and the portable sources it tests.
 * The suite's name is the binary's name (test_print -> "print").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 256

static struct {
	const char *name;
	void (*fn)(void);
} tests[MAX_TESTS];
static int ntests;
static int failed;		/* did the running test fail a check? */
static const char *suite;
static const char *current;	/* name of the running test */

void
test_register(const char *name, void (*fn)(void))
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "test_register: more than %d tests\n", MAX_TESTS);
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

void
test_fail(const char *file, int line, const char *what)
{
	if (!failed)
		printf("FAIL %s.%s: ", suite, current);
	else
		printf("     ");
	printf("%s:%d: %s\n", file, line, what);
	fflush(stdout);
	failed = 1;
}

/*
 * Run fn in a child with its stdout and stderr captured.  Succeeds when
 * the child did not exit 0 and its output contains expect; out gets the
 * captured output (truncated to outlen) for the failure message.
 */
int
test_death(void (*fn)(void), const char *expect, char *out, int outlen)
{
	int p[2], status, n = 0, r;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if (pipe(p) < 0)
		return 0;
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		fn();
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	while (n < outlen - 1 && (r = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += r;
	out[n] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return strstr(out, expect) != NULL;
}

static int
selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');
	int bad = 0;

	suite = slash ? slash + 1 : argv[0];
	if (strncmp(suite, "test_", 5) == 0)
		suite += 5;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		failed = 0;
		current = tests[i].name;
		tests[i].fn();
		if (failed)
			bad++;
		else
			printf("PASS %s.%s\n", suite, tests[i].name);
	}
	return bad ? 1 : 0;
}
