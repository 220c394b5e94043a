/*
 * tcp_peer_load.c: tcp_peer's load and hold modes (tcp_peer.c's top
 * comment), the crowd a server app meets: many connections each doing
 * 64-byte round trips back to back, every response checked, and a
 * server that stops answering caught (QUIET_S of silence); and
 * thousands of connections opened as fast as the server takes them and
 * held.  Single-threaded with poll(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_peer.h"

/* One connection of load or hold: a 64-byte request out, its echo coming back. */
struct rrconn {
	int fd;
	int busy;		/* a request is out */
	size_t got;		/* bytes of its echo so far */
	uint64_t x;		/* the request pattern's stream */
	uint8_t req[RR_LEN], resp[RR_LEN];
	long done;		/* round trips completed */
};

/* Send c's next request (the socket has room: 64 bytes always fit). */
static void
rr_send(struct rrconn *c, int k)
{
	pattern(&c->x, c->req, RR_LEN);
	if (send(c->fd, c->req, RR_LEN, MSG_NOSIGNAL) != RR_LEN) {
		fprintf(stderr, "tcp_peer: connection %d: send: %s\n", k, strerror(errno));
		exit(1);
	}
	c->busy = 1;
	c->got = 0;
}

/* Read what came back on c; 1 once the whole echo is there (checked). */
static int
rr_recv(struct rrconn *c, int k)
{
	ssize_t r = recv(c->fd, c->resp + c->got, RR_LEN - c->got, MSG_DONTWAIT);

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r <= 0 || !c->busy) {
		fprintf(stderr, "tcp_peer: connection %d: %s after %ld round trips\n", k,
		    r < 0 ? strerror(errno) : r == 0 ? "closed by the server" : "bytes nobody asked for",
		    c->done);
		exit(1);
	}
	c->got += (size_t)r;
	if (c->got < RR_LEN)
		return 0;
	if (memcmp(c->req, c->resp, RR_LEN) != 0) {
		fprintf(stderr, "tcp_peer: connection %d: echo %ld differs from its request\n",
		    k, c->done + 1);
		exit(1);
	}
	c->busy = 0;
	c->done++;
	return 1;
}

/*
 * Poll the connections with a request out and take in their echoes; if
 * more is set, each finished one sends its next.  Returns how many
 * requests are still out; exits if QUIET_S pass with no echo at all.
 */
static int
rr_round(struct rrconn *cs, struct pollfd *pf, int n, int more)
{
	int out = 0, r;

	for (int k = 0; k < n; k++) {
		pf[k].fd = cs[k].busy ? cs[k].fd : -1;
		pf[k].events = POLLIN;
		out += cs[k].busy;
	}
	if (out == 0)
		return 0;
	if ((r = poll(pf, (nfds_t)n, QUIET_S * 1000)) < 0 && errno != EINTR)
		die("poll", errno);
	if (r == 0) {
		fprintf(stderr, "tcp_peer: no echo on any of %d requests out for %d s: "
		    "the server stopped answering\n", out, QUIET_S);
		exit(1);
	}
	for (int k = 0; k < n; k++)
		if ((pf[k].revents & (POLLIN | POLLHUP | POLLERR)) && rr_recv(&cs[k], k)) {
			out--;
			if (more) {
				rr_send(&cs[k], k);
				out++;
			}
		}
	return out;
}

/* The total of round trips done over n connections. */
static long
rr_total(const struct rrconn *cs, int n)
{
	long t = 0;

	for (int k = 0; k < n; k++)
		t += cs[k].done;
	return t;
}

/* load: nconn connections doing round trips for seconds, then drained. */
int
do_load(double seconds, int nconn)
{
	static struct rrconn cs[MAXCONN];
	static struct pollfd pf[MAXCONN];
	double t0 = now(), s;

	for (int k = 0; k < nconn; k++) {
		cs[k].fd = dial();
		cs[k].x = (uint64_t)k + 1;
		rr_send(&cs[k], k);
	}
	while (now() - t0 < seconds)
		rr_round(cs, pf, nconn, 1);
	while (rr_round(cs, pf, nconn, 0) > 0)
		;
	s = now() - t0;
	for (int k = 0; k < nconn; k++)
		close(cs[k].fd);
	printf("load: %d connections, %ld round trips of %d bytes in %.1f s (%.0f/s), every echo intact\n",
	    nconn, rr_total(cs, nconn), RR_LEN, s, (double)rr_total(cs, nconn) / s);
	return 0;
}

/* Raise the open-file limit to at least n descriptors, or exit. */
static void
want_files(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit", errno);
	if (rl.rlim_cur >= (rlim_t)n)
		return;
	rl.rlim_cur = (rlim_t)n;
	if (rl.rlim_max < rl.rlim_cur)
		rl.rlim_max = rl.rlim_cur;	/* root may raise the hard limit */
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("hold: cannot have enough open files (setrlimit)", errno);
}

/* Start a non-blocking connect to peer; the socket. */
static int
dial_start(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		die("socket", errno);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&peer, sizeof peer) != 0 && errno != EINPROGRESS)
		die("connect", errno);
	return fd;
}

/* Wait for the pending connects cs[from..n-1]; how many completed (exits on a failed one). */
static int
hold_wait(struct rrconn *cs, struct pollfd *pf, int from, int n)
{
	int r, e, done = 0;
	socklen_t len = sizeof e;

	for (int k = from; k < n; k++) {
		pf[k - from].fd = cs[k].fd;
		pf[k - from].events = cs[k].busy ? 0 : POLLOUT;
	}
	if ((r = poll(pf, (nfds_t)(n - from), QUIET_S * 1000)) < 0 && errno != EINTR)
		die("poll", errno);
	if (r == 0) {
		fprintf(stderr, "tcp_peer: hold: no handshake completed for %d s after %d connections\n",
		    QUIET_S, from);
		exit(1);
	}
	for (int k = from; k < n; k++) {
		if (cs[k].busy || !(pf[k - from].revents & (POLLOUT | POLLERR | POLLHUP)))
			continue;
		if (getsockopt(cs[k].fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0 || e != 0) {
			fprintf(stderr, "tcp_peer: hold: connection %d: %s\n", k, strerror(e));
			exit(1);
		}
		cs[k].busy = 1;		/* here: connected */
		done++;
	}
	return done;
}

/* hold: nconn connections opened (inflight handshakes at a time), held, each echoing once. */
int
do_hold(int nconn, int inflight)
{
	struct rrconn *cs = calloc((size_t)nconn, sizeof *cs);
	struct pollfd *pf = calloc((size_t)nconn, sizeof *pf);
	int opened = 0, up = 0, first = 0;	/* first: no pending connect before it */
	double t0 = now(), t1;

	if (cs == NULL || pf == NULL)
		die("out of memory", 0);
	want_files(nconn + 64L);
	while (up < nconn) {
		while (opened < nconn && opened - up < inflight) {
			cs[opened].fd = dial_start();
			cs[opened].x = (uint64_t)opened + 1;
			opened++;
		}
		up += hold_wait(cs, pf, first, opened);
		while (first < opened && cs[first].busy)
			first++;
	}
	t1 = now() - t0;
	for (int k = 0; k < nconn; k++) {
		cs[k].busy = 0;
		rr_send(&cs[k], k);
	}
	while (rr_round(cs, pf, nconn, 0) > 0)
		;
	for (int k = 0; k < nconn; k++)
		close(cs[k].fd);
	printf("hold: %d connections open at once (%.1f s to open, %.0f/s), each echoed 64 bytes intact\n",
	    nconn, t1, (double)nconn / t1);
	free(cs);
	free(pf);
	return 0;
}
