/*
 * print.h: the kernel's own printf, for code that must not allocate or
 * lock: trap reports, panic, allocator diagnostics, early boot.
 *
 * Conversions: %d %i %u %x %X %o %c %s %p %%, with the flags - 0 + space #,
 * a width and a precision (numbers or *), and the length modifiers hh h l
 * ll z t j.  No floating point.  The output matches C's printf for every
 * conversion it supports (test/test_print.c checks that against glibc).
 * Applications use newlib's (native) or glibc's (hosted) printf instead.
 */
#ifndef PRINT_H
#define PRINT_H

#include <stdarg.h>
#include <stddef.h>

/* Like vsnprintf: at most size bytes with the NUL; returns the full length. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format to the console (platform.h's console_write), in chunks. */
int kvprintf(const char *fmt, va_list ap);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
