/*
 * acpi.c: which processors this machine has, from the ACPI tables
 * (ACPI specification 6.5, section 5.2).  No ACPICA, no AML: only the
 * few fixed-format tables that name the processors.
 *
 * The chain, each link checked before it is followed:
 *
 *	RSDP (5.2.5)	"RSD PTR ", on a 16-byte boundary in the first KiB
 *			of the EBDA or in the BIOS ROM area 0xE0000-0xFFFFF;
 *			its first 20 bytes sum to 0 (and, from revision 2,
 *			all of its 36 bytes too)
 *	XSDT (5.2.8)	64-bit addresses of the other tables (revision 2);
 *	  or RSDT (5.2.7) the same with 32-bit addresses (ACPI 1.0)
 *	MADT (5.2.12)	signature "APIC": the local APIC's address and one
 *			entry per processor:
 *			  type 0, Processor Local APIC: an 8-bit APIC id
 *			  type 9, Processor Local x2APIC: a 32-bit one
 *			  type 5, Local APIC Address Override: a 64-bit address
 *			each with flags: bit 0 "enabled", bit 1 "online
 *			capable" (may be hot-added later: we do not)
 *
 * Every table starts with the same 36-byte header (5.2.6) whose bytes,
 * over its whole length, sum to 0.  A table that fails its checksum or
 * whose entries run past its end is reported on the console and not
 * used; without a usable MADT the machine runs on one core.
 *
 * acpi_init runs once, on core 0, before kernel/vm.c unmaps page 0: the
 * BIOS data area there holds the EBDA's segment (at 0x40E).  Tables are
 * read through boot.S's identity map of the first 4 GiB; a table above
 * that is reported and skipped.  The result is a list of APIC ids, in
 * MADT order, that kernel/smp.c starts one by one.
 */
#include <string.h>

#include "native.h"
#include "platform.h"
#include "print.h"

#define EBDA_SEG_PTR	0x40E		/* BIOS data area: the EBDA's segment */
#define ROM_BASE	0xE0000		/* the BIOS read-only area searched */
#define ROM_END		0x100000
#define MAPPED_END	(4ULL << 30)	/* what boot.S's map covers */
#define TABLE_MAX	(1 << 20)	/* a longer table is surely corrupt */

#define MADT_LAPIC		0	/* entry types (5.2.12, table 5.21) */
#define MADT_LAPIC_OVERRIDE	5
#define MADT_X2APIC		9
#define MADT_ENABLED		(1 << 0)	/* processor flags (table 5.23) */

/* Root System Description Pointer (5.2.5.3). */
struct rsdp {
	char sig[8];		/* "RSD PTR " */
	uint8_t checksum;	/* the first 20 bytes sum to 0 */
	char oem[6];
	uint8_t revision;	/* 0: ACPI 1.0, RSDT only; 2: the fields below */
	uint32_t rsdt;		/* the RSDT's physical address */
	uint32_t length;	/* of this structure, from revision 2 */
	uint64_t xsdt;		/* the XSDT's physical address */
	uint8_t xchecksum;	/* the whole structure sums to 0 */
	uint8_t reserved[3];
} __attribute__((packed));

/* The header of every System Description Table (5.2.6). */
struct sdt {
	char sig[4];
	uint32_t length;	/* of the whole table, header included */
	uint8_t revision;
	uint8_t checksum;	/* the whole table sums to 0 */
	char oem[6];
	char oem_table[8];
	uint32_t oem_revision;
	uint32_t creator;
	uint32_t creator_revision;
} __attribute__((packed));

/* The Multiple APIC Description Table (5.2.12): a header, then entries. */
struct madt {
	struct sdt h;
	uint32_t lapic;		/* the local APICs' physical address */
	uint32_t flags;		/* bit 0: the machine also has 8259 PICs */
} __attribute__((packed));

struct madt_entry {
	uint8_t type;
	uint8_t length;		/* of the entry, these two bytes included */
} __attribute__((packed));

struct madt_lapic {		/* type 0 (5.2.12.2) */
	struct madt_entry e;
	uint8_t uid;		/* the processor's ACPI uid */
	uint8_t apic;		/* its local APIC id */
	uint32_t flags;
} __attribute__((packed));

struct madt_override {		/* type 5 (5.2.12.8) */
	struct madt_entry e;
	uint16_t reserved;
	uint64_t lapic;		/* replaces struct madt's 32-bit address */
} __attribute__((packed));

struct madt_x2apic {		/* type 9 (5.2.12.12) */
	struct madt_entry e;
	uint16_t reserved;
	uint32_t apic;		/* its x2APIC id */
	uint32_t flags;
	uint32_t uid;
} __attribute__((packed));

/* What acpi_init found; written once, on core 0, before other cores start. */
static uint32_t cpu_apic[NCPU];	/* the enabled processors' APIC ids */
static int ncpus;		/* how many; 0 without a usable MADT */
static uint64_t lapic_addr;	/* the local APICs' address; 0 if unknown */

/* The sum of n bytes at p, modulo 256. */
static uint8_t
sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n-- > 0)
		s += *b++;
	return s;
}

/* A valid RSDP on a 16-byte boundary in [base, base + len), or NULL. */
static struct rsdp *
rsdp_scan(uintptr_t base, size_t len)
{
	for (uintptr_t p = base; p + sizeof(struct rsdp) <= base + len; p += 16) {
		struct rsdp *r = (struct rsdp *)p;
		if (memcmp(r->sig, "RSD PTR ", 8) != 0)
			continue;
		if (sum(r, 20) != 0) {
			kprintf("acpi: RSDP at %#lx: bad checksum; ignored\n", p);
			continue;
		}
		if (r->revision >= 2 && (r->length < sizeof *r || sum(r, r->length) != 0)) {
			kprintf("acpi: RSDP at %#lx: bad extended checksum; ignored\n", p);
			continue;
		}
		return r;
	}
	return NULL;
}

/* The RSDP: first in the EBDA's first KiB, then in the BIOS ROM area. */
static struct rsdp *
rsdp_find(void)
{
	const uint16_t *seg = (const uint16_t *)EBDA_SEG_PTR;
	struct rsdp *r = NULL;

	/* GCC takes an address this small for a null pointer; hide the constant. */
	__asm__("" : "+r"(seg));
	uintptr_t ebda = (uintptr_t)*seg << 4;

	if (ebda >= 0x80000 && ebda < 0xA0000)	/* plausible: just below 640 KiB */
		r = rsdp_scan(ebda, 1024);
	if (r == NULL)
		r = rsdp_scan(ROM_BASE, ROM_END - ROM_BASE);
	return r;
}

/*
 * The table at physical address pa if it is mapped, has signature sig
 * (NULL: any) and a sane length, and sums to 0; else NULL, reported.
 */
static struct sdt *
table_at(uint64_t pa, const char *sig)
{
	struct sdt *t = (struct sdt *)(uintptr_t)pa;

	if (pa == 0 || pa + sizeof *t > MAPPED_END) {
		kprintf("acpi: a table at %#llx is out of reach; skipped\n",
		    (unsigned long long)pa);
		return NULL;
	}
	if (sig != NULL && memcmp(t->sig, sig, 4) != 0) {
		kprintf("acpi: expected %.4s at %#llx, found something else\n", sig,
		    (unsigned long long)pa);
		return NULL;
	}
	if (t->length < sizeof *t || t->length > TABLE_MAX || pa + t->length > MAPPED_END) {
		kprintf("acpi: %.4s at %#llx: bad length %u; ignored\n", t->sig,
		    (unsigned long long)pa, t->length);
		return NULL;
	}
	if (sum(t, t->length) != 0) {
		kprintf("acpi: %.4s at %#llx: bad checksum; ignored\n", t->sig,
		    (unsigned long long)pa);
		return NULL;
	}
	return t;
}

/*
 * The table with signature sig listed in the XSDT (entry size 8) or the
 * RSDT (entry size 4) at root, or NULL.
 */
static struct sdt *
table_find(struct sdt *root, size_t entry_size, const char *sig)
{
	const uint8_t *e = (const uint8_t *)(root + 1);
	size_t n = (root->length - sizeof *root) / entry_size;

	for (size_t i = 0; i < n; i++) {
		uint64_t pa = 0;
		memcpy(&pa, e + i * entry_size, entry_size);	/* little-endian */
		if (pa + sizeof(struct sdt) > MAPPED_END) {
			kprintf("acpi: a table at %#llx is out of reach; skipped\n",
			    (unsigned long long)pa);
			continue;
		}
		if (pa != 0 && memcmp(((struct sdt *)(uintptr_t)pa)->sig, sig, 4) == 0)
			return table_at(pa, sig);
	}
	return NULL;
}

/* Add an enabled processor's APIC id, once. */
static void
cpu_add(uint32_t apic)
{
	for (int i = 0; i < ncpus; i++)
		if (cpu_apic[i] == apic)
			return;		/* listed as both type 0 and type 9 */
	if (ncpus == NCPU) {
		kprintf("acpi: more than %d processors; APIC id %u left out\n", NCPU, apic);
		return;
	}
	cpu_apic[ncpus++] = apic;
}

/*
 * Read the MADT's entries; returns 0, or -1 (and forgets every
 * processor) if an entry is malformed.
 */
static int
madt_parse(struct madt *m)
{
	const uint8_t *p = (const uint8_t *)(m + 1), *end = (const uint8_t *)m + m->h.length;

	lapic_addr = m->lapic;
	while (p + sizeof(struct madt_entry) <= end) {
		const struct madt_entry *e = (const struct madt_entry *)p;
		if (e->length < sizeof *e || p + e->length > end)
			goto bad;
		if (e->type == MADT_LAPIC) {
			const struct madt_lapic *l = (const void *)e;
			if (e->length < sizeof *l)
				goto bad;
			if ((l->flags & MADT_ENABLED) && l->apic != 0xFF)
				cpu_add(l->apic);
		} else if (e->type == MADT_X2APIC) {
			const struct madt_x2apic *x = (const void *)e;
			if (e->length < sizeof *x)
				goto bad;
			if ((x->flags & MADT_ENABLED) && x->apic != 0xFFFFFFFF)
				cpu_add(x->apic);
		} else if (e->type == MADT_LAPIC_OVERRIDE) {
			const struct madt_override *o = (const void *)e;
			if (e->length < sizeof *o)
				goto bad;
			lapic_addr = o->lapic;
		}
		p += e->length;
	}
	return 0;
bad:
	kprintf("acpi: MADT entry at %#lx (type %u) is malformed; MADT ignored\n",
	    (uintptr_t)p, p[0]);
	ncpus = 0;
	lapic_addr = 0;
	return -1;
}

/* Find the MADT and list the enabled processors (core 0, once). */
void
acpi_init(void)
{
	struct rsdp *r = rsdp_find();
	struct sdt *root = NULL, *madt = NULL;

	if (r == NULL) {
		kprintf("acpi: no RSDP found; running on one core\n");
		return;
	}
	if (r->revision >= 2 && r->xsdt != 0 && (root = table_at(r->xsdt, "XSDT")) != NULL)
		madt = table_find(root, 8, "APIC");
	else if ((root = table_at(r->rsdt, "RSDT")) != NULL)
		madt = table_find(root, 4, "APIC");
	if (madt == NULL || madt->length < sizeof(struct madt)) {
		kprintf("acpi: no usable MADT; running on one core\n");
		return;
	}
	if (madt_parse((struct madt *)madt) < 0)
		return;
	kprintf("acpi: %.4s lists %d processor%s, local APICs at %#llx\n", root->sig,
	    ncpus, ncpus == 1 ? "" : "s", (unsigned long long)lapic_addr);
}

/* How many enabled processors the MADT lists (0: no usable MADT). */
int
acpi_cpu_count(void)
{
	return ncpus;
}

/* The APIC id of the i-th of them, in MADT order. */
uint32_t
acpi_cpu_apic(int i)
{
	if (i < 0 || i >= ncpus)
		panic("acpi_cpu_apic: no processor %d", i);
	return cpu_apic[i];
}

/* The local APICs' physical address the MADT gives, or 0. */
uint64_t
acpi_lapic_addr(void)
{
	return lapic_addr;
}
