/*
 * store_redo.h — the redo log of the open block: every write of the block,
 * in order, kept in memory so that store.c can replay the block into a
 * fresh LMDB transaction after growing a full map or after a failed
 * commit.  Pure memory: no LMDB, no hashing.  Used by the daemon/store*.c files only.
 *
 * Entries are appended at the end and dropped from the end (a crank abort
 * truncates back to the crank's first entry).  Keys and values are copied.
 */
#ifndef DAEMON_STORE_REDO_H
#define DAEMON_STORE_REDO_H

#include <stddef.h>
#include <stdint.h>

enum store_redo_op {
	STORE_REDO_PUT = 1,
	STORE_REDO_DEL
};

/* One entry as handed back by store_redo_get(). */
struct store_redo_rec {
	enum store_redo_op	 op;
	int			 table;	/* an enum store_table */
	const void		*key;	/* borrowed: valid until the next
					   append, truncate or clear */
	size_t			 klen;
	const void		*val;	/* NULL, 0 for STORE_REDO_DEL */
	size_t			 vlen;
};

struct store_redo_ent {
	uint8_t		 re_op;
	uint8_t		 re_table;
	size_t		 re_off;	/* key at rd_buf + re_off, then value */
	size_t		 re_klen;
	size_t		 re_vlen;
};

struct store_redo {
	struct store_redo_ent	*rd_ents;
	size_t			 rd_n;		/* entries in use */
	size_t			 rd_cap;	/* entries allocated */
	unsigned char		*rd_buf;	/* keys and values in a row */
	size_t			 rd_len;	/* bytes of rd_buf in use */
	size_t			 rd_bcap;	/* bytes of rd_buf allocated */
};

/* An empty log; allocates nothing. */
void	store_redo_init(struct store_redo *rd);

/* Drop every entry and free the memory; the log stays usable. */
void	store_redo_clear(struct store_redo *rd);

/* Copy one write to the end.  0, or -1 with errno ENOMEM (or EOVERFLOW
 * for sizes that do not add up); the log is then unchanged. */
int	store_redo_append(struct store_redo *rd, enum store_redo_op op,
	    int table, const void *key, size_t klen, const void *val,
	    size_t vlen);

/* Keep the first n entries (n <= store_redo_count()). */
void	store_redo_truncate(struct store_redo *rd, size_t n);

size_t	store_redo_count(const struct store_redo *rd);

/* Entry i (< store_redo_count()) into *out. */
void	store_redo_get(const struct store_redo *rd, size_t i,
	    struct store_redo_rec *out);

#endif
