/*
 * tcp_peer.c: the Linux end of the TCP tests and benchmarks
 * (test/boot_tcp.sh, test/bench_tcp.sh).  An ordinary Linux program on
 * the kernel's sockets; it links nothing of ours.
 *
 *	tcp_peer echo HOST PORT BYTES [CONNS]	CONNS connections at once (1),
 *		each sends BYTES of its own pattern, half-closes, and must
 *		get exactly those bytes back, then the server's FIN
 *	tcp_peer sink HOST PORT BYTES		send BYTES (to a discard port):
 *		the sending rate
 *	tcp_peer drain HOST PORT BYTES		read BYTES (from a source port),
 *		then close: the receiving rate
 *	tcp_peer rr HOST PORT COUNT		COUNT 64-byte requests, one in
 *		flight, each echoed whole before the next: round-trip times
 *	tcp_peer cps HOST PORT SECONDS		connect, 64 bytes there and
 *		back, close, one connection after another: connections/s
 *	tcp_peer load HOST PORT SECONDS CONNS	CONNS connections at once,
 *		each doing 64-byte round trips back to back (one in flight)
 *		for SECONDS, every response checked; then every request
 *		still out must be answered: a server that stops answering
 *		fails it (it wedged), a slow one only takes longer
 *	tcp_peer hold HOST PORT CONNS [INFLIGHT]	open CONNS connections
 *		as fast as the server takes them (at most INFLIGHT
 *		handshakes in flight, 50), hold them all open, then one
 *		64-byte round trip on every one, then close them all
 *	tcp_peer serve ADDR BASE		Linux's own servers, for the app
 *		to connect to and for comparison: echo on BASE+7, discard on
 *		BASE+9, source on BASE+19; runs until killed
 *
 * Every client mode prints one line of figures and exits 0, or prints
 * what went wrong and exits 1 (a refused connection, bytes that differ,
 * a short stream).  The pattern of connection k is a xorshift64 stream
 * seeded with k + 1, so connections cannot pass each other's bytes off
 * as their own.  Everything is single-threaded with poll(2), except
 * serve (a thread per connection).
 *
 * Files: this one (the shared helpers, echo, the rates, serve, main),
 * tcp_peer_load.c (load and hold, the modes that play a crowd of
 * clients), tcp_peer.h between them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp_peer.h"

struct sockaddr_in peer;

/* Print what failed (with errno's text if e) and exit 1. */
void
die(const char *what, int e)
{
	if (e)
		fprintf(stderr, "tcp_peer: %s: %s\n", what, strerror(e));
	else
		fprintf(stderr, "tcp_peer: %s\n", what);
	exit(1);
}

/* Monotonic time in seconds. */
double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fill n bytes at p with the pattern of stream *x (which advances). */
void
pattern(uint64_t *x, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		p[i] = (uint8_t)*x;
	}
}

/* A connected socket to peer (blocking), Nagle off; exits on failure. */
int
dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket", errno);
	if (connect(fd, (struct sockaddr *)&peer, sizeof peer) != 0)
		die("connect", errno);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Read exactly n bytes into p; 0, or -1 on EOF or error. */
int
read_full(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n; ) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* ---- echo: many connections, every byte checked ------------------------- */

struct conn {
	int fd;
	uint64_t tx_x, rx_x;	/* the pattern streams, for sending and checking */
	uint64_t sent, got;
	int closed;		/* the server's FIN arrived */
};

/* Send what fits of connection c's remaining bytes. */
static void
echo_send(struct conn *c, uint64_t bytes)
{
	static uint8_t buf[CHUNK];
	size_t n = bytes - c->sent < CHUNK ? (size_t)(bytes - c->sent) : CHUNK;
	uint64_t x = c->tx_x;
	ssize_t w;

	pattern(&x, buf, n);
	w = send(c->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (w < 0)
		die("send", errno);
	/* Advance the stream by exactly the bytes taken. */
	pattern(&c->tx_x, buf, (size_t)w);
	c->sent += (uint64_t)w;
	if (c->sent == bytes && shutdown(c->fd, SHUT_WR) != 0)
		die("shutdown", errno);
}

/* Read what has come back on c and check it; 1 if c is finished. */
static int
echo_recv(struct conn *c, uint64_t bytes, int k)
{
	static uint8_t buf[CHUNK], want[CHUNK];
	ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r < 0)
		die("recv", errno);
	if (r == 0) {
		if (c->got != bytes) {
			fprintf(stderr, "tcp_peer: connection %d: closed after %llu of %llu bytes\n",
			    k, (unsigned long long)c->got, (unsigned long long)bytes);
			exit(1);
		}
		return 1;
	}
	if (c->got + (uint64_t)r > bytes) {
		fprintf(stderr, "tcp_peer: connection %d: more than the %llu bytes sent came back\n",
		    k, (unsigned long long)bytes);
		exit(1);
	}
	pattern(&c->rx_x, want, (size_t)r);
	for (ssize_t i = 0; i < r; i++)
		if (buf[i] != want[i]) {
			fprintf(stderr, "tcp_peer: connection %d: byte %llu differs\n",
			    k, (unsigned long long)(c->got + (uint64_t)i));
			exit(1);
		}
	c->got += (uint64_t)r;
	return 0;
}

/* echo: nconn connections at once, each sending, half-closing and checking the echo. */
static int
do_echo(uint64_t bytes, int nconn)
{
	static struct conn cs[MAXCONN];
	static struct pollfd pf[MAXCONN];
	int left = nconn;
	double t0 = now();

	for (int k = 0; k < nconn; k++) {
		cs[k].fd = dial();
		cs[k].tx_x = cs[k].rx_x = (uint64_t)k + 1;
		if (bytes == 0 && shutdown(cs[k].fd, SHUT_WR) != 0)
			die("shutdown", errno);
	}
	while (left > 0) {
		for (int k = 0; k < nconn; k++) {
			pf[k].fd = cs[k].closed ? -1 : cs[k].fd;
			pf[k].events = POLLIN | (cs[k].sent < bytes ? POLLOUT : 0);
		}
		if (poll(pf, (nfds_t)nconn, 30000) <= 0)
			die("echo: nothing happened for 30 s", 0);
		for (int k = 0; k < nconn; k++) {
			if (pf[k].revents & POLLOUT)
				echo_send(&cs[k], bytes);
			if ((pf[k].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    echo_recv(&cs[k], bytes, k)) {
				cs[k].closed = 1;
				close(cs[k].fd);
				left--;
			}
		}
	}
	double s = now() - t0;
	printf("echo: %d connection%s, %llu bytes each, echoed intact in %.2f s (%.1f MB/s each way)\n",
	    nconn, nconn == 1 ? "" : "s", (unsigned long long)bytes, s,
	    (double)bytes * nconn / s / 1e6);
	return 0;
}

/* ---- throughput, latency, connection rate -------------------------------- */

/* sink: send bytes, half-close, wait for the server's FIN. */
static int
do_sink(uint64_t bytes)
{
	static uint8_t buf[CHUNK];
	int fd = dial();
	double t0 = now();

	memset(buf, 'd', sizeof buf);
	for (uint64_t sent = 0; sent < bytes; ) {
		size_t n = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			die("sink: send", errno);
		sent += (uint64_t)w;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof buf) > 0)	/* the server's FIN: all taken */
		;
	double s = now() - t0;
	close(fd);
	printf("sink: %llu bytes in %.2f s: %.1f MB/s (%.0f Mbit/s)\n",
	    (unsigned long long)bytes, s, (double)bytes / s / 1e6, (double)bytes * 8 / s / 1e6);
	return 0;
}

/* drain: read bytes, then close. */
static int
do_drain(uint64_t bytes)
{
	static uint8_t buf[CHUNK];
	int fd = dial();
	double t0 = now();
	uint64_t got = 0;

	while (got < bytes) {
		ssize_t r = read(fd, buf, bytes - got < CHUNK ? (size_t)(bytes - got) : CHUNK);
		if (r <= 0)
			die("drain: the stream ended early", r < 0 ? errno : 0);
		got += (uint64_t)r;
	}
	double s = now() - t0;
	close(fd);
	printf("drain: %llu bytes in %.2f s: %.1f MB/s (%.0f Mbit/s)\n",
	    (unsigned long long)got, s, (double)got / s / 1e6, (double)got * 8 / s / 1e6);
	return 0;
}

/* qsort's order for doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* rr: count 64-byte round trips, one in flight. */
static int
do_rr(long count)
{
	uint8_t req[RR_LEN], resp[RR_LEN];
	double *t = malloc(sizeof *t * (size_t)count), sum = 0;
	int fd = dial();
	uint64_t x = 1;

	if (t == NULL)
		die("out of memory", 0);
	for (long i = 0; i < count; i++) {
		pattern(&x, req, RR_LEN);
		double t0 = now();
		if (write(fd, req, RR_LEN) != RR_LEN || read_full(fd, resp, RR_LEN) != 0)
			die("rr: the connection broke", errno);
		t[i] = now() - t0;
		if (memcmp(req, resp, RR_LEN) != 0)
			die("rr: the response differs from the request", 0);
		sum += t[i];
	}
	close(fd);
	qsort(t, (size_t)count, sizeof *t, cmp_double);
	printf("rr: %ld round trips of %d bytes: mean %.1f us, median %.1f us, 99th %.1f us\n",
	    count, RR_LEN, sum / (double)count * 1e6, t[count / 2] * 1e6,
	    t[count * 99 / 100] * 1e6);
	free(t);
	return 0;
}

/* cps: connect, 64 bytes there and back, close, for seconds. */
static int
do_cps(double seconds)
{
	uint8_t req[RR_LEN], resp[RR_LEN];
	double t0 = now(), s;
	long n = 0;

	memset(req, 'c', sizeof req);
	do {
		int fd = dial();
		if (write(fd, req, RR_LEN) != RR_LEN || read_full(fd, resp, RR_LEN) != 0)
			die("cps: the connection broke", errno);
		close(fd);
		n++;
	} while ((s = now() - t0) < seconds);
	printf("cps: %ld connections (connect, 64 bytes echoed, close) in %.2f s: %.0f/s\n",
	    n, s, (double)n / s);
	return 0;
}

/* ---- serve: Linux's own echo, discard and source ------------------------- */

struct job {
	int fd, port_kind;	/* 7, 9 or 19 */
};

/* One accepted connection, on its own thread, until the client closes. */
static void *
serve_conn(void *arg)
{
	struct job *j = arg;
	static __thread uint8_t buf[CHUNK];
	ssize_t r;

	if (j->port_kind == 19) {
		memset(buf, 's', sizeof buf);
		while (send(j->fd, buf, sizeof buf, MSG_NOSIGNAL) > 0)
			;
	} else {
		while ((r = read(j->fd, buf, sizeof buf)) > 0)
			if (j->port_kind == 7 && send(j->fd, buf, (size_t)r, MSG_NOSIGNAL) != r)
				break;
	}
	close(j->fd);
	free(j);
	return NULL;
}

/* A listening socket on addr:port. */
static int
listener(const char *addr, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		die("serve: bad address", 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 512) != 0)
		die("serve: bind/listen", errno);
	return fd;
}

/* serve: accept on the three ports forever, a thread per connection. */
static _Noreturn void
do_serve(const char *addr, int base)
{
	static const int kinds[3] = { 7, 9, 19 };
	struct pollfd pf[3];

	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 3; i++) {
		pf[i].fd = listener(addr, base + kinds[i]);
		pf[i].events = POLLIN;
	}
	printf("serve: echo %d, discard %d, source %d on %s\n", base + 7, base + 9,
	    base + 19, addr);
	fflush(stdout);
	for (;;) {
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			die("poll", errno);
		for (int i = 0; i < 3; i++) {
			if (!(pf[i].revents & POLLIN))
				continue;
			int fd = accept(pf[i].fd, NULL, NULL), one = 1;
			struct job *j = malloc(sizeof *j);
			pthread_t t;
			if (fd < 0 || j == NULL)
				continue;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			j->fd = fd;
			j->port_kind = kinds[i];
			if (pthread_create(&t, NULL, serve_conn, j) != 0) {
				close(fd);
				free(j);
				continue;
			}
			pthread_detach(t);
		}
	}
}

/* Print the usage and exit 64. */
static void
usage(void)
{
	fprintf(stderr, "usage: tcp_peer echo HOST PORT BYTES [CONNS]\n"
	    "       tcp_peer sink|drain HOST PORT BYTES\n"
	    "       tcp_peer rr HOST PORT COUNT\n"
	    "       tcp_peer cps HOST PORT SECONDS\n"
	    "       tcp_peer load HOST PORT SECONDS CONNS\n"
	    "       tcp_peer hold HOST PORT CONNS [INFLIGHT]\n"
	    "       tcp_peer serve ADDR BASE\n");
	exit(64);
}

/* Parse the mode and its arguments and run it. */
int
main(int argc, char **argv)
{
	if (argc < 4)
		usage();
	if (strcmp(argv[1], "serve") == 0)
		do_serve(argv[2], atoi(argv[3]));
	if (argc < 5)
		usage();
	peer.sin_family = AF_INET;
	peer.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &peer.sin_addr) != 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	uint64_t n = strtoull(argv[4], NULL, 0);
	if (strcmp(argv[1], "echo") == 0) {
		int conns = argc > 5 ? atoi(argv[5]) : 1;
		if (conns < 1 || conns > MAXCONN)
			usage();
		return do_echo(n, conns);
	}
	if (strcmp(argv[1], "sink") == 0)
		return do_sink(n);
	if (strcmp(argv[1], "drain") == 0)
		return do_drain(n);
	if (strcmp(argv[1], "rr") == 0)
		return n > 0 ? do_rr((long)n) : 64;
	if (strcmp(argv[1], "cps") == 0)
		return do_cps(atof(argv[4]));
	if (strcmp(argv[1], "load") == 0) {
		int conns = argc > 5 ? atoi(argv[5]) : 0;
		if (conns < 1 || conns > MAXCONN || atof(argv[4]) <= 0)
			usage();
		return do_load(atof(argv[4]), conns);
	}
	if (strcmp(argv[1], "hold") == 0) {
		int inflight = argc > 5 ? atoi(argv[5]) : 50;
		if (n < 1 || n > HOLDMAX || inflight < 1)
			usage();
		return do_hold((int)n, inflight);
	}
	usage();
	return 64;
}
