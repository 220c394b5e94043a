/*
 * malloc.h: the general-purpose allocator, C's malloc family with a k in
 * front.  Portable.
 *
 * Requests up to KMALLOC_MAX_SLAB bytes come from slab caches of fixed
 * size classes, 8 16 32 64 96 128 192 256 512 1024 2048 4096; larger
 * ones are whole page blocks.  kernel/malloc.c explains the design.  The
 * native image maps malloc, free and the rest of newlib's family onto
 * these; the hosted build keeps glibc's, so the two can be compared.
 *
 * Every call may be made on any core, after kmalloc_init(), and a block
 * may be freed on any core.  Running out of memory returns NULL (errno is
 * the caller's business); freeing what kmalloc did not hand out, or
 * freeing twice, panics.
 *
 * Alignment: every block is aligned to 16 bytes, except that blocks of
 * at most 8 bytes are aligned to 8 (no object that small needs more);
 * kaligned_alloc and kposix_memalign give any power of two up to 8 MiB.
 */
#ifndef MALLOC_H
#define MALLOC_H

#include <stddef.h>

#define KMALLOC_MAX_SLAB 4096	/* the largest size class; above: page blocks */

/* Create the size classes' caches: once, after slab_init(). */
void kmalloc_init(void);

/* size bytes, or NULL.  kmalloc(0) is a unique block of 8 bytes. */
void *kmalloc(size_t size);

/* Free what the k-functions here returned; NULL is ignored. */
void kfree(void *p);

/* n * size bytes of zeros, or NULL (also if n * size overflows). */
void *kcalloc(size_t n, size_t size);

/*
 * Resize p to size bytes, keeping its contents up to the smaller size;
 * in place when the size class stays the same, else moved.  NULL if
 * memory runs out (p is then untouched).  krealloc(NULL, n) is
 * kmalloc(n); krealloc(p, 0) frees p and returns NULL.
 */
void *krealloc(void *p, size_t size);

/* size bytes aligned to align (a power of two), or NULL. */
void *kaligned_alloc(size_t align, size_t size);

/*
 * posix_memalign: *out = size bytes aligned to align; returns 0, EINVAL
 * if align is not a power of two times sizeof(void *), or ENOMEM.
 */
int kposix_memalign(void **out, size_t align, size_t size);

/* How many bytes the block p really has (at least what was asked for). */
size_t kmalloc_usable_size(const void *p);

#endif
