/*
 * pci.h: the PCI devices the kernel found, and how a driver claims one.
 * Native only.
 *
 * Configuration space (PCI Local Bus Spec 3.0, 6.1): 256 bytes per
 * function, read and written through configuration mechanism #1
 * (ports 0xCF8/0xCFC, spec 3.2.2.3.2).  pci_init scans it once, at boot,
 * on core 0, and fills a table that never changes afterwards; readers
 * need no lock.
 *
 * Drivers are found, not called (DESIGN.md, "Floors"): a driver file says
 *
 *	PCI_DRIVER(virtio_net, 0x1af4, 0x1041, vnet_probe);
 *
 * which places a struct pci_driver in the linker section .pci_drivers
 * (kernel/kernel.ld collects them between __pci_drivers_start and
 * __pci_drivers_end).  pci_init calls the probe of every driver whose
 * ids match a device, so the kernel names no driver (today's one:
 * virtio/pci.c, for virtio-net).
 *
 * MSI-X (spec 6.8.2): a device with the capability has a table of
 * entries in one of its memory BARs, each an address and a data word
 * that the device writes to raise an interrupt.  On x86 the address
 * names a local APIC and the data a vector (Intel SDM vol. 3, 10.11), so
 * each entry goes to one core.  A driver, in its probe:
 *
 *	pci_enable(d)			memory decoding and bus mastering on
 *	n = pci_msix_enable(d)		table mapped, MSI-X on, every entry
 *					and the whole function masked
 *	v = irq_alloc(handler, arg)	a vector (platform.h)
 *	pci_msix_route(d, i, core, v)	entry i -> core's APIC, vector v
 *	pci_msix_unmask(d, i)		entry i may fire
 *	pci_msix_start(d)		the function mask off: entries fire
 */
#ifndef PCI_H
#define PCI_H

#include <stdint.h>

/* Configuration-space registers of a type 0 or 1 header (spec 6.2). */
#define PCI_VENDOR	0x00	/* 16 bits; 0xFFFF: no function here */
#define PCI_DEVICE	0x02	/* 16 bits */
#define PCI_COMMAND	0x04	/* 16 bits */
#define  PCI_CMD_IO	0x0001	/* decode I/O BARs */
#define  PCI_CMD_MEM	0x0002	/* decode memory BARs */
#define  PCI_CMD_MASTER	0x0004	/* the device may start DMA (bus master) */
#define  PCI_CMD_INTX_OFF 0x0400	/* the legacy INTx pin disabled */
#define PCI_STATUS	0x06	/* 16 bits */
#define  PCI_STATUS_CAPS 0x0010	/* the capability list at PCI_CAP_PTR exists */
#define PCI_CLASS	0x08	/* 32 bits: class, subclass, prog-if, revision */
#define PCI_HEADER	0x0E	/* 8 bits: layout in bits 0..6, multifunction bit 7 */
#define  PCI_HEADER_MF	0x80
#define PCI_BAR0	0x10	/* six 32-bit BARs in a type 0 header */
#define PCI_SUBSYSTEM	0x2C	/* 32 bits: subsystem vendor (low), subsystem id (high) */
#define PCI_CAP_PTR	0x34	/* 8 bits: first capability (low 2 bits reserved) */

/* BAR low bits (spec 6.2.5.1). */
#define PCI_BAR_IO	0x1	/* bit 0: an I/O BAR */
#define PCI_BAR_MEM64	0x4	/* bits 2..1 = 10: a 64-bit memory BAR */

/* Capability ids (PCI Code and ID Assignment Spec, 2). */
#define PCI_CAP_PM	0x01	/* power management */
#define PCI_CAP_MSI	0x05	/* message signalled interrupts */
#define PCI_CAP_VENDOR	0x09	/* vendor-specific: virtio's structures */
#define PCI_CAP_PCIE	0x10	/* PCI Express */
#define PCI_CAP_MSIX	0x11	/* MSI-X */

/* The MSI-X capability (spec 6.8.2) and table entries (6.8.2.6..9). */
#define MSIX_CTRL	2	/* 16 bits: message control */
#define  MSIX_CTRL_SIZE	0x07FF	/* table size - 1 */
#define  MSIX_CTRL_MASK	0x4000	/* function mask: no entry fires */
#define  MSIX_CTRL_ON	0x8000	/* MSI-X enable */
#define MSIX_TABLE	4	/* 32 bits: table offset | BAR indicator (bits 2..0) */
#define MSIX_PBA	8	/* 32 bits: pending-bit array offset | BIR */
#define MSIX_ENTRY	16	/* bytes per table entry: */
#define  MSIX_ADDR_LO	0	/*   message address, low 32 bits */
#define  MSIX_ADDR_HI	4	/*   message address, high 32 bits */
#define  MSIX_DATA	8	/*   message data */
#define  MSIX_VCTRL	12	/*   vector control: bit 0 masks the entry */
#define MSI_ADDR_BASE	0xFEE00000u	/* x86 MSI address: the local APICs' window,
					 * destination APIC id in bits 19..12, physical
					 * destination mode, no redirection (SDM 10.11.1) */

#define PCI_NBAR	6
#define PCI_ANY		0xFFFF	/* a driver's device id that matches any device */

enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_KIND_IO, PCI_BAR_KIND_MEM32, PCI_BAR_KIND_MEM64 };

/* One decoded BAR.  A 64-bit BAR uses two slots; the upper one is NONE. */
struct pci_bar {
	enum pci_bar_kind kind;
	uint64_t addr;		/* port number or physical address */
	uint64_t size;		/* bytes, from the write-ones probe */
};

struct pci_driver;

/* One function found by the scan.  Written only by pci_init. */
struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class, subclass, progif;
	struct pci_bar bar[PCI_NBAR];
	/* Offsets of the first capability of each kind; 0 if absent. */
	uint8_t cap_pm, cap_msi, cap_vendor, cap_pcie, cap_msix;
	uint16_t msix_size;		/* MSI-X table entries; 0 without MSI-X */
	volatile uint8_t *msix_table;	/* mapped by pci_msix_enable; NULL before;
					 * volatile: device memory, each access is
					 * one uncached access, in program order */
	const struct pci_driver *driver;	/* the driver that claimed it, or NULL */
};

/*
 * A driver's entry.  probe is called once per matching device, on core 0
 * during pci_init, before the runtime starts: it may allocate and print
 * but not use Ebbs or events.  It returns 0 if it took the device (no
 * later driver is offered it) and a negative number if it did not.
 */
struct pci_driver {
	const char *name;
	uint16_t vendor;
	uint16_t device;	/* or PCI_ANY */
	int (*probe)(struct pci_dev *d);
};

#define PCI_DRIVER(name_, vendor_, device_, probe_)				\
	static const struct pci_driver pci_driver_##name_			\
	    __attribute__((used, section(".pci_drivers"), aligned(8))) =	\
	    { #name_, (vendor_), (device_), (probe_) }

void pci_init(int verbose);
int pci_count(void);
struct pci_dev *pci_get(int i);
uint32_t pci_read32(const struct pci_dev *d, int off);
void pci_write32(const struct pci_dev *d, int off, uint32_t v);
int pci_cap_next(const struct pci_dev *d, int off, int id);
uint8_t pci_read8(const struct pci_dev *d, int off);
void pci_enable(struct pci_dev *d);
void pci_master_off(struct pci_dev *d);
volatile void *pci_map(const struct pci_dev *d, int bar, uint64_t off, uint64_t len);
int pci_msix_enable(struct pci_dev *d);
int pci_msix_route(struct pci_dev *d, int entry, int core, int vector);
void pci_msix_mask(struct pci_dev *d, int entry);
void pci_msix_unmask(struct pci_dev *d, int entry);
void pci_msix_start(struct pci_dev *d);

#endif
