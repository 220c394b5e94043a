/*
 * multiboot.h: what a multiboot 1 loader hands the kernel in ebx
 * (Multiboot Specification 0.6.96, section 3.3, "Boot information
 * format").  Only the fields this kernel reads are named; the rest of
 * the structure is padding here.
 */
#ifndef MULTIBOOT_H
#define MULTIBOOT_H

#include <stdint.h>

#define MB_INFO_MEM	(1 << 0)	/* mem_lower, mem_upper valid */
#define MB_INFO_CMDLINE	(1 << 2)	/* cmdline valid */
#define MB_INFO_MMAP	(1 << 6)	/* mmap_length, mmap_addr valid */

struct mb_info {
	uint32_t flags;		/* which fields below are valid */
	uint32_t mem_lower;	/* KiB of RAM below 1 MiB */
	uint32_t mem_upper;	/* KiB of RAM above 1 MiB, to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;	/* physical address of a C string */
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;	/* bytes of memory map */
	uint32_t mmap_addr;	/* physical address of the first entry */
} __attribute__((packed));

/* One memory map entry; size counts the bytes after the size field. */
struct mb_mmap {
	uint32_t size;
	uint64_t base;
	uint64_t len;
	uint32_t type;		/* MB_MEM_USABLE, or reserved of some kind */
} __attribute__((packed));

#define MB_MEM_USABLE	1

#endif
