/*
 * cmdline.h: splitting a command line into argv.
 *
 * Words are separated by spaces or tabs; a double-quoted part may hold
 * spaces ("a b" is one word, the quotes removed).  There are no escapes.
 * The native kernel splits the multiboot command line (QEMU's -append,
 * after the image's path) with it; the result is the app's argv.
 */
#ifndef CMDLINE_H
#define CMDLINE_H

/*
 * Split line in place into at most max words, stored in argv[0..n-1]
 * with argv[n] = NULL (so argv needs max + 1 slots).  Returns n, or
 * CMDLINE_TOO_MANY if there are more than max words, or
 * CMDLINE_UNTERMINATED if a quote is not closed.
 */
int cmdline_split(char *line, char **argv, int max);

#define CMDLINE_TOO_MANY	(-1)
#define CMDLINE_UNTERMINATED	(-2)

#endif
