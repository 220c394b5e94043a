/*
 * file_host.c: the file Ebb's platform half on a hosted instance: the
 * host's files, read with Linux's system calls (ebb/file.h's fhost_*).
 * Hosted.
 *
 * Confinement.  A served directory is an O_PATH descriptor; every path
 * is opened relative to it with openat2 and RESOLVE_BENEATH, so the
 * kernel refuses (EXDEV) any resolution that would leave it: "..", an
 * absolute path, or a symbolic link (at any component) that points out
 * of the directory; a link that stays inside is followed.  EXDEV is
 * reported as EACCES.  The portable side (file_path_check) has already
 * refused absolute paths and ".." components; this is the check that
 * holds against links.  Magic links (/proc/self/fd/...) are refused
 * too (ELOOP, also EACCES).  openat2 is Linux 5.6's: on an older
 * kernel every open fails with ENOSYS, on purpose (a check of the path
 * alone would not hold against links).  Files are opened O_NONBLOCK
 * (a FIFO must not block the server's core) and only regular files and
 * directories pass.
 *
 * The reads block the calling core for the time a read of the host's
 * disk takes (a pread of at most FILE_CHUNK bytes): the server's
 * requests are events that may block, and the page cache makes most
 * reads quick.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ebb/file.h"

int
fhost_root(const char *dir, int *root)
{
	struct stat st;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		return ENOTDIR;
	}
	*root = fd;
	return 0;
}

/* Open path beneath root with flags: the fd, or -errno. */
static int
beneath(int root, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (path[0] == 0)
		path = ".";
	if (file_path_check(path) != 0)
		return -EACCES;
	fd = syscall(SYS_openat2, root, path, &how, sizeof how);
	if (fd < 0)
		return errno == EXDEV || errno == ELOOP ? -EACCES : -errno;
	return (int)fd;
}

int
fhost_open(int root, const char *path, int *fd, uint64_t *size, int *type)
{
	struct stat st;
	int f = beneath(root, path, O_RDONLY | O_NONBLOCK);

	if (f < 0)
		return -f;
	if (fstat(f, &st) != 0) {
		int err = errno;
		close(f);
		return err;
	}
	*size = (uint64_t)st.st_size;
	if (S_ISDIR(st.st_mode)) {
		close(f);
		*fd = -1;
		*type = FILE_DIR;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		close(f);
		return EACCES;		/* devices, FIFOs, sockets: not files to share */
	}
	*fd = f;
	*type = FILE_REG;
	return 0;
}

long
fhost_pread(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (long)got;
}

void
fhost_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
fhost_list(int root, const char *path, char *p, size_t cap, size_t *n)
{
	int fd = beneath(root, path, O_RDONLY | O_DIRECTORY);
	struct dirent *d;
	DIR *dir;
	size_t at = 0;
	int err = 0;

	if (fd < 0)
		return -fd;
	if ((dir = fdopendir(fd)) == NULL) {
		err = errno;
		close(fd);
		return err;
	}
	while ((d = readdir(dir)) != NULL) {
		struct stat st;
		size_t k = strlen(d->d_name);
		if (d->d_name[0] == '.')
			continue;
		if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		int isdir = S_ISDIR(st.st_mode);
		if (!isdir && !S_ISREG(st.st_mode))
			continue;	/* links, devices, ...: left out */
		if (at + k + (size_t)isdir + 1 > cap) {
			err = EMSGSIZE;
			break;
		}
		memcpy(p + at, d->d_name, k);
		at += k;
		if (isdir)
			p[at++] = '/';
		p[at++] = '\n';
	}
	closedir(dir);
	*n = at;
	return err;
}
