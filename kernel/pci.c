/*
 * pci.c: the PCI scan, once at boot, and the matching of drivers to
 * devices (pci.h says how a driver declares itself).
 *
 * Typical sequence, all on core 0 in kmain before the runtime starts:
 *
 *	pci_init -> scan_bus (for all 256 buses) -> scan_fn
 *	         -> bars_decode, caps_walk  (fill one struct pci_dev)
 *	         -> drivers_match           (call matching probes)
 *
 * Every bus number is scanned, rather than following bridges'
 * secondary bus numbers: that is 8192 reads of a vendor id, fast even
 * under TCG, and it finds every function however the firmware numbered
 * the bridges.  Function 0 of each slot is read first; functions 1..7
 * only when its header says it is multifunction (spec 6.2.1).
 *
 * MSI-X (pci.h has the sequence a driver follows): pci_msix_enable maps
 * the table through pci_map, turns MSI-X on with the whole function
 * masked and masks every entry, so that nothing fires half-programmed;
 * pci_msix_route writes an entry (masked) with the address of one
 * core's local APIC and a vector; the driver unmasks the entries it
 * routed, then the function.  Every table access is an uncached 32-bit
 * load or store (spec 6.8.2: DWORD accesses), and x86 keeps uncached
 * stores in program order, so "mask, write address and data, unmask"
 * reaches the device in that order.
 *
 * Invariant: after pci_init the table never changes, so it is read
 * without a lock from any core.  Configuration space through ports
 * 0xCF8/0xCFC is an address/data pair, not atomic: only pci_init (core
 * 0, alone) and the probes it calls use it; a later user needs a lock.
 */
#include "native.h"
#include "param.h"
#include "pci.h"
#include "print.h"
#include "vm.h"
#include "x86.h"

#define CONFIG_ADDRESS	0xCF8	/* bit 31 enable, bus 23..16, dev 15..11, fn 10..8, reg 7..2 */
#define CONFIG_DATA	0xCFC
#define CAPS_MAX	48	/* a list longer than 256 / 4 bytes has a loop */
#define MAP_LIMIT	(1ULL << 39)	/* pci_map's identity map stays in the
					 * first PML4 slot (kernel/vm.c) */

static struct pci_dev devs[PCI_MAX_DEVICES];
static int ndevs;
static int dropped;	/* functions found beyond PCI_MAX_DEVICES */

extern const struct pci_driver __pci_drivers_start[], __pci_drivers_end[];

/* The configuration-mechanism-#1 address of a register. */
static uint32_t
config_addr(int bus, int dev, int fn, int off)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 |
	    (uint32_t)fn << 8 | (uint32_t)(off & 0xFC);
}

/* Read a 32-bit configuration register of any function (mechanism #1). */
static uint32_t
config_read(int bus, int dev, int fn, int off)
{
	outl(CONFIG_ADDRESS, config_addr(bus, dev, fn, off));
	return inl(CONFIG_DATA);
}

/* Read a 32-bit register (off a multiple of 4) of a found function. */
uint32_t
pci_read32(const struct pci_dev *d, int off)
{
	return config_read(d->bus, d->dev, d->fn, off);
}

/* Write a 32-bit register (off a multiple of 4) of a found function. */
void
pci_write32(const struct pci_dev *d, int off, uint32_t v)
{
	outl(CONFIG_ADDRESS, config_addr(d->bus, d->dev, d->fn, off));
	outl(CONFIG_DATA, v);
}

/* Read the byte at off of a found function. */
uint8_t
pci_read8(const struct pci_dev *d, int off)
{
	return (uint8_t)(pci_read32(d, off) >> (8 * (off & 3)));
}

/*
 * Probe one BAR's size: write all ones, read back which address bits
 * stick, restore.  The caller has turned decoding off, so the device
 * never answers at the all-ones address meanwhile.  Returns the bits
 * that stuck (the size mask), 64 bits wide for a 64-bit BAR.
 */
static uint64_t
bar_mask(const struct pci_dev *d, int off, int is64)
{
	uint32_t lo = pci_read32(d, off), hi = 0, mhi = ~0u;
	pci_write32(d, off, ~0u);
	uint32_t mlo = pci_read32(d, off);
	pci_write32(d, off, lo);
	if (is64) {
		hi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, ~0u);
		mhi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, hi);
	}
	return (uint64_t)mhi << 32 | mlo;
}

/* Decode the six BARs of a type 0 header: kind, address and size. */
static void
bars_decode(struct pci_dev *d)
{
	/* The command register is the low half; writing the status half
	 * back would clear its write-one-to-clear bits, so write zeros there. */
	uint32_t cmd = pci_read32(d, PCI_COMMAND) & 0xFFFF;
	pci_write32(d, PCI_COMMAND, cmd & ~(uint32_t)(PCI_CMD_IO | PCI_CMD_MEM));
	for (int i = 0; i < PCI_NBAR; i++) {
		int off = PCI_BAR0 + 4 * i;
		uint32_t v = pci_read32(d, off);
		struct pci_bar *b = &d->bar[i];
		if (v & PCI_BAR_IO) {
			uint64_t m = bar_mask(d, off, 0) & 0xFFFCu;
			if (m == 0)
				continue;
			b->kind = PCI_BAR_KIND_IO;
			b->addr = v & 0xFFFCu;
			b->size = (~m + 1) & 0xFFFFu;
		} else {
			int is64 = (v & 0x6) == PCI_BAR_MEM64 && i + 1 < PCI_NBAR;
			uint64_t m = bar_mask(d, off, is64) & ~(uint64_t)0xF;
			if (!is64)
				m &= 0xFFFFFFFFu;
			if (m == 0)
				continue;	/* nothing stuck: no BAR */
			if (!is64)
				m |= 0xFFFFFFFF00000000ull;	/* sizes below 4 GiB */
			b->kind = is64 ? PCI_BAR_KIND_MEM64 : PCI_BAR_KIND_MEM32;
			b->addr = v & ~(uint64_t)0xF;
			if (is64)
				b->addr |= (uint64_t)pci_read32(d, off + 4) << 32;
			b->size = ~m + 1;
			if (is64)
				i++;	/* the upper half is not a BAR of its own */
		}
	}
	pci_write32(d, PCI_COMMAND, cmd);	/* decoding back as it was */
}

/*
 * The offset of the first capability with id id after the one at off
 * (0: from the start of the list), or 0 if there is none.
 */
int
pci_cap_next(const struct pci_dev *d, int off, int id)
{
	if (!(pci_read32(d, PCI_COMMAND) >> 16 & PCI_STATUS_CAPS))
		return 0;
	int p = off ? pci_read8(d, off + 1) : pci_read8(d, PCI_CAP_PTR);
	for (int n = 0; n < CAPS_MAX && (p &= 0xFC) != 0; n++) {
		if (pci_read8(d, p) == id)
			return p;
		p = pci_read8(d, p + 1);
	}
	return 0;
}

/* Note the first capability of each kind we name. */
static void
caps_walk(struct pci_dev *d)
{
	d->cap_pm = (uint8_t)pci_cap_next(d, 0, PCI_CAP_PM);
	d->cap_msi = (uint8_t)pci_cap_next(d, 0, PCI_CAP_MSI);
	d->cap_vendor = (uint8_t)pci_cap_next(d, 0, PCI_CAP_VENDOR);
	d->cap_pcie = (uint8_t)pci_cap_next(d, 0, PCI_CAP_PCIE);
	d->cap_msix = (uint8_t)pci_cap_next(d, 0, PCI_CAP_MSIX);
	if (d->cap_msix)
		d->msix_size = (uint16_t)(((pci_read32(d, d->cap_msix) >> 16) & MSIX_CTRL_SIZE) + 1);
}

/*
 * Let the device decode its memory BARs and master the bus (DMA), with
 * its INTx pin off: this kernel takes device interrupts only by MSI-X.
 */
void
pci_enable(struct pci_dev *d)
{
	uint32_t cmd = pci_read32(d, PCI_COMMAND) & 0xFFFF;	/* no write-one-to-clear */

	pci_write32(d, PCI_COMMAND, cmd | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_OFF);
}

/*
 * Stop the device's DMA: bus mastering off, so that it can reach no
 * memory any more (for a device that will not reset, before its
 * driver frees the buffers it was given).  Configuration space, so
 * under the rule at the top of this file: core 0, nobody else using it.
 */
void
pci_master_off(struct pci_dev *d)
{
	uint32_t cmd = pci_read32(d, PCI_COMMAND) & 0xFFFF;	/* no write-one-to-clear */

	pci_write32(d, PCI_COMMAND, cmd & ~(uint32_t)PCI_CMD_MASTER);
}

/*
 * The address of [off, off + len) in memory BAR bar, mapped uncached
 * and writable (identity: the address is the physical one), or NULL,
 * said why, if the range is not inside a memory BAR or cannot be
 * mapped.  Below 4 GiB vm_init mapped device memory so already; mapping
 * again says so and covers a 64-bit BAR placed above.  Core 0, in
 * pci_init's probes, while the other cores are parked: nobody else
 * edits page tables, and no core has a translation of a BAR cached.
 */
volatile void *
pci_map(const struct pci_dev *d, int bar, uint64_t off, uint64_t len)
{
	const struct pci_bar *b = bar >= 0 && bar < PCI_NBAR ? &d->bar[bar] : NULL;

	if (b == NULL || (b->kind != PCI_BAR_KIND_MEM32 && b->kind != PCI_BAR_KIND_MEM64)) {
		kprintf("pci %02x:%02x.%x: BAR%d is not a memory BAR\n", d->bus, d->dev, d->fn, bar);
		return NULL;
	}
	if (len == 0 || off > b->size || len > b->size - off) {
		kprintf("pci %02x:%02x.%x: %#llx bytes at %#llx are outside BAR%d (%#llx bytes)\n",
		    d->bus, d->dev, d->fn, (unsigned long long)len, (unsigned long long)off, bar,
		    (unsigned long long)b->size);
		return NULL;
	}
	uint64_t pa = b->addr + off;
	uint64_t lo = pa & ~(uint64_t)(PAGE_SIZE - 1);
	uint64_t hi = (pa + len + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	if (b->addr == 0 || hi > MAP_LIMIT || memmap_is_ram(pa)) {
		kprintf("pci %02x:%02x.%x: BAR%d at %#llx cannot be mapped\n", d->bus, d->dev, d->fn,
		    bar, (unsigned long long)b->addr);
		return NULL;
	}
	if (vm_map(lo, lo, hi - lo, VM_W | VM_UC) < 0) {
		kprintf("pci %02x:%02x.%x: no memory for page tables to map BAR%d\n",
		    d->bus, d->dev, d->fn, bar);
		return NULL;
	}
	return (volatile void *)(uintptr_t)pa;
}

/* ---- MSI-X ------------------------------------------------------------- */

/* The 32-bit register reg of MSI-X table entry `entry`. */
static volatile uint32_t *
msix_reg(struct pci_dev *d, int entry, int reg)
{
	return (volatile uint32_t *)(d->msix_table + entry * MSIX_ENTRY + reg);
}

/* Write the MSI-X message control register (the high half of the capability's first dword). */
static void
msix_ctrl(struct pci_dev *d, uint16_t ctrl)
{
	uint32_t low = pci_read32(d, d->cap_msix) & 0xFFFF;

	pci_write32(d, d->cap_msix, (uint32_t)ctrl << 16 | low);
}

/*
 * Map the device's MSI-X table, check where its pending-bit array is,
 * and turn MSI-X on with the function and every entry masked.  Returns
 * the number of entries, or -1 (said why) if the device has no usable
 * MSI-X.  Once per device, in its probe.
 */
int
pci_msix_enable(struct pci_dev *d)
{
	if (d->cap_msix == 0)
		return -1;
	if (d->msix_table != NULL)
		return d->msix_size;
	uint32_t t = pci_read32(d, d->cap_msix + MSIX_TABLE);
	uint32_t p = pci_read32(d, d->cap_msix + MSIX_PBA);
	int n = d->msix_size;
	volatile void *table = pci_map(d, (int)(t & 7), t & ~7u, (uint64_t)n * MSIX_ENTRY);
	if (table == NULL || pci_map(d, (int)(p & 7), p & ~7u, (uint64_t)(n + 63) / 64 * 8) == NULL) {
		kprintf("pci %02x:%02x.%x: MSI-X table or pending bits out of place; MSI-X not used\n",
		    d->bus, d->dev, d->fn);
		return -1;
	}
	d->msix_table = table;
	uint16_t ctrl = (uint16_t)(pci_read32(d, d->cap_msix) >> 16);
	msix_ctrl(d, ctrl | MSIX_CTRL_ON | MSIX_CTRL_MASK);
	for (int i = 0; i < n; i++)
		pci_msix_mask(d, i);
	return n;
}

/*
 * Aim MSI-X entry `entry` at core `core` with vector `vector`: fixed
 * delivery, edge-triggered, physical destination (SDM vol. 3, 10.11.1
 * and 10.11.2).  The entry is left masked.  0, or -1 if there is no
 * such entry or the core's APIC id does not fit the 8-bit destination
 * (x2APIC ids above 255 would need interrupt remapping).
 */
int
pci_msix_route(struct pci_dev *d, int entry, int core, int vector)
{
	uint32_t apic = core_apic(core);

	if (d->msix_table == NULL || entry < 0 || entry >= d->msix_size || apic > 255 ||
	    vector < T_IRQ_FIRST || vector > T_IRQ_LAST)
		return -1;
	pci_msix_mask(d, entry);
	*msix_reg(d, entry, MSIX_ADDR_LO) = MSI_ADDR_BASE | apic << 12;
	*msix_reg(d, entry, MSIX_ADDR_HI) = 0;
	*msix_reg(d, entry, MSIX_DATA) = (uint32_t)vector;	/* fixed, edge: bits 15..8 zero */
	return 0;
}

/* Mask entry `entry`: it holds its interrupts pending. */
void
pci_msix_mask(struct pci_dev *d, int entry)
{
	volatile uint32_t *v = msix_reg(d, entry, MSIX_VCTRL);

	*v |= 1;
}

/* Unmask entry `entry`: it fires (one held pending fires now). */
void
pci_msix_unmask(struct pci_dev *d, int entry)
{
	volatile uint32_t *v = msix_reg(d, entry, MSIX_VCTRL);

	*v &= ~1u;
}

/* Lift the function mask: every unmasked entry may fire. */
void
pci_msix_start(struct pci_dev *d)
{
	uint16_t ctrl = (uint16_t)(pci_read32(d, d->cap_msix) >> 16);

	msix_ctrl(d, (ctrl | MSIX_CTRL_ON) & ~MSIX_CTRL_MASK);
}

/* Record one present function; returns its header-type byte. */
static uint8_t
scan_fn(int bus, int dev, int fn, uint32_t id)
{
	uint8_t header = (uint8_t)(config_read(bus, dev, fn, PCI_HEADER) >> 16);
	if (ndevs == PCI_MAX_DEVICES) {
		dropped++;
		return header;
	}
	struct pci_dev *d = &devs[ndevs++];
	d->bus = (uint8_t)bus, d->dev = (uint8_t)dev, d->fn = (uint8_t)fn;
	d->vendor = (uint16_t)id, d->device = (uint16_t)(id >> 16);
	uint32_t class = config_read(bus, dev, fn, PCI_CLASS);
	d->class = (uint8_t)(class >> 24);
	d->subclass = (uint8_t)(class >> 16);
	d->progif = (uint8_t)(class >> 8);
	if ((header & 0x7F) == 0)	/* bridges (type 1) have two BARs and
					 * windows; we leave them to firmware */
		bars_decode(d);
	caps_walk(d);
	return header;
}

/* Record every function on bus: function 0 of each slot, 1..7 if multifunction. */
static void
scan_bus(int bus)
{
	for (int dev = 0; dev < 32; dev++) {
		uint32_t id = config_read(bus, dev, 0, PCI_VENDOR);
		if ((id & 0xFFFF) == 0xFFFF)
			continue;
		if (!(scan_fn(bus, dev, 0, id) & PCI_HEADER_MF))
			continue;
		for (int fn = 1; fn < 8; fn++) {
			id = config_read(bus, dev, fn, PCI_VENDOR);
			if ((id & 0xFFFF) != 0xFFFF)
				scan_fn(bus, dev, fn, id);
		}
	}
}

/* Offer each device to the drivers whose ids match, until one takes it. */
static void
drivers_match(void)
{
	for (int i = 0; i < ndevs; i++) {
		struct pci_dev *d = &devs[i];
		for (const struct pci_driver *p = __pci_drivers_start; p < __pci_drivers_end; p++) {
			if (p->vendor != d->vendor || (p->device != PCI_ANY && p->device != d->device))
				continue;
			if (p->probe(d) == 0) {
				d->driver = p;
				break;
			}
		}
	}
}

/* Well-known ids, for the boot listing only. */
static const struct {
	uint16_t vendor, device;
	const char *name;
} known[] = {
	{ 0x1af4, 0x1000, "virtio-net" },	/* transitional */
	{ 0x1af4, 0x1041, "virtio-net" },	/* modern (virtio 1.x) */
	{ 0x8086, 0x29c0, "q35-host-bridge" },
	{ 0x8086, 0x2918, "ich9-lpc" },
	{ 0x8086, 0x2922, "ich9-sata" },
	{ 0x8086, 0x2930, "ich9-smbus" },
	{ 0x1234, 0x1111, "qemu-vga" },
};

/* The well-known name of d's ids, or "unknown". */
static const char *
dev_name(const struct pci_dev *d)
{
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (known[i].vendor == d->vendor && known[i].device == d->device)
			return known[i].name;
	return "unknown";
}

/* A size as 32, 4K, 16M or 2G (exact multiples only). */
static void
size_fmt(char *buf, size_t len, uint64_t size)
{
	static const char unit[] = " KMGT";
	int u = 0;
	while (u < 4 && size >= 1024 && size % 1024 == 0)
		size /= 1024, u++;
	if (u == 0)
		ksnprintf(buf, len, "%lu", (unsigned long)size);
	else
		ksnprintf(buf, len, "%lu%c", (unsigned long)size, unit[u]);
}

/* One line: address, ids, class, name, BARs, named capabilities. */
static void
dev_print(const struct pci_dev *d)
{
	static const char *kind[] = { "", "io", "mem", "mem64" };
	char line[256], sz[16];
	int n = ksnprintf(line, sizeof line, "pci %02x:%02x.%x %04x:%04x class %02x.%02x %s",
	    d->bus, d->dev, d->fn, d->vendor, d->device, d->class, d->subclass, dev_name(d));
	for (int i = 0; i < PCI_NBAR; i++) {
		const struct pci_bar *b = &d->bar[i];
		if (b->kind == PCI_BAR_NONE || n >= (int)sizeof line)
			continue;
		size_fmt(sz, sizeof sz, b->size);
		n += ksnprintf(line + n, sizeof line - n, " BAR%d %s 0x%lx/%s",
		    i, kind[b->kind], (unsigned long)b->addr, sz);
	}
	if (n < (int)sizeof line && (d->cap_pm | d->cap_msi | d->cap_msix | d->cap_pcie | d->cap_vendor))
		n += ksnprintf(line + n, sizeof line - n, " caps%s%s%s%s%s",
		    d->cap_pm ? " pm" : "", d->cap_msi ? " msi" : "", d->cap_msix ? " msix" : "",
		    d->cap_pcie ? " pcie" : "", d->cap_vendor ? " vendor" : "");
	if (n < (int)sizeof line && d->cap_msix)
		ksnprintf(line + n, sizeof line - n, " msix-table %d", d->msix_size);
	kprintf("%s%s%s\n", line, d->driver ? " driver " : "", d->driver ? d->driver->name : "");
}

/*
 * Scan every bus, offer the devices to the drivers, print the count
 * (and, if verbose, one line per device).
 */
void
pci_init(int verbose)
{
	for (int bus = 0; bus < 256; bus++)
		scan_bus(bus);
	drivers_match();
	kprintf("pci: %d devices\n", ndevs);
	if (dropped)
		kprintf("pci: %d more not recorded (PCI_MAX_DEVICES)\n", dropped);
	for (int i = 0; verbose && i < ndevs; i++)
		dev_print(&devs[i]);
}

/* How many functions pci_init recorded. */
int
pci_count(void)
{
	return ndevs;
}

/* The i-th function recorded, or NULL. */
struct pci_dev *
pci_get(int i)
{
	return i >= 0 && i < ndevs ? &devs[i] : NULL;
}
