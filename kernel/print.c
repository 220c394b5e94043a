/*
 * print.c: a small printf (see print.h), portable.
 *
 * One formatter, vformat, writes characters into a sink.  A sink is a
 * buffer plus what to do when it is full: ksnprintf's sink truncates
 * (but keeps counting, as vsnprintf must); kprintf's sink is a small
 * stack buffer that it hands to console_write whenever it fills, so
 * printing never allocates and works from a trap handler.
 *
 * A conversion is parsed into a struct spec, its argument is fetched at
 * the width the length modifier says, and numbers are rendered right to
 * left into a scratch buffer before padding is applied.
 */
#include <stdint.h>

#include "platform.h"
#include "print.h"

struct sink {
	char *buf;
	size_t cap;		/* bytes buf can hold */
	size_t len;		/* bytes in buf now */
	size_t total;		/* bytes produced, including any dropped */
	int console;		/* flush to the console when full? */
};

static void
put(struct sink *s, char c)
{
	if (s->len == s->cap && s->console) {
		console_write(s->buf, s->len);
		s->len = 0;
	}
	if (s->len < s->cap)
		s->buf[s->len++] = c;
	s->total++;
}

static void
put_n(struct sink *s, char c, int n)
{
	while (n-- > 0)
		put(s, c);
}

struct spec {
	int left;		/* '-': pad on the right */
	int zero;		/* '0': pad numbers with zeros */
	int plus;		/* '+': sign positive numbers */
	int space;		/* ' ': a space before positive numbers */
	int alt;		/* '#': 0x prefix / leading 0 */
	int width;		/* minimum field width */
	int prec;		/* precision, -1 if none */
	int len;		/* 'H' hh, 'h', 0, 'l', 'L' ll/j/z/t */
};

/* Render an unsigned number with sign and prefix, padded to the spec. */
static void
put_number(struct sink *s, struct spec *sp, unsigned long long v, int base,
    int upper, const char *sign)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	while (v != 0) {
		tmp[n++] = digits[v % base];
		v /= base;
	}
	/* Precision 0 with value 0 prints no digits; octal '#' keeps one 0. */
	int ndig = n > sp->prec ? n : sp->prec;
	if (sp->prec < 0 && n == 0)
		ndig = 1;
	const char *prefix = "";
	if (sp->alt && base == 16 && n > 0)
		prefix = upper ? "0X" : "0x";
	if (sp->alt && base == 8 && ndig <= n)
		ndig = n + 1;
	int plen = 0;
	while (prefix[plen])
		plen++;
	int slen = sign[0] != '\0';
	int pad = sp->width - ndig - plen - slen;
	int zeros = ndig - n;

	if (sp->zero && !sp->left && sp->prec < 0) {
		zeros += pad > 0 ? pad : 0;
		pad = 0;
	}
	if (!sp->left)
		put_n(s, ' ', pad);
	if (slen)
		put(s, sign[0]);
	for (int i = 0; i < plen; i++)
		put(s, prefix[i]);
	put_n(s, '0', zeros);
	while (n > 0)
		put(s, tmp[--n]);
	if (sp->left)
		put_n(s, ' ', pad);
}

static void
put_string(struct sink *s, struct spec *sp, const char *str)
{
	int n = 0;

	if (str == NULL)
		str = "(null)";
	while (str[n] != '\0' && (sp->prec < 0 || n < sp->prec))
		n++;
	if (!sp->left)
		put_n(s, ' ', sp->width - n);
	for (int i = 0; i < n; i++)
		put(s, str[i]);
	if (sp->left)
		put_n(s, ' ', sp->width - n);
}

/* Fetch a signed argument at the width the length modifier gives. */
static long long
arg_signed(va_list *ap, int len)
{
	switch (len) {
	case 'H': return (signed char)va_arg(*ap, int);
	case 'h': return (short)va_arg(*ap, int);
	case 0:   return va_arg(*ap, int);
	case 'l': return va_arg(*ap, long);
	default:  return va_arg(*ap, long long);
	}
}

static unsigned long long
arg_unsigned(va_list *ap, int len)
{
	switch (len) {
	case 'H': return (unsigned char)va_arg(*ap, unsigned);
	case 'h': return (unsigned short)va_arg(*ap, unsigned);
	case 0:   return va_arg(*ap, unsigned);
	case 'l': return va_arg(*ap, unsigned long);
	default:  return va_arg(*ap, unsigned long long);
	}
}

/* Parse flags, width, precision and length at *fmt into sp. */
static const char *
parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ .prec = -1 };
	for (;; f++) {
		if (*f == '-') sp->left = 1;
		else if (*f == '0') sp->zero = 1;
		else if (*f == '+') sp->plus = 1;
		else if (*f == ' ') sp->space = 1;
		else if (*f == '#') sp->alt = 1;
		else break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = 1;
			sp->width = -sp->width;
		}
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		sp->prec = 0;
		if (*f == '*') {
			sp->prec = va_arg(*ap, int);
			if (sp->prec < 0)
				sp->prec = -1;
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->prec = sp->prec * 10 + (*f++ - '0');
	}
	if (f[0] == 'h' && f[1] == 'h') { sp->len = 'H'; f += 2; }
	else if (f[0] == 'l' && f[1] == 'l') { sp->len = 'L'; f += 2; }
	else if (*f == 'h') { sp->len = 'h'; f++; }
	else if (*f == 'l') { sp->len = 'l'; f++; }
	else if (*f == 'z' || *f == 't' || *f == 'j') { sp->len = 'L'; f++; }
	return f;
}

static void
vformat(struct sink *s, const char *f, va_list ap_in)
{
	struct spec sp;
	va_list ap;

	va_copy(ap, ap_in);
	for (; *f != '\0'; f++) {
		if (*f != '%') {
			put(s, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp, &ap);
		switch (*f) {
		case 'd':
		case 'i': {
			long long v = arg_signed(&ap, sp.len);
			const char *sign = v < 0 ? "-" : sp.plus ? "+" : sp.space ? " " : "";
			unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
			put_number(s, &sp, mag, 10, 0, sign);
			break;
		}
		case 'u':
			put_number(s, &sp, arg_unsigned(&ap, sp.len), 10, 0, "");
			break;
		case 'x':
		case 'X':
			put_number(s, &sp, arg_unsigned(&ap, sp.len), 16, *f == 'X', "");
			break;
		case 'o':
			put_number(s, &sp, arg_unsigned(&ap, sp.len), 8, 0, "");
			break;
		case 'p': {
			uintptr_t p = (uintptr_t)va_arg(ap, void *);
			if (p == 0) {
				sp.prec = -1;
				put_string(s, &sp, "(nil)");
				break;
			}
			sp.alt = 1;
			put_number(s, &sp, p, 16, 0, sp.plus ? "+" : sp.space ? " " : "");
			break;
		}
		case 'c':
			sp.prec = -1;
			put_n(s, ' ', sp.left ? 0 : sp.width - 1);
			put(s, (char)va_arg(ap, int));
			put_n(s, ' ', sp.left ? sp.width - 1 : 0);
			break;
		case 's':
			put_string(s, &sp, va_arg(ap, const char *));
			break;
		case '%':
			put(s, '%');
			break;
		case '\0':
			f--;		/* a lone % at the end: print nothing */
			break;
		default:		/* unknown: print it as written */
			put(s, '%');
			put(s, *f);
			break;
		}
	}
	va_end(ap);
}

int
kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	char dummy;
	struct sink s = { size ? buf : &dummy, size ? size - 1 : 0, 0, 0, 0 };

	vformat(&s, fmt, ap);
	if (size)
		buf[s.len] = '\0';
	return (int)s.total;
}

int
ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int
kvprintf(const char *fmt, va_list ap)
{
	char buf[128];
	struct sink s = { buf, sizeof buf, 0, 0, 1 };

	vformat(&s, fmt, ap);
	if (s.len)
		console_write(buf, s.len);
	return (int)s.total;
}

int
kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}
