/*
 * file_int.h: what file.c (starting, the client) and file_srv.c (the
 * serving half) share.  Portable; the file Ebb's files only.
 */
#ifndef EBB_FILE_INT_H
#define EBB_FILE_INT_H

#include "file.h"
#include "kernel/spinlock.h"
#include "tcp/iobuf.h"

enum { F_READ = 1, F_STAT, F_LIST, F_DATA };	/* message kinds (file.c has the wire) */

#define DATA_HDR	16		/* tag, status, at, last */

struct req;

struct files {
	struct messenger *m;
	uint32_t server;		/* a client's */
	int root;			/* the server's directory, or -1 */
	uint32_t timeout_ms;		/* a client's requests' (file_timeout) */
	int serving;			/* the server's requests in hand (atomic) */
	struct spinlock lock;
	/* lock must be held when using these: */
	struct req *pending;
	uint32_t tag;
};

/* file_srv.c: the work, here and at once.  NULL/errno with *err. */
struct iobuf *file_local_read(struct files *fs, const char *path, uint64_t off, uint32_t len,
    int *err);
int file_local_stat(struct files *fs, const char *path, struct file_stat *st);
struct iobuf *file_local_list(struct files *fs, const char *path, size_t hdr, int *err);

/* Answer a request from another node (m is the caller's to free). */
void file_serve_msg(struct files *fs, struct msg *m);

/* Words, big-endian: n of w into p; the one at byte off of m's payload (0 if short). */
void file_put_words(uint8_t *p, const uint32_t *w, int n);
uint32_t file_word(const struct msg *m, size_t off);

#endif
