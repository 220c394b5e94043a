/*
 * net.c: the virtio-net driver's setup and teardown, and its hook into
 * the event loops (net.h).  Portable.  The receive path is net_rx.c,
 * the transmit path net_tx.c; net_priv.h holds the state they share.
 *
 * Attaching, in the order the spec asks (3.1.1, 5.1.5):
 *
 *	virtio_start(wanted)	reset, ACKNOWLEDGE, DRIVER, features
 *				(none without its prerequisite),
 *				FEATURES_OK read back
 *	config			MAC (or a random local one), link status,
 *				max_virtqueue_pairs (with MQ)
 *	queues			receiveq_i = 2i, transmitq_i = 2i + 1 for the
 *				pairs we use, controlq = 2N (N = the device's
 *				max pairs with MQ, else 1); RX queue i's
 *				interrupt aimed at core i, TX queues none
 *	receive buffers		every RX queue filled (no kick yet: the spec
 *				forbids notifications before DRIVER_OK)
 *	virtio_ready		DRIVER_OK; then the RX queues are kicked
 *	VQ_PAIRS_SET		with MQ: the control queue, polled here,
 *				synchronously, at most VNET_CTRL_TIMEOUT_MS
 *	netif_add		"vnetN", features from what was negotiated
 *
 * Features are asked for, never required: a device that offers only
 * VERSION_1 gets one pair, no offloads, and a random MAC.  Each wanted
 * feature is used: CSUM and HOST_TSO4 become NETIF_F_TX_CSUM and
 * NETIF_F_TSO4 (the transmit hints), GUEST_CSUM NETIF_F_RX_CSUM,
 * MRG_RXBUF lets a frame span receive buffers, MQ gives a pair per core,
 * EVENT_IDX suppresses kicks and interrupts.  GUEST_TSO4 is not asked
 * for: the stack has no use yet for coalesced frames bigger than the MTU.
 *
 * Cores and the loops.  vnet_attach runs on core 0 before the loops
 * start, so it cannot add idle handlers on other cores; instead its first
 * call registers a boundary hook, and each core, on its first pass
 * through its loop, adds one idle handler (vnet_idle) that serves the
 * pairs that core owns on every attached device.  That handler lives as
 * long as the process (one small allocation per core).  The device table
 * vnets[] is written only on core 0 while the loops are stopped; the
 * loops' start (event_run's release of the cores) publishes it, and the
 * idle handlers read it without a lock.
 *
 * Interfaces are never removed from the netif list, so each device slot
 * has a static struct netif that is registered once and reused by the
 * next device attached in that slot; between a detach and that attach it
 * refuses to transmit.
 */
#include <stdio.h>
#include <string.h>

#include "kernel/malloc.h"
#include "net_priv.h"

struct vnet *vnets[VNET_MAX];		/* attached devices, by slot (net_priv.h) */
static struct netif vnet_nifs[VNET_MAX];	/* their interfaces */
static int registered[VNET_MAX];	/* vnet_nifs[i] is on the netif list */
static int hooked;			/* vnet_boundary is registered */
static int started[NCPU];		/* core c has added vnet_idle */

static void vnet_print_stats(struct netif *nif);

static const struct netif_ops vnet_ops = {
	.transmit = vnet_transmit,
	.print_stats = vnet_print_stats,
};

/* ---- the loops --------------------------------------------------------- */

/*
 * The idle handler of a core: for every device, the pair this core owns
 * (if any): receive while it is in polling mode, and harvest finished
 * transmissions.  Nonzero if it did any work.
 */
static int
vnet_idle(void *unused)
{
	int c = core_id(), work = 0;

	(void)unused;
	for (int s = 0; s < VNET_MAX; s++) {
		struct vnet *v = vnets[s];

		if (v == NULL || c >= v->pairs)
			continue;
		work |= vnet_rx_service(&v->pair[c]);
		work |= vnet_tx_harvest(&v->pair[c]);
	}
	return work;
}

/* The boundary hook: each core adds its idle handler once (retried if out of memory). */
static int
vnet_boundary(void)
{
	int c = core_id();

	if (__builtin_expect(started[c], 1))
		return 0;
	started[c] = event_idle_add(vnet_idle, NULL) != NULL;
	return 0;
}

/* ---- features and configuration ---------------------------------------- */

static const struct {
	int bit;
	const char *name;
} feature_names[] = {
	{ VIRTIO_NET_F_CSUM, "CSUM" },
	{ VIRTIO_NET_F_GUEST_CSUM, "GUEST_CSUM" },
	{ VIRTIO_NET_F_MTU, "MTU" },
	{ VIRTIO_NET_F_MAC, "MAC" },
	{ VIRTIO_NET_F_GUEST_TSO4, "GUEST_TSO4" },
	{ VIRTIO_NET_F_HOST_TSO4, "HOST_TSO4" },
	{ VIRTIO_NET_F_MRG_RXBUF, "MRG_RXBUF" },
	{ VIRTIO_NET_F_STATUS, "STATUS" },
	{ VIRTIO_NET_F_CTRL_VQ, "CTRL_VQ" },
	{ VIRTIO_NET_F_MQ, "MQ" },
	{ VIRTIO_F_INDIRECT_DESC, "INDIRECT_DESC" },
	{ VIRTIO_F_EVENT_IDX, "EVENT_IDX" },
	{ VIRTIO_F_VERSION_1, "VERSION_1" },
};

void
vnet_feature_names(uint64_t f, char *buf, unsigned len)
{
	unsigned n = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++) {
		if (!(f & VIRTIO_BIT(feature_names[i].bit)) || n >= len)
			continue;
		n += (unsigned)snprintf(buf + n, len - n, "%s%s", n > 0 ? " " : "",
		    feature_names[i].name);
	}
}

/* What the driver asks for; virtio_start keeps what the device offers. */
static uint64_t
vnet_wanted(void)
{
	return VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
	    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
	    VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
	    VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
	    VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
}

/*
 * What the wanted features require (5.1.3.1): a device may offer one
 * without the other, and then neither is taken.
 */
static const struct virtio_dep vnet_deps[] = {
	{ VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_CSUM },
	{ VIRTIO_NET_F_MQ, VIRTIO_NET_F_CTRL_VQ },
};

/* A locally administered unicast MAC (02:...), different per device and boot. */
static void
random_mac(uint8_t *mac, int slot)
{
	uint64_t x = clock_ns() * 0x9e3779b97f4a7c15ull + (uint64_t)slot;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	mac[0] = 0x02;			/* bit 1: locally administered; bit 0: unicast */
	for (int i = 1; i < ETH_ALEN; i++)
		mac[i] = (uint8_t)(x >> (8 * i));
}

/* The netif's offload bits: what was negotiated (TSO needs CSUM, 5.1.3.1). */
static uint32_t
netif_features(const struct virtio_dev *d)
{
	uint32_t f = 0;

	if (virtio_has(d, VIRTIO_NET_F_CSUM))
		f |= NETIF_F_TX_CSUM;
	if (virtio_has(d, VIRTIO_NET_F_CSUM) && virtio_has(d, VIRTIO_NET_F_HOST_TSO4))
		f |= NETIF_F_TSO4;
	if (virtio_has(d, VIRTIO_NET_F_GUEST_CSUM))
		f |= NETIF_F_RX_CSUM;
	return f;
}

/* ---- queues ------------------------------------------------------------ */

/*
 * Set up queue q of the device as vq, at most want entries, interrupts
 * (if handler) on core.  0, or -1 with the reason printed.  *irq says
 * whether the interrupt is routed.
 */
static int
queue_setup(struct vnet *v, int q, struct virtq *vq, int want, int core,
    void (*handler)(void *), void *arg, int *irq)
{
	struct virtio_dev *d = v->d;
	int max = d->ops->queue_max(d, q), size = 1, r;

	if (max <= 0) {
		printf("%s: the device has no queue %d\n", d->name, q);
		return -1;
	}
	while (size * 2 <= max && size * 2 <= want)	/* a power of two, <= both */
		size *= 2;
	if (virtq_init(vq, size, virtio_has(d, VIRTIO_F_EVENT_IDX)) < 0) {
		printf("%s: no memory for queue %d (%d entries)\n", d->name, q, size);
		return -1;
	}
	r = d->ops->queue_enable(d, q, vq, core, handler, arg);
	if (r == -1) {
		printf("%s: the device refused queue %d\n", d->name, q);
		virtq_destroy(vq);	/* sets vq->desc NULL: nothing to free later */
		return -1;
	}
	if (irq != NULL)
		*irq = (r == 0);
	if (r == -2)
		printf("%s: no interrupt for queue %d: core %d polls it when idle\n",
		    d->name, q, core);
	return 0;
}

/* Set up pair i: its receive queue (interrupts on core i) and its transmit queue. */
static int
pair_setup(struct vnet *v, int i)
{
	struct vnet_pair *p = &v->pair[i];

	p->v = v;
	p->index = i;
	if (queue_setup(v, vnet_rxq(i), &p->rx, VNET_QUEUE_SIZE, i,
	    vnet_rx_interrupt, p, &p->rx_irq) < 0)
		return -1;
	if ((p->polling = !p->rx_irq))	/* no interrupt: always in polling mode, */
		virtq_disable_cb(&p->rx);	/* and the device need not signal */
	if (queue_setup(v, vnet_txq(i), &p->tx, VNET_QUEUE_SIZE, i, NULL, NULL, NULL) < 0)
		return -1;
	virtq_disable_cb(&p->tx);	/* harvested when convenient: no interrupts */
	return 0;
}

/*
 * One control command, synchronously: offer it, notify, and poll the
 * control queue until the device answers or VNET_CTRL_TIMEOUT_MS pass.
 * 0 if it answered VIRTIO_NET_OK; -1 with the reason printed.  If it
 * never answers, the buffer stays with the device until the reset.
 */
static int
ctrl_command(struct vnet *v, uint8_t cls, uint8_t cmd, uint16_t data, const char *what)
{
	struct virtio_dev *d = v->d;
	struct virtq_seg seg[3] = {
		{ &v->cmd.cls, 2 },		/* class and command */
		{ &v->cmd.pairs, 2 },		/* the data */
		{ &v->cmd.ack, 1 },		/* the device's answer */
	};
	uint64_t deadline;
	void *tok;

	v->cmd.cls = cls;
	v->cmd.cmd = cmd;
	v->cmd.pairs = data;
	v->cmd.ack = 0xff;		/* neither OK nor ERR */
	if (virtq_add(&v->ctrl, seg, 2, 1, &v->cmd) < 0) {
		printf("%s: %s: the control queue is too small\n", d->name, what);
		return -1;
	}
	if (virtq_kick(&v->ctrl))
		d->ops->notify(d, 2 * v->max_pairs);
	deadline = clock_ns() + (uint64_t)VNET_CTRL_TIMEOUT_MS * 1000000;
	while ((tok = virtq_get(&v->ctrl, NULL)) == NULL) {
		if (clock_ns() > deadline) {
			printf("%s: %s: no answer on the control queue in %d ms\n",
			    d->name, what, VNET_CTRL_TIMEOUT_MS);
			return -1;
		}
		__builtin_ia32_pause();	/* a spin-wait hint to the CPU */
	}
	/* virtq_get's acquire of used->idx ordered the device's ack before it. */
	if (v->cmd.ack != VIRTIO_NET_OK) {
		printf("%s: %s: the device refused it (ack %u)\n", d->name, what,
		    (unsigned)v->cmd.ack);
		return -1;
	}
	return 0;
}

/*
 * Free everything of v (the device must be reset: it uses nothing).
 * Safe on a half-built v: queues not set up have no memory.
 */
static void
vnet_free(struct vnet *v)
{
	for (int i = 0; v->pair != NULL && i < v->pairs; i++) {
		struct vnet_pair *p = &v->pair[i];

		if (p->rx.desc != NULL) {
			vnet_rx_drain(p);
			virtq_destroy(&p->rx);
		}
		if (p->tx.desc != NULL) {
			vnet_tx_drain(p);
			virtq_destroy(&p->tx);
		}
	}
	if (v->has_ctrl)
		virtq_destroy(&v->ctrl);
	kfree(v->pair);
	kfree(v);
}

/* Give up on a device that holds none of our memory: reset, FAILED; -1. */
static int
give_up(struct virtio_dev *d)
{
	d->ops->reset(d);
	virtio_fail(d);
	return -1;
}

/* Give up on a half-attached device: stop it, free v, mark it FAILED; -1. */
static int
attach_fail(struct vnet *v)
{
	struct virtio_dev *d = v->d;

	d->ops->reset(d);		/* first: the device lets go of our memory */
	vnet_free(v);
	virtio_fail(d);
	return -1;
}

/* Fill in slot's netif for v and register it the first time. */
static void
netif_setup(struct vnet *v, const uint8_t *mac)
{
	struct netif *nif = &vnet_nifs[v->slot];

	/* A reused slot is on the list already: only its fields change. */
	nif->ops = &vnet_ops;
	nif->driver = v;
	snprintf(nif->name, NETIF_NAME_MAX, "vnet%d", v->slot);
	memcpy(nif->mac, mac, ETH_ALEN);
	nif->mtu = VNET_MTU;
	nif->features = netif_features(v->d);
	netif_set_queues(nif, v->pairs);	/* one pair: netif_input steers */
	nif->ip = nif->netmask = nif->gateway = 0;
	nif->input = NULL;		/* the stack's */
	memset(&nif->stats, 0, sizeof nif->stats);
	v->nif = nif;
	if (!registered[v->slot] && netif_add(nif) == 0)
		registered[v->slot] = 1;
}

/* The device's struct vnet, or NULL. */
static struct vnet *
vnet_of(struct virtio_dev *d)
{
	for (int s = 0; s < VNET_MAX; s++)
		if (vnets[s] != NULL && vnets[s]->d == d)
			return vnets[s];
	return NULL;
}

/* The one line vnet_attach prints. */
static void
print_attach(struct vnet *v, int random, int link)
{
	char feat[256];
	const uint8_t *m = v->nif->mac;

	vnet_feature_names(v->d->features, feat, sizeof feat);
	printf("%s: %s, mac %02x:%02x:%02x:%02x:%02x:%02x%s, link %s, "
	    "%d queue pair%s (device max %d), features: %s\n",
	    v->nif->name, v->d->name, m[0], m[1], m[2], m[3], m[4], m[5],
	    random ? " (random: no MAC feature)" : "",
	    link < 0 ? "up (assumed: no STATUS feature)" : link ? "up" : "down",
	    v->pairs, v->pairs == 1 ? "" : "s", v->max_pairs, feat);
}

/* What vnet_attach reads from the configuration space (5.1.4). */
struct vnet_cfg {
	uint8_t mac[ETH_ALEN];
	int random;			/* no MAC feature: mac is made up */
	int link;			/* 1 up, 0 down, -1 unknown (no STATUS) */
	uint16_t max_pairs;		/* 1 without MQ */
};

/* Read the configuration; 0, or -1 with the reason printed. */
static int
config_read(struct virtio_dev *d, int slot, struct vnet_cfg *c)
{
	uint16_t status;

	c->random = !virtio_has(d, VIRTIO_NET_F_MAC);
	if (c->random)
		random_mac(c->mac, slot);
	else
		d->ops->read_config(d, VIRTIO_NET_CFG_MAC, c->mac, ETH_ALEN);
	c->link = -1;
	if (virtio_has(d, VIRTIO_NET_F_STATUS)) {
		d->ops->read_config(d, VIRTIO_NET_CFG_STATUS, &status, 2);
		c->link = (status & VIRTIO_NET_S_LINK_UP) != 0;
	}
	c->max_pairs = 1;
	if (virtio_has(d, VIRTIO_NET_F_MQ) && virtio_has(d, VIRTIO_NET_F_CTRL_VQ)) {
		d->ops->read_config(d, VIRTIO_NET_CFG_MAX_PAIRS, &c->max_pairs, 2);
		if (c->max_pairs < 1 || c->max_pairs > 0x8000) {
			printf("%s: max_virtqueue_pairs %u is out of range (1..32768)\n",
			    d->name, (unsigned)c->max_pairs);
			return -1;
		}
	}
	return 0;
}

/*
 * Set up every queue of v (pairs, then the control queue) and fill the
 * receive queues, all before DRIVER_OK.  0, or -1 with the reason printed
 * (what was built is left for vnet_free).
 */
static int
queues_setup(struct vnet *v)
{
	struct virtio_dev *d = v->d;
	size_t bytes = sizeof *v->pair * (size_t)v->pairs;

	if ((v->pair = kaligned_alloc(CACHE_LINE, bytes)) == NULL) {
		printf("%s: no memory for %d queue pairs\n", d->name, v->pairs);
		return -1;
	}
	memset(v->pair, 0, bytes);
	for (int i = 0; i < v->pairs; i++)
		if (pair_setup(v, i) < 0)
			return -1;
	if (virtio_has(d, VIRTIO_NET_F_CTRL_VQ)) {
		if (queue_setup(v, 2 * v->max_pairs, &v->ctrl, 16, 0, NULL, NULL, NULL) < 0)
			return -1;
		v->has_ctrl = 1;
		virtq_disable_cb(&v->ctrl);	/* polled */
	}
	for (int i = 0; i < v->pairs; i++) {
		if (vnet_rx_fill(&v->pair[i]) == 0) {
			printf("%s: no memory for receive buffers\n", d->name);
			return -1;
		}
	}
	return 0;
}

int
vnet_attach(struct virtio_dev *d)
{
	struct vnet_cfg cfg;
	struct vnet *v;
	int slot;

	if (vnet_of(d) != NULL) {
		printf("%s: attached already\n", d->name);
		return -1;
	}
	for (slot = 0; slot < VNET_MAX && vnets[slot] != NULL; slot++)
		;
	if (slot == VNET_MAX) {
		printf("%s: too many virtio-net devices (at most %d)\n", d->name, VNET_MAX);
		virtio_fail(d);
		return -1;
	}
	if (virtio_start(d, vnet_wanted(), vnet_deps,
	    (int)(sizeof vnet_deps / sizeof vnet_deps[0])) < 0)
		return -1;		/* printed, FAILED */
	if (config_read(d, slot, &cfg) < 0)
		return give_up(d);
	if ((v = kcalloc(1, sizeof *v)) == NULL) {
		printf("%s: no memory for the driver's state\n", d->name);
		return give_up(d);
	}
	v->d = d;
	v->slot = slot;
	v->max_pairs = cfg.max_pairs;
	v->pairs = cfg.max_pairs < core_count() ? cfg.max_pairs : core_count();
	if (queues_setup(v) < 0)
		return attach_fail(v);

	virtio_ready(d);		/* DRIVER_OK: now the device may run */
	for (int i = 0; i < v->pairs; i++)
		vnet_rx_kick(&v->pair[i]);	/* no notification before DRIVER_OK */
	if (virtio_has(d, VIRTIO_NET_F_MQ) && v->has_ctrl &&
	    ctrl_command(v, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
	    (uint16_t)v->pairs, "VQ_PAIRS_SET") < 0)
		return attach_fail(v);

	netif_setup(v, cfg.mac);
	if (!hooked) {
		event_hook_boundary(vnet_boundary);	/* panics once the loops run */
		hooked = 1;
	}
	vnets[slot] = v;		/* published to the cores by the loops' start */
	print_attach(v, cfg.random, cfg.link);
	return 0;
}

void
vnet_detach(struct virtio_dev *d)
{
	struct vnet *v = vnet_of(d);

	if (v == NULL)
		return;
	vnets[v->slot] = NULL;
	d->ops->reset(d);		/* the device lets go of every buffer */
	v->nif->driver = NULL;		/* vnet_transmit: ENODEV from now on */
	vnet_free(v);
}

struct netif *
vnet_netif(struct virtio_dev *d)
{
	struct vnet *v = vnet_of(d);

	return v != NULL ? v->nif : NULL;
}

/* ---- counters ---------------------------------------------------------- */

void
vnet_stats(struct netif *nif, int q, struct vnet_stats *st)
{
	struct vnet *v = nif->driver;
	const uint64_t *from;
	uint64_t *to = (uint64_t *)st;

	memset(st, 0, sizeof *st);
	if (v == NULL || q < 0 || q >= v->pairs)
		return;
	/* Relaxed loads: each counter is a statistic; they order nothing. */
	from = (const uint64_t *)&v->pair[q].st;
	for (size_t i = 0; i < sizeof *st / sizeof(uint64_t); i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

/* netif_ops.print_stats: one line per queue pair. */
static void
vnet_print_stats(struct netif *nif)
{
	struct vnet *v = nif->driver;
	struct vnet_stats s;

	if (v == NULL) {
		printf("%s: detached\n", nif->name);
		return;
	}
	for (int q = 0; q < v->pairs; q++) {
		vnet_stats(nif, q, &s);
		printf("%s q%d: rx %llu frames %llu bytes, tx %llu frames %llu bytes, "
		    "drops rx %llu nomem %llu malformed, tx %llu full %llu other, "
		    "handed over tx %llu (%llu lost), "
		    "%llu bad used, %llu copies, %llu kicks, %llu interrupts, "
		    "lost %llu kicks %llu interrupts\n",
		    nif->name, q,
		    (unsigned long long)s.rx_frames, (unsigned long long)s.rx_bytes,
		    (unsigned long long)s.tx_frames, (unsigned long long)s.tx_bytes,
		    (unsigned long long)s.rx_nomem, (unsigned long long)s.rx_malformed,
		    (unsigned long long)s.tx_full, (unsigned long long)s.tx_errors,
		    (unsigned long long)s.tx_handed, (unsigned long long)s.tx_handoff_drops,
		    (unsigned long long)s.bad_used,
		    (unsigned long long)s.tx_copies, (unsigned long long)s.kicks,
		    (unsigned long long)s.interrupts, (unsigned long long)s.lost_kicks,
		    (unsigned long long)s.lost_irqs);
	}
}
