/*
 * symbols.c: function names for the hosted runtime's backtraces, from
 * the program's own ELF symbol table: the hosted counterpart of the
 * table the native image carries (kernel/ksym.c).
 *
 * glibc's backtrace_symbols names only what the dynamic symbol table
 * holds, and that holds none of our functions (static ones never, the
 * others only when linked with -rdynamic), so it printed bare offsets,
 * "build/hosted/fault(+0x2a3c)".  The full symbol table, .symtab, is in
 * the file (nothing strips it), static functions included.  So:
 *
 *	symbols_find(addr)
 *	  first call: open /proc/self/exe, map it read-only, find .symtab
 *	    and its string table through the section headers, and the load
 *	    bias (a position-independent program runs at an address of the
 *	    kernel's choosing: __ehdr_start, where the ELF header is mapped,
 *	    less the address the file gives it);
 *	  every call: scan the symbols in code sections (functions, and
 *	    assembly labels without a type, as ebb/switch.S's) for the one
 *	    that holds addr - bias: the last to start at or below it, and
 *	    not ended before it (its size, or for a label without one, the
 *	    end of its section: an address in a shared library is in none).
 *
 * No allocation and no lock, only system calls (open, fstat, mmap,
 * close), so it may run in the fault handler (hosted/platform.c): a
 * report is the one place it is used.  A program without a symbol table
 * (stripped) gets no names; the report then prints addresses alone.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosted.h"

/* Where the kernel mapped our ELF header (the linker defines it). */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));

static int loaded;			/* 1: tried; the fields below if found */
static const Elf64_Shdr *secs;		/* the section headers */
static size_t nsecs;
static const Elf64_Sym *syms;		/* .symtab */
static size_t nsyms;
static const char *strs;		/* its string table */
static size_t strs_len;
static uintptr_t bias;			/* run-time address - file address */

/* Is [off, off + len) inside a file of size n? */
static int
in_file(uint64_t off, uint64_t len, size_t n)
{
	return off <= n && len <= n - off;
}

/* Map the program and find its symbol table; leaves syms NULL if not. */
static void
load(void)
{
	struct stat st;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	const uint8_t *f = MAP_FAILED;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(Elf64_Ehdr))
		f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return;
	size_t n = (size_t)st.st_size;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), n) ||
	    !in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), n))
		return;

	/* The bias: the segment that maps the file's start maps the header. */
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
			bias = (uintptr_t)__ehdr_start - ph[i].p_vaddr;

	const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *st_sh = &sh[sh[i].sh_link];
		if (!in_file(sh[i].sh_offset, sh[i].sh_size, n) ||
		    !in_file(st_sh->sh_offset, st_sh->sh_size, n))
			return;
		secs = sh;
		nsecs = eh->e_shnum;
		syms = (const Elf64_Sym *)(f + sh[i].sh_offset);
		nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
		strs = (const char *)(f + st_sh->sh_offset);
		strs_len = st_sh->sh_size;
		return;
	}
}

/*
 * The name of the function of this program that holds addr, with
 * *offset set to addr's distance from its start; NULL if none does (an
 * address in a shared library, or no symbol table).
 */
const char *
symbols_find(uintptr_t addr, uintptr_t *offset)
{
	const Elf64_Sym *best = NULL;
	uintptr_t a;

	if (!loaded) {
		loaded = 1;
		load();		/* sets bias */
	}
	a = addr - bias;
	for (size_t i = 0; i < nsyms; i++) {
		const Elf64_Sym *s = &syms[i];
		int type = ELF64_ST_TYPE(s->st_info);
		if ((type != STT_FUNC && type != STT_NOTYPE) || s->st_shndx == SHN_UNDEF ||
		    s->st_shndx >= nsecs || !(secs[s->st_shndx].sh_flags & SHF_EXECINSTR) ||
		    s->st_value > a || s->st_name == 0 || s->st_name >= strs_len)
			continue;
		if (best == NULL || s->st_value > best->st_value)
			best = s;
	}
	if (best == NULL)
		return NULL;
	const Elf64_Shdr *sec = &secs[best->st_shndx];
	if (best->st_size != 0 ? a - best->st_value >= best->st_size :
	    a - sec->sh_addr >= sec->sh_size)
		return NULL;
	*offset = a - best->st_value;
	return strs + best->st_name;
}
