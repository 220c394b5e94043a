/*
 * files.c: the files packed into the image (pack.sh), ready to serve.
 * Portable.
 *
 * pack.sh lays every file of WWW= out as a never-freed iobuf block and
 * lists them in www_files, sorted by path.  www_init, once at start,
 * works out what each response about a file repeats: its Content-Type
 * (by extension), its ETag (a hash of the bytes and the size, so a
 * rebuilt file gets a new one), its Last-Modified date, and the blocks
 * of fixed headers of its two common answers, built here once: a 200
 * (to GET and HEAD alike)
 *
 *	HTTP/1.1 200 OK
 *	Server: ebbrt-httpd
 *	Content-Type: text/html; charset=utf-8
 *	Content-Length: 612
 *	ETag: "3f2a..."
 *	Last-Modified: Sun, 01 Jun 2025 12:00:00 GMT
 *	Accept-Ranges: bytes
 *
 * and a 304 (If-None-Match matched: RFC 9110 15.4.5 wants the ETag
 * and, with it, Last-Modified is still worth sending)
 *
 *	HTTP/1.1 304 Not Modified
 *	Server: ebbrt-httpd
 *	ETag: "3f2a..."
 *	Last-Modified: Sun, 01 Jun 2025 12:00:00 GMT
 *
 * serve.c copies the block and adds Date and Connection.  (A 206's
 * block depends on the range, so serve.c makes it.)  The entries are
 * read-only after www_init, so every core reads them without locks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/date.h"
#include "http.h"

extern const struct www_file www_files[];	/* pack.sh's table */
extern const uint64_t www_nfiles;

static struct www_entry *entries;	/* www_nfiles of them, as www_files */

/* Extensions and their types; anything else is application/octet-stream. */
static const struct { const char *ext, *type; } types[] = {
	{ "html", "text/html; charset=utf-8" }, { "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" }, { "js", "text/javascript; charset=utf-8" },
	{ "json", "application/json" }, { "txt", "text/plain; charset=utf-8" },
	{ "xml", "application/xml" }, { "svg", "image/svg+xml" }, { "png", "image/png" },
	{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "gif", "image/gif" },
	{ "webp", "image/webp" }, { "ico", "image/x-icon" }, { "pdf", "application/pdf" },
	{ "wasm", "application/wasm" }, { "woff2", "font/woff2" }, { "mp4", "video/mp4" },
};

const char *
www_type(const char *name)
{
	const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');

	if (dot != NULL && (slash == NULL || dot > slash))
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

void
http_date(int64_t t, char out[30])
{
	static const char days[][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char mons[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	struct date d;
	int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;	/* 1970-01-01 a Thursday */

	date_from_unix(t, &d);
	snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[((day % 7) + 7) % 7],
	    d.day, mons[d.mon - 1], d.year, d.hour, d.min, d.sec);
}

/* FNV-1a, 64 bits, over n bytes. */
static uint64_t
fnv(const uint8_t *p, uint64_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* The n bytes at h as a block of their own into *b and *len; 0, or ENOMEM. */
static int
head_keep(const char *h, int n, char **b, size_t *len)
{
	if ((*b = malloc((size_t)n)) == NULL)
		return ENOMEM;
	memcpy(*b, h, (size_t)n);
	*len = (size_t)n;
	return 0;
}

static void
entry_free(struct www_entry *e)
{
	free(e->head200);
	free(e->head304);
}

/* Fill e (zeroed) for file f; 0, or ENOMEM. */
static int
entry_make(struct www_entry *e, const struct www_file *f)
{
	char h[512];
	int n;

	e->f = f;
	e->type = www_type(f->path);
	snprintf(e->etag, sizeof e->etag, "\"%016llx\"",
	    (unsigned long long)(fnv(f->block->bytes, f->size) ^ f->size));
	http_date(f->mtime, e->lastmod);
	n = snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nServer: ebbrt-httpd\r\n"
	    "Content-Type: %s\r\nContent-Length: %llu\r\nETag: %s\r\n"
	    "Last-Modified: %s\r\nAccept-Ranges: bytes\r\n", e->type,
	    (unsigned long long)f->size, e->etag, e->lastmod);
	if (head_keep(h, n, &e->head200, &e->head200_len) != 0)
		return ENOMEM;
	n = snprintf(h, sizeof h, "HTTP/1.1 304 Not Modified\r\nServer: ebbrt-httpd\r\n"
	    "ETag: %s\r\nLast-Modified: %s\r\n", e->etag, e->lastmod);
	if (head_keep(h, n, &e->head304, &e->head304_len) != 0) {
		entry_free(e);
		return ENOMEM;
	}
	return 0;
}

int
www_init(void)
{
	if (entries != NULL)
		return 0;
	struct www_entry *e = calloc(www_nfiles + 1, sizeof *e);
	if (e == NULL)
		return ENOMEM;
	for (uint64_t i = 0; i < www_nfiles; i++)
		if (entry_make(&e[i], &www_files[i]) != 0) {
			while (i-- > 0)
				entry_free(&e[i]);
			free(e);
			return ENOMEM;
		}
	entries = e;
	return 0;
}

const struct www_entry *
www_find(const char *path)
{
	size_t lo = 0, hi = www_nfiles;

	while (lo < hi) {		/* pack.sh sorted them (C locale) */
		size_t mid = (lo + hi) / 2;
		int c = strcmp(path, entries[mid].f->path);
		if (c == 0)
			return &entries[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
www_count(void)
{
	return (int)www_nfiles;
}

const struct www_entry *
www_entry(int i)
{
	return &entries[i];
}
