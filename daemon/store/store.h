/*
 * store.h — the door of daemon/store/: the kernel's durable state, one
 * LMDB environment in the state directory, blocks, cranks and the
 * activity hash (store.c, txn.c, hash.c, open.c, redo.c), typed access
 * to the kv table (kv.c) and heap snapshot files on their own I/O thread
 * (snapshots.c, snapcheck.c, snapio.c).  This header is the contract for
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

/* ---- snapshots.c, snapcheck.c: heap snapshot files ------------------- */

/*
 * Heap snapshot files, content-addressed: <stateDir>/snapshots/<sha256
 * hex> holds the snapshot whose bytes hash to that name.  Knows files and
 * hashes only; which vat and transcript position a snapshot stands for is
 * recorded in the snapshots table by daemon/vats/snapshot.c.
 *
 * The file work runs on the store's own I/O thread (snapio.c), never on
 * the caller's: each operation returns at once and reports through a
 * callback, always later, from snapstore_complete() on the caller's
 * thread — never from inside the call that asked.  The caller runs
 * snapstore_complete() when woken (the wake function given at open,
 * called on the I/O thread: ev_async_send() is the intended one).
 * Operations are carried out in the order asked, one at a time.
 *
 * Durability contract: the committed callback comes only once the file is
 * complete under its final name and both the file and the directory entry
 * are on disk, so a record naming the file may commit after it.
 *
 * Not thread-safe otherwise: one caller thread (the event loop).
 */

#define SNAPSTORE_HASH_HEXLEN	64
/* Bytes a writer holds in flight (taken, not yet on disk): past HIGH,
 * snapstore_write() asks its caller to wait for drained(), called once
 * the I/O thread has brought them down to LOW. */
#define SNAPSTORE_HIGH		(16u * 1024 * 1024)
#define SNAPSTORE_LOW		(4u * 1024 * 1024)

struct snapstore;
struct snapstore_writer;
struct snapstore_check;

/*
 * Open (creating it, and syncing its parent, if needed) the directory
 * <state_dir>/snapshots and start its I/O thread; wake(wake_arg) is
 * called on that thread whenever a callback is owed (NULL: the caller
 * polls snapstore_complete()).  -1 with errbuf.
 */
int	 snapstore_open(const char *state_dir, void (*wake)(void *),
	    void *wake_arg, struct snapstore **out, char *errbuf,
	    size_t errlen);
/* Finish what was asked, stop the thread and free ss.  Callbacks still
 * owed are not called; abort writers and cancel checks first. */
void	 snapstore_close(struct snapstore *ss);
/* Run the callbacks owed, in the order the operations were asked. */
void	 snapstore_complete(struct snapstore *ss);
/* Wait for everything asked so far, then snapstore_complete(): blocks,
 * so only where nothing else needs the thread (start-up, tests). */
void	 snapstore_drain(struct snapstore *ss);
const char *snapstore_path(const struct snapstore *ss);	/* the directory */

/* A writer's callbacks, with the arg given to snapstore_begin(). */
struct snapstore_writer_cb {
	/* snapstore_write() returned false, and the bytes in flight are
	 * down to SNAPSTORE_LOW: feed it again. */
	void	(*drained)(void *arg);
	/* The end of snapstore_commit(): hash (65 bytes: hex and NUL) and
	 * size (bytes taken) of the durable file, or err (borrowed for the
	 * call: path, step and reason; the temporary file is removed).
	 * The writer is freed after this call. */
	void	(*committed)(void *arg, const char *hash, uint64_t size,
		    const char *err);
};

/* Start a new snapshot file (a temporary name until committed; the file
 * is created by the I/O thread).  NULL when memory runs out. */
struct snapstore_writer *snapstore_begin(struct snapstore *ss,
	    const struct snapstore_writer_cb *cb, void *arg);

/*
 * Take [in] len bytes (copied).  false: SNAPSTORE_HIGH bytes or more are
 * in flight; the caller should give no more until drained().  A failure
 * (the disk's, or memory) is reported by the committed callback; after
 * it the writer only counts bytes.
 */
bool	 snapstore_write(struct snapstore_writer *sw, const void *bytes,
	    size_t len);

/* Finish: on the I/O thread, write what is left, fsync the file, rename
 * it to its hash, fsync the directory; then committed() is called. */
void	 snapstore_commit(struct snapstore_writer *sw);

/* Drop a snapshot, unfinished or committing (NULL is fine): no callback
 * comes any more, the temporary file is removed (a file already renamed
 * to its hash is left to the sweep), sw is freed. */
void	 snapstore_abort(struct snapstore_writer *sw);

/*
 * Check snapshot hash before a restore: it exists, has size bytes, and
 * its bytes hash to its name (read once, whole, on the I/O thread).  Then
 * done(arg, fd, err): fd open on it at offset 0, close-on-exec, the
 * callee's to close; or fd -1 and err (borrowed for the call: "missing",
 * "N bytes, expected M", "its bytes hash to …", or the system error,
 * after the file's path).  NULL when memory runs out.  The handle is
 * valid until done() is called or it is cancelled.
 */
struct snapstore_check *snapstore_verify(struct snapstore *ss,
	    const char *hash, uint64_t size,
	    void (*done)(void *arg, int fd, const char *err), void *arg);
/* done() will not be called (a descriptor it opened is closed). */
void	 snapstore_verify_cancel(struct snapstore_check *c);

/*
 * On the I/O thread, remove every file of the directory whose name is not
 * one of keep[0 … n): temporary files and snapshots no record names.  Then
 * each removal is logged and done(arg, seen, n) says which of keep[] were
 * found.  done() is called exactly once, even by snapstore_close() (so
 * that arg can be freed): with seen NULL when there is no answer (the
 * directory could not be read, which is logged, or the store is
 * closing).  -1 when memory runs out (done() is not called).
 */
int	 snapstore_sweep(struct snapstore *ss,
	    const char (*keep)[SNAPSTORE_HASH_HEXLEN + 1], size_t n,
	    void (*done)(void *arg, const bool *seen, size_t n), void *arg);

#endif
