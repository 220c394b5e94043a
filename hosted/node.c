/*
 * node.c: the frontend: booting native nodes in QEMU, their call-in,
 * their consoles and their ends (ebb/node.h).  Hosted.
 *
 *	node_boot -> (first) lan_create, 10.235.0.1/24, udp_bind(NODE_PORT)
 *	          -> fork; the child: PR_SET_PDEATHSIG, exec QEMU with the
 *	             node's NIC on the LAN (-netdev dgram) and its arguments
 *	             (spec->fwd: a second NIC on user networking, a free
 *	             port of 127.0.0.1 forwarded to each guest port named)
 *	"callin N" from node N's address -> "welcome N BASE COUNT";
 *	             the first resolves node_called_in's future
 *	the watch timer (core 0, every NODE_WATCH_MS): each node's console
 *	             pipe read and printed by lines, "[node N] ...";
 *	             waitpid: an ended QEMU reported, its future failed if
 *	             it never called in, node_on_exit's callback called;
 *	             a node_stop past its grace TERMed
 *
 * Everything runs on core 0 (node_boot is called there; the datagrams
 * of a LAN with one queue are steered by flow, so a call-in that lands
 * on another core is handed to core 0).
 *
 * QEMU.  Started directly, not through test/qemu.sh: KVM only where
 * the CPU has hardware virtualization (vmx or svm) and /dev/kvm is
 * usable, else TCG with maxcpus=2 for one core (test/qemu.sh says
 * why: TCG keeps the guest's fences only when the machine may have
 * more than one CPU); the console is the serial port on a pipe
 * (-serial stdio, no monitor, no display); -no-reboot; the
 * isa-debug-exit device, so a node's exit status s ends its QEMU with
 * status 2(s+1)+1 (kernel/main.c's machine_exit writes s+1, up to
 * 126), which is decoded here.
 *
 * The TAP LAN (node_lan_tap, as root): instead of lan.c's, the nodes'
 * NICs are TAP devices on a Linux bridge, made here before each QEMU
 * starts and handed to it by fd (node_tap.c says why), and our own
 * stack is on the --tap interface, another port of the bridge.
 *
 * No orphans.  The child asks for SIGTERM when its parent thread dies
 * (PR_SET_PDEATHSIG): core 0's thread, which lives as long as the
 * process; so a QEMU ends with its frontend however that ends, by
 * exit, Ctrl-C, a crash or SIGKILL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ebb/event.h"
#include "ebb/node.h"
#include "ebb/timer.h"
#include "kernel/platform.h"
#include "lan.h"
#include "node_tap.h"
#include "tcp/netcfg.h"
#include "tcp/proto.h"
#include "tcp/udp.h"

#define NODE_WATCH_MS	20		/* consoles and waitpid, this often */
#define NODE_LINE	256		/* console bytes kept for one line */

struct node {
	int num;
	pid_t pid;			/* 0 once reaped */
	int out;			/* the console pipe's read end, or -1 */
	char line[NODE_LINE];		/* console bytes since the last newline */
	size_t nline;
	int esc;			/* inside a terminal control */
	uint64_t booted_ns;
	uint64_t stop_at;		/* node_stop: TERM at this clock_ns(); 0 none */
	uint64_t callin_by;		/* no call-in by this clock_ns(): TERM it */
	int called_in, timed_out;
	int termed;			/* we sent its QEMU TERM */
	struct future callin;
};

static struct netif *lan;
static int lan_up;			/* frontend_up has run */
static char tap_bridge[16];		/* node_lan_tap's bridge, or "" */
static struct node *nodes[NODE_MAX + 1];	/* by number; [0] is us */
static int nnodes, nlive;
static struct timer watch;
static void (*exit_fn)(struct node *, int);
static struct future *all_gone;		/* node_wait_all's, while it waits */

int
node_num(const struct node *n)
{
	return n->num;
}

uint32_t
node_ip(const struct node *n)
{
	return hton32(NODE_NET + (uint32_t)n->num + 1);
}

struct future *
node_called_in(struct node *n)
{
	return &n->callin;
}

void
node_on_exit(void (*fn)(struct node *, int))
{
	exit_fn = fn;
}

/* ---- the call-in --------------------------------------------------------- */

static void
send_line(struct node *n, const char *line)
{
	size_t len = strlen(line);
	struct iobuf *b = iobuf_alloc(IOBUF_HEADROOM, len);

	if (b == NULL)
		return;			/* the node calls in again */
	memcpy(iobuf_put(b, len), line, len);
	udp_sendto(lan, NODE_PORT, node_ip(n), NODE_PORT, b);
}

/* "callin N" from node N's address: welcome it; the first resolves its future. */
static void
callin_line(void *arg)
{
	char *line = arg;
	uint32_t src = 0, base;
	unsigned num;
	char reply[64];
	struct node *n;

	memcpy(&src, line, sizeof src);		/* the sender, before the text */
	if (sscanf(line + sizeof src, "callin %u", &num) != 1 || num < 1 ||
	    num > (unsigned)nnodes || (n = nodes[num]) == NULL || src != node_ip(n) ||
	    n->pid == 0) {
		free(line);
		return;				/* not one of ours: ignored */
	}
	free(line);
	node_ids(n->num, &base);
	snprintf(reply, sizeof reply, "welcome %d %u %u\n", n->num, base, NODE_IDS);
	send_line(n, reply);
	if (!n->called_in) {
		n->called_in = 1;
		printf("frontend: node %d called in from %s after %llu ms\n", n->num,
		    netcfg_fmt(node_ip(n), (char[16]){ 0 }),
		    (unsigned long long)((clock_ns() - n->booted_ns) / 1000000));
		future_resolve(&n->callin, n);
	}
}

static void
frontend_rx(void *arg, const struct udp_rx *rx, struct iobuf *p)
{
	size_t len = iobuf_chain_len(p);
	char *line;

	(void)arg;
	if (len == 0 || len > 60 || (line = malloc(sizeof rx->src_ip + len + 1)) == NULL) {
		iobuf_free_chain(p);
		return;
	}
	memcpy(line, &rx->src_ip, sizeof rx->src_ip);
	iobuf_copy_out(p, 0, len, line + sizeof rx->src_ip);
	line[sizeof rx->src_ip + len] = '\0';
	iobuf_free_chain(p);
	if (core_id() == 0)
		callin_line(line);
	else if (spawn_on(0, callin_line, line) != 0)
		free(line);
}

/* ---- consoles and ends ----------------------------------------------------- */

/* One line of n's console, printed if anything is left of it. */
static void
console_line(struct node *n)
{
	n->line[n->nline] = '\0';
	if (n->nline > 0)
		printf("[node %d] %s\n", n->num, n->line);
	n->nline = 0;
	n->esc = 0;
}

/*
 * Print what n's console has said, by whole lines (all of it if flush),
 * without SeaBIOS's terminal controls (ESC [ ... letter) and other
 * unprintable bytes, and without empty lines.
 */
static void
console(struct node *n, int flush)
{
	char buf[1024];
	ssize_t got;

	while (n->out >= 0 && (got = read(n->out, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c == '\n') {
				console_line(n);
			} else if (c == 0x1b) {
				n->esc = 1;
			} else if (n->esc) {
				if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
					n->esc = 0;	/* the control's last byte */
			} else if (c >= 0x20 && c < 0x7f) {
				n->line[n->nline++] = (char)c;
				if (n->nline == NODE_LINE - 1)
					console_line(n);
			}
		}
	}
	if (flush)
		console_line(n);
}

/* n's QEMU ended with wait status ws: say how, and tell who waits. */
static void
ended(struct node *n, int ws)
{
	int status;

	console(n, 1);
	close(n->out);
	n->out = -1;
	n->pid = 0;
	nlive--;
	if (WIFSIGNALED(ws)) {
		status = 128 + WTERMSIG(ws);
		printf("frontend: node %d: QEMU ended by signal %d (%s)\n", n->num,
		    WTERMSIG(ws), strsignal(WTERMSIG(ws)));
	} else if ((status = WEXITSTATUS(ws)) >= 3 && (status & 1)) {
		status = (status >> 1) - 1;	/* isa-debug-exit: 2(s+1)+1 */
		printf("frontend: node %d exited with status %d%s\n", n->num, status,
		    status == 125 ? " (or more)" : "");
	} else if (status == 0 && n->termed) {
		printf("frontend: node %d: QEMU stopped (we sent it TERM)\n", n->num);
		status = 128 + SIGTERM;
	} else {
		printf("frontend: node %d: QEMU exited with status %d (%s)\n", n->num,
		    status, status == 0 ? "the machine stopped without a status" :
		    "QEMU's own error");
		status = 124;			/* test/qemu.sh's word for it */
	}
	if (!n->called_in)
		future_fail(&n->callin, n->timed_out ? ETIMEDOUT : ESRCH);
	if (exit_fn != NULL)
		exit_fn(n, status);
	if (nlive == 0 && all_gone != NULL) {
		future_resolve(all_gone, NULL);
		all_gone = NULL;
	}
}

static void
watch_fire(void *arg)
{
	uint64_t now = clock_ns();

	(void)arg;
	for (int i = 1; i <= nnodes; i++) {
		struct node *n = nodes[i];
		int ws;

		if (n->pid == 0)
			continue;
		console(n, 0);
		if (waitpid(n->pid, &ws, WNOHANG) == n->pid) {
			ended(n, ws);
		} else if (n->stop_at != 0 && now >= n->stop_at) {
			printf("frontend: node %d has not ended: stopping its QEMU\n", n->num);
			kill(n->pid, SIGTERM);
			n->termed = 1;
			n->stop_at = 0;
		} else if (!n->called_in && !n->timed_out && now >= n->callin_by) {
			printf("frontend: node %d has not called in after %llu s: stopping it\n",
			    n->num, (unsigned long long)((now - n->booted_ns) / 1000000000));
			n->timed_out = 1;
			kill(n->pid, SIGTERM);
			n->termed = 1;
		}
	}
	if (nlive == 0)
		timer_stop(&watch);
}

/* ---- booting --------------------------------------------------------------- */

/* The LAN, our address on it, the call-in port and the watch timer: once. */
static int
frontend_up(char *why, size_t whylen)
{
	int err;

	if (lan_up)
		return 0;
	if (lan == NULL && (lan = lan_create("lan0", 0, why, whylen)) == NULL)
		return -1;
	netcfg_apply(lan, hton32(NODE_NET + 1), hton32(0xffffff00u), 0);
	if ((err = udp_bind(NODE_PORT, frontend_rx, NULL)) != 0) {
		snprintf(why, whylen, "UDP port %d: %s", NODE_PORT, strerror(err));
		return -1;
	}
	timer_setup(&watch, watch_fire, NULL);
	lan_up = 1;
	return 0;
}

int
node_lan_tap(const char *bridge, struct netif *own, char *why, size_t whylen)
{
	if (lan_up || nnodes > 0) {
		snprintf(why, whylen, "node_lan_tap: after the first node_boot");
		return EINVAL;
	}
	if (own == NULL) {
		snprintf(why, whylen, "the TAP LAN needs the frontend's own TAP interface (--tap NAME)");
		return EINVAL;
	}
	if (node_tap_bridge(bridge, own->name, why, whylen) != 0)
		return ENODEV;			/* it checked the name's length */
	snprintf(tap_bridge, sizeof tap_bridge, "%s", bridge);
	lan = own;
	return 0;
}

/* Hardware virtualization, and a /dev/kvm to use it through. */
static int
kvm_usable(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int hw = 0;

	while (f != NULL && !hw && fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "flags", 5) == 0)
			hw = strstr(line, " vmx") != NULL || strstr(line, " svm") != NULL;
	if (f != NULL)
		fclose(f);
	return hw && access("/dev/kvm", R_OK | W_OK) == 0;
}

/*
 * spec->fwd ("tcp:11211 udp:7") into QEMU's user netdev with a hostfwd
 * for each, from a free port here; the lines saying where each is go
 * into says.  0, or -1 with the reason in why.
 */
static int
fwd_netdev(const char *fwd, int num, char *netdev, size_t cap, char *says, size_t saycap,
    char *why, size_t whylen)
{
	size_t len = (size_t)snprintf(netdev, cap, "user,id=n1"), slen = 0;
	int nports = 0;

	says[0] = '\0';
	for (const char *p = fwd; *p != '\0';) {
		char proto[4];
		unsigned guest, host;
		int used = 0;

		if (*p == ' ') {
			p++;
			continue;
		}
		if (sscanf(p, "%3[a-z]:%5u%n", proto, &guest, &used) != 2 ||
		    (p[used] != ' ' && p[used] != '\0') || guest < 1 || guest > 65535 ||
		    (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)) {
			snprintf(why, whylen, "fwd=%s: want words tcp:PORT or udp:PORT", fwd);
			return -1;
		}
		if (++nports > NODE_FWD_MAX) {
			snprintf(why, whylen, "fwd=%s: at most %d ports", fwd, NODE_FWD_MAX);
			return -1;
		}
		if ((host = lan_free_port(proto[0] == 'u')) == 0) {
			snprintf(why, whylen, "no free %s port on 127.0.0.1", proto);
			return -1;
		}
		len += (size_t)snprintf(netdev + len, cap - len,
		    ",hostfwd=%s:127.0.0.1:%u-:%u", proto, host, guest);
		slen += (size_t)snprintf(says + slen, saycap - slen,
		    "frontend: node %d's %s port %u is at 127.0.0.1:%u\n", num,
		    proto[0] == 't' ? "TCP" : "UDP", guest, host);
		p += used;
		if (len >= cap || slen >= saycap) {
			snprintf(why, whylen, "fwd=%s: too long", fwd);
			return -1;
		}
	}
	if (nports == 0) {
		snprintf(why, whylen, "fwd=%s: no port named", fwd);
		return -1;
	}
	return 0;
}

struct node *
node_boot(const struct node_spec *spec, char *why, size_t whylen)
{
	char machine[32], smp[32], mem[16], netdev[160], nic[96], append[1024], site[16] = "";
	char netdev1[NODE_FWD_MAX * 48 + 16], nic1[96], says[NODE_FWD_MAX * 80] = "";
	int kvm = kvm_usable(), cpus = spec->cpus > 0 ? spec->cpus : 1, pfd[2], tfd = -1;
	char tname[16];
	struct node *n;
	pid_t parent = getpid(), pid;

	if (core_id() != 0) {
		snprintf(why, whylen, "node_boot runs on core 0");
		return NULL;
	}
	if (nnodes == NODE_MAX) {
		snprintf(why, whylen, "%d nodes booted already: the most there may be", NODE_MAX);
		return NULL;
	}
	if (access(spec->image, R_OK) != 0) {
		snprintf(why, whylen, "%s: %s", spec->image, strerror(errno));
		return NULL;
	}
	if (frontend_up(why, whylen) != 0)
		return NULL;
	if ((n = calloc(1, sizeof *n)) == NULL) {
		snprintf(why, whylen, "no memory");
		return NULL;
	}
	n->num = nnodes + 1;
	future_init(&n->callin);
	snprintf(machine, sizeof machine, "q35,accel=%s", kvm ? "kvm" : "tcg");
	snprintf(smp, sizeof smp, cpus == 1 && !kvm ? "1,maxcpus=2" : "%d", cpus);
	snprintf(mem, sizeof mem, "%dM", spec->mem_mib > 0 ? spec->mem_mib : 64);
	if (tap_bridge[0] != '\0') {
		if ((tfd = node_tap_make(tap_bridge, n->num, tname, why, whylen)) < 0) {
			free(n);
			return NULL;
		}
		snprintf(netdev, sizeof netdev, "tap,id=n0,fd=%d", tfd);
	} else {
		snprintf(netdev, sizeof netdev, "dgram,id=n0,local.type=inet,local.host=127.0.0.1,"
		    "local.port=0,remote.type=inet,remote.host=127.0.0.1,remote.port=%u",
		    lan_port(lan));
	}
	snprintf(nic, sizeof nic, "virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:eb:%02x:%02x",
	    (unsigned)(parent & 0xff), (unsigned)n->num);
	if (node_site_of() != 0)
		snprintf(site, sizeof site, " site=%d", node_site_of());
	snprintf(append, sizeof append, "%s%snode=%d frontend=%s ip=%s/24%s%s",
	    spec->args ? spec->args : "", spec->args && *spec->args ? " " : "", n->num,
	    netcfg_fmt(hton32(NODE_NET + 1), (char[16]){ 0 }), netcfg_fmt(node_ip(n), (char[16]){ 0 }),
	    site, spec->fwd != NULL ? " nat=dhcp" : "");
	char *argv[32] = { "qemu-system-x86_64", "-machine", machine, "-cpu", kvm ? "host" : "max",
		"-smp", smp, "-m", mem, "-display", "none", "-monitor", "none",
		"-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-netdev", netdev, "-device", nic, "-kernel", (char *)spec->image,
		"-append", append, NULL };
	int argc = 26;

	if (spec->fwd != NULL) {	/* the second NIC, after the LAN's: its PCI slot is later */
		if (fwd_netdev(spec->fwd, n->num, netdev1, sizeof netdev1, says, sizeof says,
		    why, whylen) != 0) {
			if (tfd >= 0)
				close(tfd);
			free(n);
			return NULL;
		}
		snprintf(nic1, sizeof nic1, "virtio-net-pci,netdev=n1,romfile=,"
		    "mac=52:54:00:ec:%02x:%02x", (unsigned)(parent & 0xff), (unsigned)n->num);
		argv[argc++] = "-netdev";
		argv[argc++] = netdev1;
		argv[argc++] = "-device";
		argv[argc++] = nic1;
		argv[argc] = NULL;
	}

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		if (tfd >= 0)
			close(tfd);
		free(n);
		return NULL;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		if (tfd >= 0)
			close(tfd);
		free(n);
		return NULL;
	}
	if (pid == 0) {			/* the child: only async-signal-safe calls */
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);		/* the frontend is gone already */
		dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (tfd >= 0)
			fcntl(tfd, F_SETFD, 0);	/* QEMU's -netdev tap,fd= */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);	/* the cores' threads block some */
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	if (tfd >= 0)
		close(tfd);		/* QEMU's copy keeps the device */
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	n->pid = pid;
	n->out = pfd[0];
	n->booted_ns = clock_ns();
	n->callin_by = n->booted_ns + (uint64_t)(spec->callin_s > 0 ? spec->callin_s : 120) *
	    1000 * TIMER_MS;
	nodes[n->num] = n;
	nnodes++;
	nlive++;
	if (!timer_armed(&watch))
		timer_start(&watch, NODE_WATCH_MS * TIMER_MS, NODE_WATCH_MS * TIMER_MS);
	printf("frontend: node %d booting (%s, %s, %s, pid %d)\n%s", n->num, spec->image,
	    kvm ? "KVM" : "TCG", mem, (int)pid, says);
	if (tfd >= 0)
		printf("frontend: node %d's NIC is TAP device %s on bridge %s\n", n->num, tname,
		    tap_bridge);
	return n;
}

void
node_stop(struct node *n, unsigned grace_ms)
{
	if (n->pid == 0)
		return;
	send_line(n, "bye\n");
	n->stop_at = clock_ns() + (uint64_t)grace_ms * TIMER_MS;
	if (n->stop_at == 0)
		n->stop_at = 1;
}

void
node_wait_all(void)
{
	struct future f;

	if (nlive == 0)
		return;
	future_init(&f);
	all_gone = &f;
	future_block(&f, NULL);
}
