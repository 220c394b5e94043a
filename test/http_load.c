/*
 * http_load.c: a small HTTP/1.1 load generator and checker, on Linux's
 * sockets (none of our code in it): the client of boot_httpd.sh's
 * concurrency test and of the httpd benchmark.
 *
 *	http_load [options] HOST PORT PATH
 *	  -c CONNS	connections at once (1)
 *	  -n REQS	requests per connection, keep-alive (1); with -d, 0 is unbounded
 *	  -d SECS	run for SECS seconds instead, then report
 *	  -f FILE	every body must equal FILE's bytes (else its length only)
 *	  -t SECS	give up (and fail) after SECS (120)
 *
 * All connections open at once (non-blocking connects, epoll), each
 * sends one request at a time and reads the answer whole: the status
 * line must say 200, Content-Length must be there, and the body must
 * have that many bytes (and equal FILE's, with -f).  When a
 * connection has done its requests it closes and, with -d, a new one
 * takes its place.  The last line says it all:
 *
 *	ok 1000 requests 0 errors 0 connect_errors in 2.31 s: 433 req/s,
 *	latency us p50 1530 p90 2210 p99 4020 max 9011
 *
 * ("FAIL ..." instead of "ok" when any request failed), and the exit
 * status is 0 only if none did.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF	(256 * 1024)

struct conn {
	int fd;
	int done;		/* requests finished on this connection */
	int connected;
	size_t have;		/* bytes in buf */
	uint64_t t0;		/* the request's send time */
	char *buf;
};

static struct sockaddr_in addr;
static char req[512];
static size_t reqlen;
static char *want;		/* -f: the body every answer must carry */
static long wantlen = -1;
static int per_conn = 1, secs, nconns = 1, tmo = 120;
static long nreq, nerr, nconnerr, nlat, latcap;
static uint64_t *lat;
static int ep;

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* Open c's connection (non-blocking); 0, or -1. */
static int
conn_open(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->done = 0;
	c->connected = 0;
	c->have = 0;
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		return -1;
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void
conn_end(struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* Send the request (it fits any socket buffer); 0, or -1. */
static int
send_req(struct conn *c)
{
	c->t0 = now_ns();
	c->have = 0;
	return write(c->fd, req, reqlen) == (ssize_t)reqlen ? 0 : -1;
}

/* Is buf a whole answer?  1 (checked into *ok), 0 not yet. */
static int
answer(struct conn *c, int *ok)
{
	char *end = memmem(c->buf, c->have, "\r\n\r\n", 4), *cl;
	long len;

	if (end == NULL)
		return c->have >= BUF ? (*ok = 0, 1) : 0;
	*end = '\0';
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	len = cl != NULL ? atol(cl + 17) : -1;
	*end = '\r';
	if (len < 0 || (size_t)len > BUF - 1024) {
		*ok = 0;
		return 1;
	}
	size_t head = (size_t)(end + 4 - c->buf);
	if (c->have < head + (size_t)len)
		return 0;
	*ok = strncmp(c->buf, "HTTP/1.1 200 ", 13) == 0 && c->have == head + (size_t)len &&
	    (wantlen < 0 || (len == wantlen && memcmp(c->buf + head, want, (size_t)len) == 0));
	return 1;
}

/* Something happened on c. */
static void
conn_event(struct conn *c, uint64_t stop)
{
	int ok;

	if (!c->connected) {
		int err = 0;
		socklen_t l = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err != 0) {
			nconnerr++;
			conn_end(c);
			return;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->connected = 1;
		if (send_req(c) < 0) {
			nerr++;
			conn_end(c);
		}
		return;
	}
	ssize_t n = read(c->fd, c->buf + c->have, BUF - c->have);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		nerr++;			/* closed or reset mid-answer */
		conn_end(c);
		return;
	}
	c->have += (size_t)n;
	if (!answer(c, &ok))
		return;
	nreq++;
	if (!ok)
		nerr++;
	if (nlat < latcap)
		lat[nlat++] = now_ns() - c->t0;
	c->done++;
	if (!ok || (secs == 0 && c->done >= per_conn) || (secs > 0 && now_ns() >= stop)) {
		conn_end(c);
		return;
	}
	if (secs > 0 && per_conn > 0 && c->done >= per_conn) {
		conn_end(c);		/* a fresh connection takes its place */
		if (conn_open(c) < 0)
			nconnerr++;
		return;
	}
	if (send_req(c) < 0) {
		nerr++;
		conn_end(c);
	}
}

static int
cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
load_file(const char *path)
{
	FILE *f = fopen(path, "rb");

	if (f == NULL || (want = malloc(BUF)) == NULL) {
		perror(path);
		exit(2);
	}
	wantlen = (long)fread(want, 1, BUF, f);
	fclose(f);
}

int
main(int argc, char **argv)
{
	struct rlimit rl;
	int opt, live;

	while ((opt = getopt(argc, argv, "c:n:d:f:t:")) != -1) {
		switch (opt) {
		case 'c': nconns = atoi(optarg); break;
		case 'n': per_conn = atoi(optarg); break;
		case 'd': secs = atoi(optarg); break;
		case 'f': load_file(optarg); break;
		case 't': tmo = atoi(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 3 || nconns < 1) {
		fprintf(stderr, "usage: http_load [-c CONNS] [-n REQS] [-d SECS] [-f FILE] [-t SECS] HOST PORT PATH\n");
		return 2;
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &addr.sin_addr) != 1)
		return 2;
	reqlen = (size_t)snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
	    argv[optind + 2], argv[optind]);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	latcap = 4000000;
	lat = malloc(latcap * sizeof *lat);
	ep = epoll_create1(0);
	struct conn *cs = calloc((size_t)nconns, sizeof *cs);
	for (int i = 0; i < nconns; i++) {
		cs[i].buf = malloc(BUF);
		if (conn_open(&cs[i]) < 0) {
			nconnerr++;
			cs[i].fd = -1;
		}
	}
	uint64_t t0 = now_ns(), stop = t0 + (uint64_t)secs * 1000000000ULL;
	uint64_t give_up = t0 + (uint64_t)tmo * 1000000000ULL;
	struct epoll_event evs[256];
	do {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++)
			conn_event(evs[i].data.ptr, stop);
		live = 0;
		for (int i = 0; i < nconns; i++)
			live += cs[i].fd >= 0;
	} while (live > 0 && now_ns() < give_up);
	double s = (double)(now_ns() - t0) / 1e9;
	qsort(lat, (size_t)nlat, sizeof *lat, cmp64);
#define PCT(p) (nlat ? lat[(size_t)((nlat - 1) * (p))] / 1000 : 0)
	int fail = nerr > 0 || nconnerr > 0 || live > 0 ||
	    (secs == 0 && nreq != (long)nconns * per_conn);
	printf("%s %ld requests %ld errors %ld connect_errors%s in %.2f s: %.0f req/s, "
	    "latency us p50 %llu p90 %llu p99 %llu max %llu\n", fail ? "FAIL" : "ok", nreq, nerr,
	    nconnerr, live > 0 ? " (timed out)" : "", s, nreq / s, (unsigned long long)PCT(0.5),
	    (unsigned long long)PCT(0.9), (unsigned long long)PCT(0.99),
	    (unsigned long long)PCT(1.0));
	return fail;
}
