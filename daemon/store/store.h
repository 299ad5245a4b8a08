/*
 * store.h — the door of daemon/store/: the kernel's durable state, one
 * LMDB environment in the state directory, blocks, cranks and the
 * activity hash (store.c, txn.c, hash.c, open.c, redo.c), typed access
 * to the kv table (kv.c) and heap snapshot files (snapshots.c).  This header is the contract for
 * everything above it; store_impl.h is private to the folder.
 *
 * Tables (LMDB named databases):
 *   kv           the kernel's key/value state; every write is hashed
 *   transcripts  vat transcripts (not hashed)
 *   bundles      installed bundles (not hashed)
 *   snapshots    which heap snapshot stands for which transcript position
 *                of each vat (not hashed; the snapshots themselves are
 *                files, see daemon/vats/snapshot.c)
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
#ifndef DAEMON_STORE_STORE_H
#define DAEMON_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

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

/* STORE_OK, or the STORE_* code of the first read or write of the open
 * crank that failed (the crank can then only be aborted), or of a
 * failure its caller reported with store_crank_fail(). */
int	store_crank_status(const struct store *st);

/* Mark the open crank failed with rc (for a caller whose work on data it
 * read failed: no memory, a value that does not parse).  No crank: no-op. */
void	store_crank_fail(struct store *st, int rc);

/* Committed cranks since the store was created (includes those in the
 * open block). */
uint64_t store_crank_count(const struct store *st);

/* ---- hashes --------------------------------------------------------- */

/* Current activity hash as 64 lowercase hex chars + NUL into out[65]:
 * includes cranks committed into the open block. */
void	store_activity_hash(const struct store *st, char out[65]);

/* Activity hash as of the last durable commit. */
void	store_committed_activity_hash(const struct store *st, char out[65]);

/* ---- data ----------------------------------------------------------- */

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

/* ---- kv.c: typed access to the kv table ---------------------------- */

/*
 * Values of the kv table as NUL-terminated strings and as JSON, and ID
 * counters.  Writes need an open crank, as store_put() does, and return
 * its codes (STORE_ENOMEM also when the text cannot be made).  Keys and
 * values must not hold a NUL.
 */

/* The value of key (malloc'd, the caller frees it), or NULL when it is
 * absent or memory ran out. */
char	*kv_get(struct store *st, const char *key);
int	 kv_put(struct store *st, const char *key, const char *val);
int	 kv_putf(struct store *st, const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 kv_del(struct store *st, const char *key);

/* The value of key parsed as JSON (any type; a new reference), or NULL
 * when absent or not JSON. */
json_t	*kv_get_json(struct store *st, const char *key);

/* v written compact, keys in insertion order. */
int	 kv_put_json(struct store *st, const char *key, const json_t *v);

/* [out] the next ID of counter (first when it has none yet); the counter
 * is written back one higher. */
int	 kv_alloc(struct store *st, const char *counter, uint64_t first,
	    uint64_t *out);

/* ---- snapshots.c: heap snapshot files ------------------------------- */

/*
 * Heap snapshot files, content-addressed: <stateDir>/snapshots/<sha256
 * hex> holds the snapshot whose bytes hash to that name.  Knows files and
 * hashes only; which vat and transcript position a snapshot stands for is
 * recorded in the snapshots table by daemon/vats/snapshot.c.
 *
 * Durability contract: snapstore_commit() returns only once the file is
 * complete under its final name and both the file and the directory entry
 * are on disk, so a record naming the file may commit after it.
 */

#define SNAPSTORE_HASH_HEXLEN	64

struct snapstore;
struct snapstore_writer;

/* Open (creating it, and syncing its parent, if needed) the directory
 * <state_dir>/snapshots.  -1 with errbuf. */
int	 snapstore_open(const char *state_dir, struct snapstore **out,
	    char *errbuf, size_t errlen);
void	 snapstore_close(struct snapstore *ss);
const char *snapstore_path(const struct snapstore *ss);	/* the directory */

/* Start a new snapshot file (a temporary name until committed).  NULL
 * with errbuf. */
struct snapstore_writer *snapstore_begin(struct snapstore *ss, char *errbuf,
	    size_t errlen);

/* Append [in] len bytes.  After the first failure the writer only counts
 * bytes; the failure is reported by snapstore_commit(). */
void	 snapstore_write(struct snapstore_writer *sw, const void *bytes,
	    size_t len);

/*
 * Finish: fsync the file, rename it to its hash, fsync the directory.
 * [out] hash (65 bytes: hex and NUL) and *size (bytes written).  Frees
 * sw in every case.  -1 with errbuf (the temporary file is removed).
 */
int	 snapstore_commit(struct snapstore_writer *sw, char *hash,
	    uint64_t *size, char *errbuf, size_t errlen);

/* Drop an unfinished snapshot (NULL is fine); frees sw. */
void	 snapstore_abort(struct snapstore_writer *sw);

/*
 * Open snapshot hash for reading after checking it: it exists, has size
 * bytes, and its bytes hash to its name (read once, whole).  *fd is at
 * offset 0 and close-on-exec; the caller closes it.  -1 with errbuf
 * ("missing", "N bytes, expected M", "its bytes hash to …", or the
 * system error).
 */
int	 snapstore_open_verified(struct snapstore *ss, const char *hash,
	    uint64_t size, int *fd, char *errbuf, size_t errlen);

/* Remove every file of the directory that keep() does not claim:
 * temporary files and snapshots no record names.  Logs each removal.
 * Returns the number removed, or -1 when the directory cannot be read. */
int	 snapstore_sweep(struct snapstore *ss,
	    bool (*keep)(void *arg, const char *hash), void *arg);

#endif
