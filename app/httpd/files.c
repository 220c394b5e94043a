/*
 * files.c: the files packed into the image (pack.sh), ready to serve.
 * Portable.
 *
 * pack.sh lays every file of WWW= out as a never-freed iobuf block and
 * lists them in www_files, sorted by path.  www_init, once at start,
 * works out what each response about a file repeats: its Content-Type
 * (by extension), its ETag (a hash of the bytes and the size, so a
 * rebuilt file gets a new one), its Last-Modified date, and the block
 * of a 200 answer's fixed headers, built here once:
 *
 *	HTTP/1.1 200 OK
 *	Server: ebbrt-httpd
 *	Content-Type: text/html; charset=utf-8
 *	Content-Length: 612
 *	ETag: "3f2a..."
 *	Last-Modified: Sun, 01 Jun 2025 12:00:00 GMT
 *	Accept-Ranges: bytes
 *
 * serve.c copies that block and adds Date and Connection.  The entries
 * are read-only after www_init, so every core reads them without locks.
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

/* Fill e for file f; 0, or ENOMEM. */
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
	if ((e->head200 = malloc((size_t)n)) == NULL)
		return ENOMEM;
	memcpy(e->head200, h, (size_t)n);
	e->head200_len = (size_t)n;
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
				free(e[i].head200);
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
