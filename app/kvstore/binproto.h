/*
 * binproto.h: the numbers of memcached's binary protocol (the draft
 * "Memcache Binary Protocol", sections 3.2 and 3.3): the magic bytes,
 * the opcodes and the response statuses, for binary.c and its tests.
 */
#ifndef KV_BINPROTO_H
#define KV_BINPROTO_H

/* Opcodes (the draft's section 3.3); the Q forms are quiet. */
enum {
	OP_GET = 0x00, OP_SET = 0x01, OP_ADD = 0x02, OP_REPLACE = 0x03,
	OP_DELETE = 0x04, OP_INCR = 0x05, OP_DECR = 0x06, OP_QUIT = 0x07,
	OP_FLUSH = 0x08, OP_GETQ = 0x09, OP_NOOP = 0x0a, OP_VERSION = 0x0b,
	OP_GETK = 0x0c, OP_GETKQ = 0x0d, OP_APPEND = 0x0e, OP_PREPEND = 0x0f,
	OP_STAT = 0x10, OP_SETQ = 0x11, OP_ADDQ = 0x12, OP_REPLACEQ = 0x13,
	OP_DELETEQ = 0x14, OP_INCRQ = 0x15, OP_DECRQ = 0x16, OP_QUITQ = 0x17,
	OP_FLUSHQ = 0x18, OP_APPENDQ = 0x19, OP_PREPENDQ = 0x1a,
	OP_TOUCH = 0x1c, OP_GAT = 0x1d, OP_GATQ = 0x1e, OP_GATK = 0x23, OP_GATKQ = 0x24,
};

/* Response statuses (section 3.2), and the body memcached sends with each. */
enum {
	ST_OK = 0x00, ST_NOT_FOUND = 0x01, ST_EXISTS = 0x02, ST_TOO_LARGE = 0x03,
	ST_EINVAL = 0x04, ST_NOT_STORED = 0x05, ST_NON_NUMERIC = 0x06,
	ST_UNKNOWN = 0x81, ST_NO_MEMORY = 0x82,
};

#define MAGIC_REQ	0x80
#define MAGIC_RES	0x81

#endif
