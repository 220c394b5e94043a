/*
 * slowloris.c: thousands of slow clients against an HTTP server while
 * ordinary clients keep asking; on Linux's sockets (none of our code in
 * it): the client of boot_httpd.sh's slowloris test at scale.
 *
 *	slowloris [options] HOST PORT PATH
 *	  -c SLOW	slow connections (2000)
 *	  -q EVERY	one in EVERY of them sends nothing at all (4)
 *	  -e MS		the others send a byte every MS ms (1000)
 *	  -n REQS	ordinary requests meanwhile (100; with -b, 0)
 *	  -b BOUND	the server holds at most BOUND connections: the rest
 *			must be refused with 503 (none)
 *	  -f FILE	every ordinary answer's body must equal FILE's bytes
 *	  -H SECS	the server's header timeout (10)
 *	  -I SECS	the server's idle timeout (15)
 *	  -t SECS	give up (and fail) after SECS (120)
 *
 * Three phases, all in one epoll loop:
 *
 *   1. connect: SLOW connections, INFLIGHT at a time; each must
 *      connect.
 *   2. hold: the trickling ones begin a request whose line (a long
 *      query) could not end in time at a byte each MS ms, all at the
 *      same moment; the silent ones send nothing.  At once, REQS
 *      ordinary requests, one after another, each on a new connection:
 *      GET PATH, whose answer must be 200 with Content-Length and that
 *      many body bytes (FILE's, with -f), whole within the header
 *      timeout of its connect: had the slow clients stopped service,
 *      the answer would wait for them to be cut off.
 *   3. cut: the server must end every slow connection: a trickling one
 *      with "HTTP/1.1 408" and its close, no sooner than the header
 *      timeout after its first byte; a silent one by its close with no
 *      byte, no sooner than the idle timeout after its connect.
 *
 * With -b, at least SLOW - BOUND of them, any kind, must instead be
 * refused at once with "HTTP/1.1 503" and the close (more if others
 * hold some of the server's connections); phase 2 waits for those
 * answers (up to half the header timeout) before the first trickled
 * byte, which would otherwise reach a closed connection and reset the
 * 503 away.  No ordinary requests then: while the slow ones fill the
 * bound, the server refuses everyone.
 *
 * The checks are on what happened, not how fast, beyond the timeouts
 * themselves: a loaded host only makes everything later.  The last
 * lines say what was seen; the first word is "ok" or "FAIL", and the
 * exit status is 0 only if all is ok:
 *
 *	slow 2500 connected: 1875 of 1875 trickling cut with 408 after 5.0..5.2 s,
 *	625 of 625 silent closed after 10.0..10.0 s, 0 wrong, 0 still open
 *	ordinary 100 requests 0 errors, latency ms max 38.7
 *	ok
 *
 * (the first two lines are one), and with -b a line "held N, refused
 * with 503 M (over the bound: at least K)".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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

#define MS	1000000ULL		/* ns in a ms */
#define BUF	(256 * 1024)		/* an ordinary answer, at most */
#define INFLIGHT 64			/* connects at once: under the server's SYN
					 * backlog, so that no handshake rests on a
					 * SYN cookie, whose lost last ACK would leave
					 * a silent client connected to nothing */

enum kind { TRICKLE, SILENT, ORDINARY };

struct conn {
	enum kind kind;
	int fd;
	int connected;
	uint64_t t0;		/* slow: first byte (or connect); ordinary: connect */
	size_t sent;		/* trickle: request bytes sent */
	size_t have;		/* bytes read */
	char buf[16];		/* slow: the first bytes of an answer */
};

static struct sockaddr_in addr;
static char slowreq[1024];	/* never finished in time */
static char req[512];
static size_t reqlen;
static char *want, *ans;	/* -f's bytes; the ordinary answer read */
static long wantlen = -1;
static int nslow = 2000, quiet_every = 4, every_ms = 1000, nreq = 100, bound;
static int hdr_s = 10, idle_s = 15, tmo = 120;
static int ep, nconnected, nopen;
static long ndone, nerr, ncut, nclosed, nrefused, nwrong;
static uint64_t cut_min = UINT64_MAX, cut_max, closed_min = UINT64_MAX, closed_max, lat_max;

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* Open c's connection, non-blocking; 0, or -1. */
static int
conn_open(struct conn *c, enum kind k)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c };
	int one = 1;

	memset(c, 0, sizeof *c);
	c->kind = k;
	c->t0 = now_ns();
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
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

/* Note v in [*lo, *hi]. */
static void
span(uint64_t v, uint64_t *lo, uint64_t *hi)
{
	if (v < *lo)
		*lo = v;
	if (v > *hi)
		*hi = v;
}

/* The server ended slow connection c (EOF or reset): was that right? */
static void
slow_ended(struct conn *c, int reset)
{
	uint64_t t = now_ns() - c->t0;

	/* (A reset after the 408 is its close lost to a trickled byte.) */
	if (bound > 0 && !reset && strncmp(c->buf, "HTTP/1.1 503 ", 13) == 0)
		nrefused++;
	else if (c->kind == TRICKLE && strncmp(c->buf, "HTTP/1.1 408 ", 13) == 0 &&
	    t >= (uint64_t)hdr_s * 900 * MS) {
		ncut++;
		span(t, &cut_min, &cut_max);
	} else if (c->kind == SILENT && !reset && c->have == 0 &&
	    t >= (uint64_t)idle_s * 900 * MS) {
		nclosed++;
		span(t, &closed_min, &closed_max);
	} else {
		nwrong++;
		fprintf(stderr, "slowloris: a %s connection ended after %.1f s (%s, %zu bytes: %.12s)\n",
		    c->kind == TRICKLE ? "trickling" : "silent", (double)t / 1e9,
		    reset ? "reset" : "closed", c->have, c->buf);
	}
	conn_end(c);
	nopen--;
}

/* Bytes or the end on slow connection c. */
static void
slow_read(struct conn *c)
{
	char b[4096];
	ssize_t n;

	while ((n = read(c->fd, b, sizeof b)) > 0) {
		size_t k = (size_t)n < sizeof c->buf - 1 - c->have ? (size_t)n :
		    sizeof c->buf - 1 - c->have;
		memcpy(c->buf + c->have, b, k);
		c->have += k;
	}
	if (n == 0 || errno != EAGAIN)
		slow_ended(c, n < 0);
}

/* Is ans (have bytes) a whole answer?  1 (checked into *ok), 0 not yet. */
static int
answer(size_t have, int *ok)
{
	char *end = memmem(ans, have, "\r\n\r\n", 4), *cl;
	long len;

	if (end == NULL)
		return have >= BUF ? (*ok = 0, 1) : 0;
	*end = '\0';
	cl = strcasestr(ans, "\r\nContent-Length:");
	len = cl != NULL ? atol(cl + 17) : -1;
	*end = '\r';
	size_t head = (size_t)(end + 4 - ans);
	if (len < 0 || (size_t)len > BUF - head) {
		*ok = 0;
		return 1;
	}
	if (have < head + (size_t)len)
		return 0;
	*ok = strncmp(ans, "HTTP/1.1 200 ", 13) == 0 && have == head + (size_t)len &&
	    (wantlen < 0 || (len == wantlen && memcmp(ans + head, want, (size_t)len) == 0));
	return 1;
}

/* The ordinary request's connection is done (ok or not); the next one. */
static void
ordinary_next(struct conn *c, int ok)
{
	uint64_t t = now_ns() - c->t0;

	if (!ok || t >= (uint64_t)hdr_s * 1000 * MS)
		nerr++;
	if (t > lat_max)
		lat_max = t;
	conn_end(c);
	if (++ndone < nreq && conn_open(c, ORDINARY) < 0) {
		nerr++;
		ndone = nreq;
	}
}

/* Something happened on ordinary connection c. */
static void
ordinary_event(struct conn *c)
{
	ssize_t n;
	int ok;

	if (!c->connected) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		c->connected = 1;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		if (send(c->fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen)
			ordinary_next(c, 0);
		return;
	}
	while ((n = read(c->fd, ans + c->have, BUF - c->have)) > 0) {
		c->have += (size_t)n;
		if (answer(c->have, &ok)) {
			ordinary_next(c, ok);
			return;
		}
	}
	if (n == 0 || errno != EAGAIN)
		ordinary_next(c, 0);	/* closed or reset before the whole answer */
}

/* A slow connection's connect finished (or failed). */
static void
slow_connected(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
	int err = 0;
	socklen_t l = sizeof err;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err != 0) {
		fprintf(stderr, "slowloris: connect: %s\n", strerror(err));
		nwrong++;
		conn_end(c);
		return;
	}
	c->connected = 1;
	c->t0 = now_ns();
	nconnected++;
	nopen++;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Each open trickling connection sends its next byte. */
static void
trickle(struct conn *cs)
{
	for (int i = 0; i < nslow; i++) {
		struct conn *c = &cs[i];
		if (c->fd < 0 || c->kind != TRICKLE || slowreq[c->sent] == '\0')
			continue;
		if (c->sent == 0)
			c->t0 = now_ns();	/* the header timeout runs from here */
		if (send(c->fd, &slowreq[c->sent], 1, MSG_NOSIGNAL) == 1)
			c->sent++;
		/* A failed write: the server's end is gone; the read says how. */
	}
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
	struct epoll_event evs[256];
	struct rlimit rl;
	struct conn *cs, ord;
	int opt, holding = 0;

	while ((opt = getopt(argc, argv, "c:q:e:n:b:f:H:I:t:")) != -1) {
		switch (opt) {
		case 'c': nslow = atoi(optarg); break;
		case 'q': quiet_every = atoi(optarg); break;
		case 'e': every_ms = atoi(optarg); break;
		case 'n': nreq = atoi(optarg); break;
		case 'b': bound = atoi(optarg); break;
		case 'f': load_file(optarg); break;
		case 'H': hdr_s = atoi(optarg); break;
		case 'I': idle_s = atoi(optarg); break;
		case 't': tmo = atoi(optarg); break;
		default: return 2;
		}
	}
	if (bound > 0)
		nreq = 0;
	if (argc - optind != 3 || nslow < 1 || quiet_every < 1 || every_ms < 1 || nreq < 0 ||
	    bound < 0 || bound >= nslow) {
		fprintf(stderr, "usage: slowloris [-c SLOW] [-q EVERY] [-e MS] [-n REQS] [-b BOUND]"
		    " [-f FILE] [-H SECS] [-I SECS] [-t SECS] HOST PORT PATH\n");
		return 2;
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &addr.sin_addr) != 1)
		return 2;
	reqlen = (size_t)snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
	    argv[optind + 2], argv[optind]);
	int n = snprintf(slowreq, sizeof slowreq, "GET %s?", argv[optind + 2]);
	memset(slowreq + n, 'a', sizeof slowreq - 1 - (size_t)n);	/* the line never ends */
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((rlim_t)nslow + 16 > rl.rlim_cur) {
		fprintf(stderr, "slowloris: %d connections need more files than ulimit -n %llu\n",
		    nslow, (unsigned long long)rl.rlim_cur);
		return 2;
	}
	ep = epoll_create1(0);
	ans = malloc(BUF);
	cs = calloc((size_t)nslow, sizeof *cs);
	ord.fd = -1;
	uint64_t t0 = now_ns(), give_up = t0 + (uint64_t)tmo * 1000 * MS, tick = 0, grace = 0;
	int opened = 0, tried = 0;	/* connects begun; finished, well or not */
	while (now_ns() < give_up && (tried < nslow || nopen > 0 || ndone < nreq)) {
		uint64_t t = now_ns();
		for (; opened < nslow && opened - tried < INFLIGHT; opened++)
			if (conn_open(&cs[opened], (opened + 1) % quiet_every == 0 ? SILENT : TRICKLE) < 0) {
				perror("slowloris: socket");
				return 1;
			}
		if (tried == nslow && grace == 0)
			grace = t + (uint64_t)hdr_s * 500 * MS;	/* -b: the 503s' time */
		if (!holding && tried == nslow && (bound == 0 || nrefused >= nslow - bound ||
		    t >= grace)) {
			holding = 1;		/* phase 2: first bytes, and ordinary requests */
			tick = t;
			if (nreq > 0 && conn_open(&ord, ORDINARY) < 0)
				nerr++, ndone = nreq;
		}
		if (holding && t >= tick) {
			trickle(cs);
			tick = t + (uint64_t)every_ms * MS;
		}
		int k = epoll_wait(ep, evs, 256, holding ? 50 : 100);
		for (int i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->kind == ORDINARY)
				ordinary_event(c);
			else if (!c->connected) {
				tried++;
				slow_connected(c);
			} else
				slow_read(c);
		}
	}
	int fail = nconnected != nslow || nwrong > 0 || nopen > 0 || nerr > 0 || ndone < nreq ||
	    (bound > 0 ? nrefused < nslow - bound : nrefused != 0);
	int ntr = nslow - nslow / quiet_every;
	printf("slow %d connected: %ld of %d trickling cut with 408 after %.1f..%.1f s, "
	    "%ld of %d silent closed after %.1f..%.1f s, %ld wrong, %d still open\n",
	    nconnected, ncut, ntr, ncut ? (double)cut_min / 1e9 : 0, (double)cut_max / 1e9,
	    nclosed, nslow - ntr, nclosed ? (double)closed_min / 1e9 : 0,
	    (double)closed_max / 1e9, nwrong, nopen);
	if (bound > 0)
		printf("held %ld, refused with 503 %ld (over the bound: at least %d)\n",
		    ncut + nclosed, nrefused, nslow - bound);
	printf("ordinary %ld requests %ld errors, latency ms max %.1f\n", ndone, nerr,
	    (double)lat_max / 1e6);
	printf("%s\n", fail ? "FAIL" : "ok");
	return fail;
}
