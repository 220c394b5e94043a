/*
 * tcp_peer.h: what tcp_peer.c and tcp_peer_load.c share (the Linux end
 * of the TCP tests; tcp_peer.c's top comment has its modes).
 */
#ifndef TCP_PEER_H
#define TCP_PEER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK	(64 * 1024)	/* bytes per read or write call */
#define RR_LEN	64		/* a request's and a response's size */
#define MAXCONN	1024
#define HOLDMAX	65536	/* hold's most connections */
#define QUIET_S	60	/* load and hold: nothing at all for this long = the server stopped */

extern struct sockaddr_in peer;		/* the server, from the command line */

void die(const char *what, int e) __attribute__((noreturn));	/* print, exit 1 */
double now(void);				/* monotonic seconds */
void pattern(uint64_t *x, uint8_t *p, size_t n);	/* n bytes of stream *x */
int dial(void);				/* connected, blocking, Nagle off */
int read_full(int fd, void *p, size_t n);	/* 0, or -1 on EOF or error */

/* tcp_peer_load.c */
int do_load(double seconds, int nconn);
int do_hold(int nconn, int inflight);

#endif
