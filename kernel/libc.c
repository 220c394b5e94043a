/*
 * libc.c: the glue newlib needs below it, all in one file.
 *
 * Newlib was built with --disable-newlib-supplied-syscalls, so its
 * reentrant wrappers (_write_r and friends) call the plain POSIX names
 * defined here.  What this machine has, they do: write() to the console
 * for standard output and standard error, _exit() through machine_exit,
 * and enough of fstat/isatty for stdio to line-buffer the console.
 * Everything else fails with ENOSYS (or EBADF for a descriptor that
 * cannot exist), so a call that cannot work says so instead of
 * pretending.
 *
 * The malloc family is kernel/malloc.c's, under the names C and newlib
 * use: malloc and the rest, and the reentrant _malloc_r family that
 * newlib's stdio calls.  Because all of them are defined here, none of
 * newlib's own allocator is linked (the Makefile checks the image for
 * it), and there is no sbrk: the page allocator owns all free memory.
 *
 * Reentrancy: newlib is built with __DYNAMIC_REENT__, so errno, stdio's
 * streams and the rest of its per-thread state are found through
 * __getreent().  Here that is per core: core 0 uses newlib's static
 * impure data, every other core its own struct _reent.  Code on
 * different cores never shares newlib state.
 */
#include <errno.h>
#include <reent.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <sys/time.h>
#include <unistd.h>

#include "malloc.h"
#include "native.h"
#include "platform.h"

static struct _reent core_reent[NCPU];
static struct _reent *reent_of[NCPU];

void
libc_init(void)
{
	reent_of[0] = _impure_ptr;
	for (int c = 1; c < NCPU; c++) {
		_REENT_INIT_PTR(&core_reent[c]);
		reent_of[c] = &core_reent[c];
	}
}

/* Newlib's per-thread state, here per core. */
struct _reent *
__getreent(void)
{
	struct _reent *r = reent_of[core_id()];
	return r ? r : _impure_ptr;	/* before libc_init: core 0 at boot */
}

static int
fail(int err)
{
	errno = err;
	return -1;
}

static int
is_console(int fd)
{
	return fd >= 0 && fd <= 2;
}

int
write(int fd, const void *buf, size_t n)
{
	if (fd != 1 && fd != 2)
		return fail(EBADF);
	console_write(buf, n);
	return (int)n;
}

/* Nothing can be read yet: the console is output only. */
int
read(int fd, void *buf, size_t n)
{
	(void)buf;
	(void)n;
	return fail(is_console(fd) ? ENOSYS : EBADF);
}

int
close(int fd)
{
	return is_console(fd) ? 0 : fail(EBADF);
}

int
fstat(int fd, struct stat *st)
{
	if (!is_console(fd))
		return fail(EBADF);
	*st = (struct stat){ .st_mode = S_IFCHR };	/* a terminal: line-buffered */
	return 0;
}

int
isatty(int fd)
{
	if (!is_console(fd))
		return fail(EBADF);
	return 1;
}

off_t
lseek(int fd, off_t off, int whence)
{
	(void)off;
	(void)whence;
	return fail(is_console(fd) ? ESPIPE : EBADF);
}

void
_exit(int status)
{
	machine_exit(status);
}

/* No processes, files, signals or wall clock on this machine (yet). */
int open(const char *path, int flags, ...) { (void)path; (void)flags; return fail(ENOSYS); }
int kill(pid_t pid, int sig) { (void)pid; (void)sig; return fail(ENOSYS); }
pid_t getpid(void) { return 1; }
int link(const char *a, const char *b) { (void)a; (void)b; return fail(ENOSYS); }
int unlink(const char *path) { (void)path; return fail(ENOSYS); }
int stat(const char *path, struct stat *st) { (void)path; (void)st; return fail(ENOSYS); }
int mkdir(const char *path, mode_t mode) { (void)path; (void)mode; return fail(ENOSYS); }
int fork(void) { return fail(ENOSYS); }
int execve(const char *p, char *const a[], char *const e[]) { (void)p; (void)a; (void)e; return fail(ENOSYS); }
int wait(int *status) { (void)status; return fail(ENOSYS); }
int fcntl(int fd, int cmd, ...) { (void)cmd; return fail(is_console(fd) ? ENOSYS : EBADF); }
clock_t times(struct tms *t) { (void)t; return (clock_t)fail(ENOSYS); }
int gettimeofday(struct timeval *tv, void *tz) { (void)tv; (void)tz; return fail(ENOSYS); }
int getentropy(void *buf, size_t n) { (void)buf; (void)n; return fail(ENOSYS); }

/* ---- the malloc family ------------------------------------------------ */

/* Set errno to ENOMEM if p is NULL (and size was not 0); return p. */
static void *
nomem(struct _reent *r, void *p)
{
	if (p == NULL)
		r->_errno = ENOMEM;
	return p;
}

void *_malloc_r(struct _reent *r, size_t n) { return nomem(r, kmalloc(n)); }
void _free_r(struct _reent *r, void *p) { (void)r; kfree(p); }
void *_calloc_r(struct _reent *r, size_t n, size_t s) { return nomem(r, kcalloc(n, s)); }
void *_memalign_r(struct _reent *r, size_t a, size_t n) { return nomem(r, kaligned_alloc(a, n)); }
void *_valloc_r(struct _reent *r, size_t n) { return nomem(r, kaligned_alloc(PAGE_SIZE, n)); }
size_t _malloc_usable_size_r(struct _reent *r, void *p) { (void)r; return kmalloc_usable_size(p); }

void *
_realloc_r(struct _reent *r, void *p, size_t n)
{
	void *q = krealloc(p, n);
	return n == 0 ? q : nomem(r, q);
}

void *
_pvalloc_r(struct _reent *r, size_t n)
{
	size_t up = (n + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
	return up < n ? nomem(r, NULL) : nomem(r, kaligned_alloc(PAGE_SIZE, up));
}

void *malloc(size_t n) { return _malloc_r(__getreent(), n); }
void free(void *p) { kfree(p); }
void *calloc(size_t n, size_t s) { return _calloc_r(__getreent(), n, s); }
void *realloc(void *p, size_t n) { return _realloc_r(__getreent(), p, n); }
void *memalign(size_t a, size_t n) { return _memalign_r(__getreent(), a, n); }
void *aligned_alloc(size_t a, size_t n) { return _memalign_r(__getreent(), a, n); }
void *valloc(size_t n) { return _valloc_r(__getreent(), n); }
void *pvalloc(size_t n) { return _pvalloc_r(__getreent(), n); }
size_t malloc_usable_size(void *p) { return kmalloc_usable_size(p); }
int posix_memalign(void **out, size_t a, size_t n) { return kposix_memalign(out, a, n); }
