/*
 * kv_load.c: a load generator and checker for memcached's text protocol,
 * on Linux's sockets (none of our code in it): the load run of
 * boot_kvstore.sh and the client of bench_kvstore.sh, for our kvstore
 * and Debian's memcached alike.
 *
 *	kv_load [options] HOST PORT
 *	  -c CONNS	connections (1)
 *	  -p DEPTH	requests in flight on each connection: pipelining (1)
 *	  -n REQS	requests in all, then stop (10000)
 *	  -d SECS	stop after SECS seconds instead, whatever -n says
 *	  -r RATE	offered load, requests/s over all connections (0: closed
 *			loop, each connection keeps DEPTH in flight)
 *	  -v BYTES	value size (64)
 *	  -k KEYS	keys per connection (100)
 *	  -g PCT	GETs in every hundred requests (90), the rest SETs
 *	  -t SECS	give up (and fail) after SECS (120)
 *	  -w		first set every key once (checked, not counted), so
 *			that GETs hit
 *
 * Each connection owns KEYS keys of 32 bytes (a prefix unique to this
 * run, the connection and the key's number), and sends 90% GETs and 10%
 * SETs of them (-g), picked at random (a fixed seed per connection).  A
 * server answers one connection's requests in order, so the answer to
 * each is known when it is sent: "STORED" for a SET; for a GET the value
 * this connection last set for that key (the values differ with every
 * SET), or a miss before any.  Every reply is checked byte for byte; the
 * first wrong one is printed and its connection given up (its stream is
 * no longer known).
 *
 * With -r the requests are sent on a schedule (each connection RATE/CONNS
 * a second, at most DEPTH in flight); a request's latency runs from the
 * time it was due, not the time it went, so a server that falls behind
 * is charged for the wait.  Without -r a request's latency runs from its
 * write.  The last line says it all:
 *
 *	ok 20000 requests (18012 gets: 17020 hits, 992 misses; 1988 sets)
 *	0 errors in 2.01 s: 9950 req/s (offered 10000), latency us p50 210
 *	p99 1830 max 5120
 *
 * ("FAIL ..." when any reply was wrong, a connection failed, or time ran
 * out), and the exit status is 0 only if none did.
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

#define KEYLEN		32
#define DEPTH_MAX	256
#define VALUE_MAX	(1 << 20)
#define LINE_MAX	(KEYLEN + 64)	/* a request's or a reply's line */

/* A request in flight: what it was and when it was due. */
struct req {
	int set;		/* a SET, else a GET */
	int warm;		/* -w's, not counted */
	int key;
	unsigned ver;		/* a SET's version, or the version a GET must see (0: a miss) */
	uint64_t due;		/* ns */
};

struct conn {
	int fd, dead, connected;
	unsigned *ver;		/* each key's last version set, 0: none yet */
	struct req q[DEPTH_MAX];
	int head, nq;		/* the oldest in flight, how many */
	char *out;		/* bytes not written yet */
	size_t nout, outcap;
	char *in;		/* bytes not checked yet */
	size_t nin, incap;
	uint64_t rng;
	uint64_t next;		/* -r: when the next request is due */
	int warmed;		/* -w: keys set so far */
};

static struct sockaddr_in addr;
static int nconns = 1, depth = 1, keys = 100, vlen = 64, tmo = 120, warm, getpct = 90;
static uint64_t t_first;	/* the first counted request's send */
static long total = 10000, rate;
static double secs;
static unsigned prefix;
static struct conn *conns;
static long sent, answered, gets, hits, misses, sets, nerr, nconnerr;
static uint64_t *lat;
static long nlat, latcap;
static char *expect;		/* a reply to compare with */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *why)
{
	fprintf(stderr, "kv_load: %s\n", why);
	exit(2);
}

/* Room for more bytes in *buf (of *cap), holding n. */
static void
grow(char **buf, size_t *cap, size_t n, size_t more)
{
	if (n + more <= *cap)
		return;
	while (*cap < n + more)
		*cap = *cap ? *cap * 2 : 4096;
	if ((*buf = realloc(*buf, *cap)) == NULL)
		die("out of memory");
}

static uint64_t
rnd(struct conn *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

/* Key k of connection ci: 32 bytes. */
static void
key_of(char *p, int ci, int k)
{
	int n = snprintf(p, KEYLEN + 1, "kvl%08x.%05d.%06d.", prefix, ci, k);

	memset(p + n, 'k', KEYLEN - (size_t)n);
	p[KEYLEN] = '\0';
}

/* Version ver of key k of connection ci's value: vlen letters, its own. */
static void
value_of(char *p, int ci, int k, unsigned ver)
{
	unsigned s = (unsigned)ci * 7919u + (unsigned)k * 104729u + ver * 31u;

	for (int j = 0; j < vlen; j++)
		p[j] = (char)('a' + (s + (unsigned)j * (ver | 1)) % 26);
}

/* The reply r must get, into expect; its length. */
static size_t
reply_of(int ci, const struct req *r)
{
	char key[KEYLEN + 1];

	if (r->set) {
		memcpy(expect, "STORED\r\n", 8);
		return 8;
	}
	if (r->ver == 0) {
		memcpy(expect, "END\r\n", 5);
		return 5;
	}
	key_of(key, ci, r->key);
	size_t n = (size_t)sprintf(expect, "VALUE %s 0 %d\r\n", key, vlen);
	value_of(expect + n, ci, r->key, r->ver);
	n += (size_t)vlen;
	memcpy(expect + n, "\r\nEND\r\n", 7);
	return n + 7;
}

/* Queue one more request on connection ci, due at due. */
static void
request(int ci, uint64_t due)
{
	struct conn *c = &conns[ci];
	struct req *r = &c->q[(c->head + c->nq++) % DEPTH_MAX];
	char key[KEYLEN + 1];

	r->warm = c->warmed < keys && warm;
	r->set = r->warm || (int)(rnd(c) % 100) >= getpct;
	r->key = r->warm ? c->warmed++ : (int)(rnd(c) % (uint64_t)keys);
	r->due = due;
	key_of(key, ci, r->key);
	grow(&c->out, &c->outcap, c->nout, LINE_MAX + (size_t)vlen + 2);
	if (r->set) {
		r->ver = ++c->ver[r->key];
		c->nout += (size_t)sprintf(c->out + c->nout, "set %s 0 0 %d\r\n", key, vlen);
		value_of(c->out + c->nout, ci, r->key, r->ver);
		c->nout += (size_t)vlen;
		memcpy(c->out + c->nout, "\r\n", 2);
		c->nout += 2;
	} else {
		r->ver = c->ver[r->key];
		c->nout += (size_t)sprintf(c->out + c->nout, "get %s\r\n", key);
	}
	if (r->warm)
		return;
	if (sent++ == 0)
		t_first = now_ns();
}

/* Connection ci has failed: count it and stop using it. */
static void
give_up(int ci, const char *why)
{
	struct conn *c = &conns[ci];

	if (c->dead)
		return;
	if (nconnerr < 3)	/* the first few say enough */
		fprintf(stderr, "kv_load: connection %d: %s\n", ci, why);
	c->dead = 1;
	nconnerr++;
	close(c->fd);
}

/* Check every whole reply that has come on connection ci. */
static void
check(int ci)
{
	struct conn *c = &conns[ci];
	size_t used = 0;

	while (c->nq > 0) {
		struct req *r = &c->q[c->head];
		size_t n = reply_of(ci, r);
		size_t have = c->nin - used;
		/* A miss ("END") is shorter than a hit: compare as far as there are bytes. */
		if (memcmp(c->in + used, expect, have < n ? have : n) != 0) {
			nerr++;
			fprintf(stderr, "kv_load: connection %d: a wrong reply to a %s: got \"%.*s\"\n",
			    ci, r->set ? "set" : "get", (int)(have < n ? have : n), c->in + used);
			give_up(ci, "its replies are no longer known");
			return;
		}
		if (have < n)
			break;
		used += n;
		c->head = (c->head + 1) % DEPTH_MAX;
		c->nq--;
		if (r->warm)
			continue;
		if (nlat == latcap) {
			latcap = latcap ? latcap * 2 : 65536;
			if ((lat = realloc(lat, (size_t)latcap * sizeof *lat)) == NULL)
				die("out of memory");
		}
		lat[nlat++] = (now_ns() - r->due) / 1000;
		answered++;
		if (r->set)
			sets++;
		else if (r->ver == 0)
			gets++, misses++;
		else
			gets++, hits++;
	}
	if (c->nq == 0 && c->nin > used) {	/* nothing was asked for */
		nerr++;
		give_up(ci, "bytes after the last reply");
		return;
	}
	memmove(c->in, c->in + used, c->nin - used);
	c->nin -= used;
}

/* Write what waits on connection ci. */
static void
flush_out(int ci)
{
	struct conn *c = &conns[ci];

	while (c->nout > 0) {
		ssize_t n = write(c->fd, c->out, c->nout);
		if (n < 0) {
			if (errno != EAGAIN)
				give_up(ci, strerror(errno));
			return;
		}
		memmove(c->out, c->out + n, c->nout - (size_t)n);
		c->nout -= (size_t)n;
	}
}

/* Read on connection ci and check. */
static void
input(int ci)
{
	struct conn *c = &conns[ci];

	for (;;) {
		grow(&c->in, &c->incap, c->nin, 65536);
		ssize_t n = read(c->fd, c->in + c->nin, c->incap - c->nin);
		if (n == 0) {
			give_up(ci, "the server closed the connection");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN)
				give_up(ci, strerror(errno));
			return;
		}
		c->nin += (size_t)n;
		check(ci);
		if (c->dead)
			return;
	}
}

/* Send what is due on every live connection, within the depth and the count. */
static void
feed(uint64_t now, uint64_t stop_at)
{
	for (int ci = 0; ci < nconns; ci++) {
		struct conn *c = &conns[ci];
		if (c->dead || !c->connected)
			continue;
		while (c->nq < depth && sent < total && now < stop_at) {
			if (warm && c->warmed < keys) {
				request(ci, now);
				c->next = now;	/* -r: the schedule starts after the warming */
			} else if (rate == 0) {
				request(ci, now);
			} else {
				if (c->next > now)
					break;
				request(ci, c->next);
				c->next += (uint64_t)nconns * 1000000000u / (uint64_t)rate;
			}
		}
		flush_out(ci);
	}
}

static int
cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "usage: kv_load [-c conns] [-p depth] [-n reqs] [-d secs] [-r rate] "
	    "[-v bytes] [-k keys] [-g get%%] [-t secs] [-w] host port\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct epoll_event ev, evs[256];
	struct rlimit rl;
	int opt, ep;

	while ((opt = getopt(argc, argv, "c:p:n:d:r:v:k:g:t:w")) != -1) {
		switch (opt) {
		case 'c': nconns = atoi(optarg); break;
		case 'p': depth = atoi(optarg); break;
		case 'n': total = atol(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'r': rate = atol(optarg); break;
		case 'v': vlen = atoi(optarg); break;
		case 'k': keys = atoi(optarg); break;
		case 'g': getpct = atoi(optarg); break;
		case 't': tmo = atoi(optarg); break;
		case 'w': warm = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || nconns < 1 || nconns > 10000 || depth < 1 ||
	    depth > DEPTH_MAX || total < 1 || secs < 0 || rate < 0 || vlen < 1 ||
	    vlen > VALUE_MAX || keys < 1 || tmo < 1 || getpct < 0 || getpct > 100)
		usage();
	if (secs > 0)
		total = 1L << 60;	/* the clock bounds the run */
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &addr.sin_addr) != 1)
		usage();
	prefix = (unsigned)getpid() * 2654435761u ^ (unsigned)now_ns();
	if ((expect = malloc(LINE_MAX + (size_t)vlen + 16)) == NULL ||
	    (conns = calloc((size_t)nconns, sizeof *conns)) == NULL)
		die("out of memory");
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((ep = epoll_create1(0)) < 0)
		die("epoll_create1");

	uint64_t t0 = now_ns(), give_up_at = t0 + (uint64_t)tmo * 1000000000u;
	for (int ci = 0; ci < nconns; ci++) {
		struct conn *c = &conns[ci];
		int one = 1;
		c->rng = 0x9e3779b97f4a7c15ull + (uint64_t)ci * 0x2545f4914f6cdd1dull;
		if ((c->ver = calloc((size_t)keys, sizeof *c->ver)) == NULL)
			die("out of memory");
		if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
			die("socket");
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
			give_up(ci, strerror(errno));
			continue;
		}
		ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
		ev.data.u32 = (uint32_t)ci;
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	}

	int timed_out = 0;
	for (;;) {
		uint64_t now = now_ns();
		uint64_t stop_at = secs > 0 && t_first ? t_first + (uint64_t)(secs * 1e9) : UINT64_MAX;
		int live = 0, busy = 0;
		feed(now, stop_at);
		for (int ci = 0; ci < nconns; ci++) {
			live += !conns[ci].dead;
			busy += !conns[ci].dead && (conns[ci].nq > 0 || !conns[ci].connected);
		}
		if (live == 0 || (busy == 0 && (sent >= total || now >= stop_at)))
			break;
		if (now >= give_up_at) {
			timed_out = 1;
			break;
		}
		/* Wait for a reply, or (-r) until the next request is due, to the microsecond. */
		uint64_t wake = now + 100000000u;
		for (int ci = 0; rate > 0 && ci < nconns; ci++)
			if (!conns[ci].dead && conns[ci].connected && conns[ci].nq < depth &&
			    conns[ci].next < wake)
				wake = conns[ci].next;
		struct timespec ts = { 0, wake > now ? (long)(wake - now) : 0 };
		int n = epoll_pwait2(ep, evs, 256, &ts, NULL);
		for (int i = 0; i < n; i++) {
			int ci = (int)evs[i].data.u32;
			struct conn *c = &conns[ci];
			if (c->dead)
				continue;
			if (!c->connected && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
				int err = 0;
				socklen_t len = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err != 0) {
					give_up(ci, strerror(err));
					continue;
				}
				c->connected = 1;
				c->next = now_ns();	/* -r: its schedule starts once connected */
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				input(ci);
			if (!c->dead && (evs[i].events & EPOLLOUT))
				flush_out(ci);
		}
	}
	double el = (double)(now_ns() - (t_first ? t_first : t0)) / 1e9;

	qsort(lat, (size_t)nlat, sizeof *lat, cmp64);
#define PCT(p) (nlat ? lat[(long)((double)(nlat - 1) * (p))] : 0)
	int fail = nerr > 0 || nconnerr > 0 || timed_out;
	printf("%s %ld requests (%ld gets: %ld hits, %ld misses; %ld sets) %ld errors%s in %.2f s: "
	    "%.0f req/s", fail ? "FAIL" : "ok", answered, gets, hits, misses, sets, nerr + nconnerr,
	    timed_out ? " (timed out)" : "", el, (double)answered / el);
	if (rate > 0)
		printf(" (offered %ld)", rate);
	printf(", latency us p50 %llu p99 %llu max %llu\n", (unsigned long long)PCT(0.50),
	    (unsigned long long)PCT(0.99), (unsigned long long)(nlat ? lat[nlat - 1] : 0));
	return fail;
}
