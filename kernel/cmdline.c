/*
 * cmdline.c: split a command line into words, in place (see cmdline.h).
 *
 * One pass with a read and a write cursor over the same buffer: quotes
 * are dropped by not copying them, and each word is terminated by
 * writing a NUL where its separator was.  The write cursor never passes
 * the read cursor, so the buffer is big enough.
 */
#include <stddef.h>

#include "cmdline.h"

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

int
cmdline_split(char *line, char **argv, int max)
{
	char *r = line, *w = line;
	int n = 0;

	for (;;) {
		while (is_space(*r))
			r++;
		if (*r == '\0')
			break;
		if (n == max)
			return CMDLINE_TOO_MANY;
		argv[n++] = w;
		int quoted = 0;
		while (*r != '\0' && (quoted || !is_space(*r))) {
			if (*r == '"')
				quoted = !quoted;
			else
				*w++ = *r;
			r++;
		}
		if (quoted)
			return CMDLINE_UNTERMINATED;
		if (*r != '\0')
			r++;		/* step over the separator ... */
		*w++ = '\0';		/* ... which may be where this NUL goes */
	}
	argv[n] = NULL;
	return n;
}
