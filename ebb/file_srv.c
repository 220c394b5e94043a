/*
 * file_srv.c: the file Ebb's serving half (see file.h, and file.c for
 * the wire): the work done at once on the node that has the files, for
 * its own calls (file_local_*) and for other nodes' requests
 * (file_serve_msg, in the messenger's handler event, which may block:
 * a reply that finds the queue toward the client full waits for room).
 * Portable; the host's system calls are the platform's fhost_*.
 *
 * A READ is answered in DATA messages of at most FILE_CHUNK bytes, each
 * a buffer that fhost_pread fills after room for the 16-byte header:
 * the bytes go from the host's page cache to the messenger with no copy
 * of ours.  The server does not learn of a connection that breaks under
 * its answer: its next send opens a new one, and the client, seeing
 * the gap in the offsets, fails the read (file.c).
 */
#include <errno.h>
#include <string.h>

#include "file_int.h"
#include "kernel/malloc.h"
#include "tcp/proto.h"

/* ---- the server's work (here, at once) -------------------------------------------- */

/*
 * A buffer of room bytes after hdr bytes, holding what fd has at off
 * (up to room): *n the bytes read.  NULL with *err.
 */
static struct iobuf *
chunk_read(int fd, uint64_t off, uint32_t room, size_t hdr, uint32_t *n, int *err)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, hdr + room);
	long r;

	if (b == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	r = fhost_pread(fd, b->data + hdr, room, off);
	if (r < 0) {
		iobuf_free(b);
		*err = (int)-r;
		return NULL;
	}
	iobuf_put(b, hdr + (size_t)r);
	*n = (uint32_t)r;
	return b;
}

/* Open path for reading (a regular file): 0 with *fd, or the errno. */
static int
open_reg(struct files *fs, const char *path, int *fd)
{
	uint64_t size;
	int type, err;

	if ((err = file_path_check(path)) != 0 ||
	    (err = fhost_open(fs->root, path, fd, &size, &type)) != 0)
		return err;
	if (type == FILE_DIR)
		return EISDIR;
	return 0;
}

struct iobuf *
file_local_read(struct files *fs, const char *path, uint64_t off, uint32_t len, int *err)
{
	struct iobuf *head = NULL, *tail = NULL, *b;
	uint32_t at = 0, n;
	int fd;

	if ((*err = open_reg(fs, path, &fd)) != 0)
		return NULL;
	while (at < len) {
		uint32_t room = len - at < FILE_CHUNK ? len - at : FILE_CHUNK;
		if ((b = chunk_read(fd, off + at, room, 0, &n, err)) == NULL) {
			iobuf_free_chain(head);
			head = NULL;
			break;
		}
		if (n == 0) {
			iobuf_free(b);
			break;
		}
		if (head == NULL)
			head = b;
		else
			tail->next = b;
		tail = b;
		at += n;
		if (n < room)
			break;
	}
	fhost_close(fd);
	return head;
}

int
file_local_stat(struct files *fs, const char *path, struct file_stat *st)
{
	int fd, type, err;

	if ((err = file_path_check(path)) != 0 ||
	    (err = fhost_open(fs->root, path, &fd, &st->size, &type)) != 0)
		return err;
	st->type = type;
	if (fd >= 0)
		fhost_close(fd);
	return 0;
}

struct iobuf *
file_local_list(struct files *fs, const char *path, size_t hdr, int *err)
{
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, hdr + FILE_CHUNK);
	size_t n;

	if (b == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	if ((*err = file_path_check(path)) != 0 ||
	    (*err = fhost_list(fs->root, path, (char *)b->data + hdr, FILE_CHUNK, &n)) != 0) {
		iobuf_free(b);
		return NULL;
	}
	iobuf_put(b, hdr + n);
	return b;
}

/* ---- the server's answers ---------------------------------------------------------- */

void
file_put_words(uint8_t *p, const uint32_t *w, int n)
{
	for (int i = 0; i < n; i++)
		memcpy(p + 4 * i, &(uint32_t){ hton32(w[i]) }, 4);
}

uint32_t
file_word(const struct msg *m, size_t off)
{
	uint32_t w = 0;

	iobuf_copy_out(m->data, off, 4, &w);
	return ntoh32(w);
}

/*
 * Send b (its first DATA_HDR bytes the header, filled here) to m's
 * sender, waiting for room; 0, or the error (b freed).
 */
static int
answer_send(struct msg *m, struct iobuf *b, uint32_t tag, uint32_t status, uint32_t at,
    uint32_t last)
{
	uint32_t h[4] = { tag, status, at, last };
	int err;

	if (b == NULL && (b = iobuf_alloc(IOBUF_HEADROOM, DATA_HDR)) != NULL)
		iobuf_put(b, DATA_HDR);
	if (b == NULL)
		return ENOMEM;		/* the client times out */
	file_put_words(b->data, h, 4);
	while ((err = msg_send(m->to, m->from, EBB_FILE, F_DATA, b, NULL)) == EAGAIN) {
		struct future room;
		future_init(&room);
		if (msg_wait_room(m->to, m->from, &room) != 0)
			break;
		future_block(&room, NULL);
	}
	if (err != 0)
		iobuf_free_chain(b);
	return err;
}

static void
serve_read(struct files *fs, struct msg *m, uint32_t tag, const char *path, uint64_t off,
    uint32_t len)
{
	uint32_t at = 0, n = 0;
	struct iobuf *b;
	int fd, err;

	if (len > FILE_READ_MAX)
		err = EMSGSIZE;
	else
		err = open_reg(fs, path, &fd);
	if (err != 0) {
		answer_send(m, NULL, tag, (uint32_t)err, 0, 1);
		return;
	}
	for (;;) {
		uint32_t room = len - at < FILE_CHUNK ? len - at : FILE_CHUNK;
		if ((b = chunk_read(fd, off + at, room, DATA_HDR, &n, &err)) == NULL) {
			answer_send(m, NULL, tag, (uint32_t)err, at, 1);
			break;
		}
		int last = n < room || at + n == len;
		if (answer_send(m, b, tag, 0, at, last) != 0 || last)
			break;
		at += n;
	}
	fhost_close(fd);
}

void
file_serve_msg(struct files *fs, struct msg *m)
{
	uint32_t tag = file_word(m, 0), hdr = m->kind == F_READ ? 16 : 4, status = 0;
	char path[FILE_PATH_MAX];
	struct file_stat st;
	struct iobuf *b;
	int err;

	if (m->len < hdr || m->len - hdr >= FILE_PATH_MAX || m->kind < F_READ ||
	    m->kind > F_LIST) {
		answer_send(m, NULL, tag, EINVAL, 0, 1);
		return;
	}
	iobuf_copy_out(m->data, hdr, m->len - hdr, path);
	path[m->len - hdr] = 0;
	if (strlen(path) != m->len - hdr) {
		answer_send(m, NULL, tag, EINVAL, 0, 1);	/* a NUL inside */
		return;
	}
	switch (m->kind) {
	case F_READ:
		serve_read(fs, m, tag, path, (uint64_t)file_word(m, 4) << 32 | file_word(m, 8), file_word(m, 12));
		return;
	case F_STAT:
		if ((err = file_local_stat(fs, path, &st)) != 0) {
			answer_send(m, NULL, tag, (uint32_t)err, 0, 1);
			return;
		}
		if ((b = iobuf_alloc(IOBUF_HEADROOM, DATA_HDR + 12)) == NULL)
			return;
		file_put_words(iobuf_put(b, DATA_HDR + 12) + DATA_HDR, (uint32_t[3]){
		    (uint32_t)(st.size >> 32), (uint32_t)st.size, (uint32_t)st.type }, 3);
		answer_send(m, b, tag, 0, 0, 1);
		return;
	case F_LIST:
		if ((b = file_local_list(fs, path, DATA_HDR, &err)) == NULL)
			status = (uint32_t)err;
		answer_send(m, b, tag, status, 0, 1);
		return;
	}
}
