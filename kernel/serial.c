/*
 * serial.c: the console, on the first serial port (COM1, a 16550A UART
 * at I/O port 0x3F8; see the PC16550D data sheet for the registers).
 *
 * Output only, polled: each byte waits until the transmit holding
 * register is empty.  QEMU connects COM1 to its standard output
 * (-nographic), so this is what make run prints.  No interrupts, no
 * lock and no buffer: console_write is safe from a trap handler, and
 * bytes from different cores may interleave.
 */
#include "platform.h"
#include "native.h"
#include "x86.h"

#define COM1		0x3F8
#define UART_DATA	0	/* transmit holding / receive buffer (DLAB=0) */
#define UART_IER	1	/* interrupt enable (DLAB=0) */
#define UART_DLL	0	/* divisor latch, low byte (DLAB=1) */
#define UART_DLM	1	/* divisor latch, high byte (DLAB=1) */
#define UART_FCR	2	/* FIFO control */
#define UART_LCR	3	/* line control */
#define UART_MCR	4	/* modem control */
#define UART_LSR	5	/* line status */

#define LCR_8N1		0x03	/* 8 data bits, no parity, 1 stop bit */
#define LCR_DLAB	0x80	/* divisor latch access */
#define FCR_ENABLE	0xC7	/* enable and clear FIFOs, 14-byte trigger */
#define MCR_DTR_RTS	0x03	/* data terminal ready, request to send */
#define LSR_THRE	0x20	/* transmit holding register empty */

void
serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);		/* no interrupts */
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, 1);		/* 115200 / 1 = 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_ENABLE);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

static void
serial_putc(char c)
{
	while ((inb(COM1 + UART_LSR) & LSR_THRE) == 0)
		;
	outb(COM1 + UART_DATA, (uint8_t)c);
}

/* platform.h: newlines become CR LF, as a terminal expects. */
void
console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}
