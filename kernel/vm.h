/*
 * vm.h: editing the kernel's page tables (kernel/vm.c).  Native only.
 */
#ifndef VM_H
#define VM_H

#include <stddef.h>
#include <stdint.h>

#define VM_W	(1 << 0)	/* writable */
#define VM_X	(1 << 1)	/* executable (otherwise no-execute) */
#define VM_UC	(1 << 2)	/* uncached: device memory */

void vm_init(void);
int vm_map(uintptr_t va, uintptr_t pa, size_t len, int flags);
int vm_unmap(uintptr_t va, size_t len);
void vm_guard(void *page, const char *stack_name);
const char *vm_guard_name(uintptr_t addr);
int vm_mapped(uintptr_t va);
uintptr_t vm_kernel_cr3(void);
void vm_core_init(int core);
int vm_fault(uintptr_t addr);

#endif
