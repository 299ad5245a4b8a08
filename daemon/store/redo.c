/*
 * redo.c — the in-memory redo log of the open block (see
 * store_impl.h).  Owns two growable arrays: the entries and the bytes of
 * their keys and values.  Knows nothing of LMDB or of cranks: store.c
 * remembers where the open crank starts and truncates back to it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/store/store_impl.h"

#define REDO_MIN_ENTS	64
#define REDO_MIN_BYTES	4096

void
store_redo_init(struct store_redo *rd)
{
	memset(rd, 0, sizeof(*rd));
}

void
store_redo_clear(struct store_redo *rd)
{
	free(rd->rd_ents);
	free(rd->rd_buf);
	store_redo_init(rd);
}

/* Make room for one more entry and need more bytes; 0 or -1/errno. */
static int
store_redo_reserve(struct store_redo *rd, size_t need)
{
	struct store_redo_ent	*ents;
	unsigned char		*buf;
	size_t			 cap;

	if (need > SIZE_MAX - rd->rd_len) {
		errno = EOVERFLOW;
		return -1;
	}
	if (rd->rd_n == rd->rd_cap) {
		cap = rd->rd_cap ? rd->rd_cap * 2 : REDO_MIN_ENTS;
		ents = reallocarray(rd->rd_ents, cap, sizeof(*ents));
		if (ents == NULL)
			return -1;
		rd->rd_ents = ents;
		rd->rd_cap = cap;
	}
	if (rd->rd_len + need > rd->rd_bcap) {
		cap = rd->rd_bcap ? rd->rd_bcap : REDO_MIN_BYTES;
		while (cap < rd->rd_len + need)
			cap = cap > SIZE_MAX / 2 ? rd->rd_len + need : cap * 2;
		if ((buf = realloc(rd->rd_buf, cap)) == NULL)
			return -1;
		rd->rd_buf = buf;
		rd->rd_bcap = cap;
	}
	return 0;
}

int
store_redo_append(struct store_redo *rd, enum store_redo_op op, int table,
    const void *key, size_t klen, const void *val, size_t vlen)
{
	struct store_redo_ent	*e;

	if (op == STORE_REDO_DEL)
		vlen = 0;
	if (vlen > SIZE_MAX - klen) {
		errno = EOVERFLOW;
		return -1;
	}
	if (store_redo_reserve(rd, klen + vlen) == -1)
		return -1;
	e = &rd->rd_ents[rd->rd_n++];
	e->re_op = (uint8_t)op;
	e->re_table = (uint8_t)table;
	e->re_off = rd->rd_len;
	e->re_klen = klen;
	e->re_vlen = vlen;
	if (klen > 0)
		memcpy(rd->rd_buf + rd->rd_len, key, klen);
	if (vlen > 0)
		memcpy(rd->rd_buf + rd->rd_len + klen, val, vlen);
	rd->rd_len += klen + vlen;
	return 0;
}

void
store_redo_truncate(struct store_redo *rd, size_t n)
{
	if (n >= rd->rd_n)
		return;
	rd->rd_len = rd->rd_ents[n].re_off;
	rd->rd_n = n;
}

size_t
store_redo_count(const struct store_redo *rd)
{
	return rd->rd_n;
}

void
store_redo_get(const struct store_redo *rd, size_t i,
    struct store_redo_rec *out)
{
	const struct store_redo_ent *e = &rd->rd_ents[i];

	out->op = (enum store_redo_op)e->re_op;
	out->table = e->re_table;
	out->key = rd->rd_buf + e->re_off;
	out->klen = e->re_klen;
	out->val = e->re_op == STORE_REDO_DEL ? NULL :
	    rd->rd_buf + e->re_off + e->re_klen;
	out->vlen = e->re_vlen;
}
