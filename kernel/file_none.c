/*
 * file_none.c: the file Ebb's platform half on a native instance,
 * which has no host files of its own: it cannot serve (fhost_root says
 * ENOTSUP), so nothing below is ever given a root.  Native.  A native
 * node reads the host's files as a client of the hosted frontend's
 * file Ebb (ebb/file.c), which needs none of this.
 */
#include <errno.h>

#include "ebb/file.h"

int
fhost_root(const char *dir, int *root)
{
	(void)dir;
	(void)root;
	return ENOTSUP;
}

int
fhost_open(int root, const char *path, int *fd, uint64_t *size, int *type)
{
	(void)root;
	(void)path;
	(void)fd;
	(void)size;
	(void)type;
	return ENOTSUP;
}

long
fhost_pread(int fd, void *p, size_t n, uint64_t off)
{
	(void)fd;
	(void)p;
	(void)n;
	(void)off;
	return -ENOTSUP;
}

void
fhost_close(int fd)
{
	(void)fd;
}

int
fhost_list(int root, const char *path, char *p, size_t cap, size_t *n)
{
	(void)root;
	(void)path;
	(void)p;
	(void)cap;
	(void)n;
	return ENOTSUP;
}
