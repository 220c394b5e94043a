/*
 * file.h: the file Ebb: files of the host's disk, read from any node.
 * Portable interface; the offload of ../../shared/DESIGN.md ("The
 * elastic runtime").
 *
 * A native node has no disk of its own worth the name; the hosted
 * frontend has the host's.  The file Ebb (static id EBB_FILE) has one
 * rep per node: on the node that serves (the frontend, file_serve) a
 * call reads the host's files with the host's system calls, confined
 * to one directory; on every other node a call becomes a request
 * message to the server (ebb/msg.h) and the reply resolves its future.
 * The app calls the same functions either way:
 *
 *	struct files *fs = file_start(me, frontend_ip);	// a node
 *	struct files *fs = file_serve(me, "/srv/share", why, n);	// the frontend
 *	file_read(fs, "docs/a.txt", 0, 4096, &f);
 *	future_block(&f, &v);	// v: an iobuf chain (the caller's), NULL if 0 bytes
 *	file_stat(fs, "docs", &st, &g);	// g resolves with &st filled
 *	file_list(fs, "docs", &h);	// h: a chain of names, "a.txt\nsub/\n"
 *
 * Paths are relative to the served directory, '/'-separated, at most
 * FILE_PATH_MAX - 1 bytes; "" (or ".") is the directory itself.  A path
 * that is absolute or has a ".." component is refused with EACCES before
 * anything is opened; the server then opens it beneath its directory
 * only (Linux's openat2 with RESOLVE_BENEATH): a symbolic link that
 * points out of the directory is refused with EACCES too, one that stays
 * inside is followed.  Only regular files are read (a directory is
 * EISDIR, anything else EACCES).
 *
 * Limits: one file_read returns at most FILE_READ_MAX bytes (a longer
 * len is EMSGSIZE: read a big file in pieces); a read shorter than len
 * means the file ended (past its end: NULL, 0 bytes).  The reply travels
 * in messages of at most FILE_CHUNK bytes of data, each read by the
 * server straight into the buffer the messenger sends, and chained, not
 * copied, by the client.  A listing is at most FILE_CHUNK bytes (else
 * EMSGSIZE).
 *
 * Failures: ENOENT, EACCES, EISDIR, ENOTDIR, EINVAL (an empty or too
 * long path, a NUL in it), EMSGSIZE as above; over the messenger, the
 * send's error (ECONNREFUSED, ECONNRESET, ECONNABORTED, ...: the
 * server is unreachable; EAGAIN: the queue toward it is full, ask
 * again later), or ETIMEDOUT if no complete reply came within
 * FILE_TIMEOUT_MS (its connection broke after the request was in, or
 * the server has no file Ebb); a read whose reply breaks off midway
 * fails with ECONNRESET as soon as the server's next message shows the
 * gap (it goes on sending on a new connection, not knowing).  Errors are positive errno values.
 * Futures resolve on the calling core or the messenger's; a pending
 * request holds its future, which must stay valid until then.
 */
#ifndef EBB_FILE_H
#define EBB_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "ebb.h"
#include "future.h"
#include "msg.h"

#define FILE_PATH_MAX	1024		/* bytes of a path, with its NUL */
#define FILE_READ_MAX	(16u << 20)	/* bytes one file_read returns, at most */
#define FILE_CHUNK	(256u << 10)	/* data bytes in one reply message */
#define FILE_TIMEOUT_MS	30000		/* a request unanswered this long fails */

enum { FILE_REG = 1, FILE_DIR = 2 };

/* What file_stat fills in. */
struct file_stat {
	uint64_t size;			/* bytes (a directory: the host's figure) */
	int type;			/* FILE_REG or FILE_DIR */
};

struct files;

/*
 * A node's file Ebb over messenger m, asking node server for files.
 * The first started in a process (file_start or file_serve) becomes
 * the rep of EBB_FILE (file_ebb) and binds it.  Any core.  NULL if
 * memory ran out or m has one.
 */
struct files *file_start(struct messenger *m, uint32_t server);

/*
 * The serving node's file Ebb: reads here and answers other nodes'
 * requests, with the host's files beneath dir.  NULL with the reason in
 * why if dir cannot be opened, m has one already, or this platform has
 * no files to serve (natively: ENOTSUP's sentence).
 */
struct files *file_serve(struct messenger *m, const char *dir, char *why, size_t whylen);

/* This process's file Ebb (the first started), or NULL: ebb_rep(EBB_FILE). */
struct files *file_ebb(void);

/*
 * Read up to len bytes of path from offset off: f resolves with an
 * iobuf chain (the caller's to iobuf_free_chain; NULL for 0 bytes) or
 * fails as the top says.  Returns 0, or an error taking nothing (EINVAL,
 * EACCES for a path refused before asking, EMSGSIZE, ENOMEM).
 */
int file_read(struct files *fs, const char *path, uint64_t off, uint32_t len,
    struct future *f);

/* Fill *st for path: f resolves (value st) or fails.  Returns as file_read. */
int file_stat(struct files *fs, const char *path, struct file_stat *st, struct future *f);

/*
 * The names in directory path: f resolves with an iobuf chain of lines,
 * each a name and '\n' ("sub/\n" for a directory; symbolic links,
 * other kinds and names beginning with '.' are left out), in the
 * host's order (NULL if there are none), or fails.
 */
int file_list(struct files *fs, const char *path, struct future *f);

/* Fail fs's requests unanswered after ms (FILE_TIMEOUT_MS at start): tests shorten it. */
void file_timeout(struct files *fs, uint32_t ms);

/* Requests fs is serving now (a server), and its own still unanswered (a client). */
void file_counts(struct files *fs, int *serving, int *pending);

/* ---- the platform's half: the host's files (hosted/file_host.c; kernel/file_none.c) --- */

/* Open dir as a served root: 0 and *root, or an errno. */
int fhost_root(const char *dir, int *root);

/*
 * Open path beneath root (checked: relative, no ".."), for reading: 0
 * with *fd (or -1 for a directory), *size and *type; or an errno.
 */
int fhost_open(int root, const char *path, int *fd, uint64_t *size, int *type);

/* Read n bytes at off of fd into p: the bytes read (0 at the end), or -errno. */
long fhost_pread(int fd, void *p, size_t n, uint64_t off);

void fhost_close(int fd);

/*
 * The listing of directory path beneath root into p (at most cap
 * bytes): 0 and *n, or an errno (EMSGSIZE if it does not fit).
 */
int fhost_list(int root, const char *path, char *p, size_t cap, size_t *n);

/* Is path one the server would try (relative, no "..", not too long)? 0 or the errno. */
int file_path_check(const char *path);

#endif
