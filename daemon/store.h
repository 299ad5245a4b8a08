/*
 * store.h — the kernel's durable state: one LMDB environment in the state
 * directory, blocks, cranks and the activity hash.  This header is the
 * contract for everything above it.
 *
 * Tables (LMDB named databases):
 *   kv           the kernel's key/value state; every write is hashed
 *   transcripts  vat transcripts (not hashed)
 *   bundles      installed bundles (not hashed)
 *   snapshots    which heap snapshot stands for which transcript position
 *                of each vat (not hashed; the snapshots themselves are
 *                files, see ksnapshot.c)
 *   meta         store bookkeeping: height, activity hash at the last
 *                commit, committed crank count, format version (not hashed)
 *
 * Block = one LMDB write transaction, opened on demand by the first
 * store_crank_begin() after a commit, made durable by store_block_commit().
 * Crank = a nested (child) transaction inside the block:
 * store_crank_commit() folds it into the block and advances the activity
 * hash; store_crank_abort() leaves no trace (not in LMDB, not in the hash).
 * Every write must happen inside a crank.
 *
 * Crank hash and activity hash — encoding in docs/state.md:
 *   crank hash    = SHA-256 over the crank's kv writes, in order, each as
 *                   "S" u64be(klen) key u64be(vlen) value   (set) or
 *                   "D" u64be(klen) key                     (delete)
 *   activity hash = SHA-256(previous activity hash (32 bytes, zeros at
 *                   the start) ‖ crank hash (32 bytes))
 * The activity hash is kept in kv under "activityhash" (64 lowercase hex
 * characters), a write that is itself not hashed; callers may not write
 * or delete that key (STORE_EINVAL).
 *
 * A full map (MDB_MAP_FULL) is not an error the caller sees: the store
 * keeps a redo log of the open block, grows the map (doubling, up to
 * max_map_size), replays the block and retries.  Only when max_map_size is
 * reached does a write fail, with STORE_EFULL; the crank must then be
 * aborted, and the block stays as it was.  A failed durable commit (e.g.
 * ENOSPC) likewise leaves the block open and intact, to be committed again.
 *
 * Not thread-safe; one process at a time owns a state directory (enforced
 * by the daemon's lock file, not here).
 */
#ifndef DAEMON_STORE_H
#define DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_HASH_LEN		32	/* raw SHA-256 bytes */
#define STORE_HASH_HEXLEN	64

enum store_table {
	STORE_KV = 0,
	STORE_TRANSCRIPTS,
	STORE_BUNDLES,
	STORE_META,
	STORE_SNAPSHOTS,
	STORE_NTABLES
};

enum store_rc {
	STORE_OK = 0,
	STORE_NOTFOUND = 1,	/* get/next: no such key */
	STORE_EIO = -1,		/* LMDB or the file system failed; see
				   store_errmsg() */
	STORE_EFULL = -2,	/* max_map_size reached */
	STORE_ESTATE = -3,	/* call out of order: write outside a crank,
				   crank inside a crank, commit inside a
				   crank, … (a caller bug) */
	STORE_EFORMAT = -4,	/* the directory holds another format */
	STORE_ENOMEM = -5,
	STORE_EINVAL = -6,	/* bad argument: unknown table, key length
				   not in 1..511 (LMDB's limit) */
};

struct store;

struct store_options {
	size_t	map_size;	/* initial map size in bytes (>= 1 MiB) */
	size_t	max_map_size;	/* growth stops here; 0 = no limit */
	bool	no_sync;	/* tests only: skip fsync on commit */
};

/*
 * Open (creating if needed) the environment in directory [in] dir, which
 * must exist.  On success *out is the store; on failure *out is NULL and,
 * if errbuf is non-NULL, a message naming the path and the reason is put in
 * errbuf (at most errlen bytes, NUL-terminated).
 */
int	store_open(const char *dir, const struct store_options *opt,
	    struct store **out, char *errbuf, size_t errlen);

/* Abort any open crank and block, close the environment, free st. */
void	store_close(struct store *st);

/* The last error's message (valid until the next store call). */
const char *store_errmsg(const struct store *st);
const char *store_strerror(int rc);

/* ---- blocks --------------------------------------------------------- */

bool	store_block_is_open(const struct store *st);

/*
 * Commit the open block durably (or, with no block open, record an empty
 * block), writing height and the current activity hash to meta.  height
 * must be store_height() + 1: else STORE_ESTATE.  Fails with STORE_ESTATE
 * while a crank is open.  On STORE_EIO / STORE_EFULL nothing was lost: the
 * block is still open and the height unchanged.
 */
int	store_block_commit(struct store *st, uint64_t height);

/* Throw the open block away (all its cranks). */
void	store_block_abort(struct store *st);

/* Last committed height (0 for a new store). */
uint64_t store_height(const struct store *st);

/* ---- cranks --------------------------------------------------------- */

/* Open a crank (and the block, if none is open).  STORE_ESTATE if a
 * crank is already open. */
int	store_crank_begin(struct store *st);

/* Fold the crank into the block, update the activity hash.  If the
 * crank wrote nothing to kv, the activity hash still advances (over the
 * hash of the empty input).  On failure the crank stays open and can
 * only be aborted; the block and the hash are as before the crank. */
int	store_crank_commit(struct store *st);

/* Drop the crank's writes; hash and block are as before the crank. */
void	store_crank_abort(struct store *st);

bool	store_crank_is_open(const struct store *st);

/* Committed cranks since the store was created (includes those in the
 * open block). */
uint64_t store_crank_count(const struct store *st);

/* ---- hashes ---------------------------------------------------------- */

/* Current activity hash as 64 lowercase hex chars + NUL into out[65]:
 * includes cranks committed into the open block. */
void	store_activity_hash(const struct store *st, char out[65]);

/* Activity hash as of the last durable commit. */
void	store_committed_activity_hash(const struct store *st, char out[65]);

/* ---- data ------------------------------------------------------------ */

/*
 * Read key from table.  Reads see the open crank, else the open block,
 * else the committed state.  On STORE_OK, *val / *vlen borrow LMDB memory,
 * valid until the next write or crank/block boundary (store_crank_begin,
 * _commit, _abort, store_block_commit, _abort, store_close).  Outside a
 * block the store keeps a read transaction open for this until that next
 * boundary.  STORE_NOTFOUND: no such key; STORE_EINVAL: bad table or key
 * length; STORE_EIO / STORE_EFULL / STORE_ENOMEM: the open block could not
 * be rebuilt after an earlier failure (see store_errmsg()).
 */
int	store_get(struct store *st, enum store_table t, const void *key,
	    size_t klen, const void **val, size_t *vlen);

/*
 * Write / delete inside the open crank (STORE_ESTATE otherwise).  Deleting
 * an absent key is not an error, and is hashed like any delete.
 * STORE_EINVAL (bad table or key length) changes nothing and the crank
 * stays usable.  Any other failure (STORE_EFULL, STORE_EIO, STORE_ENOMEM)
 * means the write did not happen: the crank can then only be aborted
 * (further writes and store_crank_commit() return STORE_ESTATE).
 */
int	store_put(struct store *st, enum store_table t, const void *key,
	    size_t klen, const void *val, size_t vlen);
int	store_del(struct store *st, enum store_table t, const void *key,
	    size_t klen);

/*
 * The smallest key strictly greater than [in] key in table t (key may be
 * NULL/0 for the first).  On STORE_OK, *next / *nlen borrow LMDB memory as
 * for store_get; STORE_NOTFOUND at the end.
 */
int	store_next_key(struct store *st, enum store_table t, const void *key,
	    size_t klen, const void **next, size_t *nlen);

/* Current map size in bytes (grows on demand). */
size_t	store_map_size(const struct store *st);

#endif
