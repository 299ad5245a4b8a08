/*
 * store_impl.h — private to daemon/store/: struct store, the redo log
 * and the functions the store's files share, grouped by the file that
 * defines them.  Only the files of daemon/store/ (and its unit suite)
 * include it; daemon/store/store.h is the contract.
 */
#ifndef DAEMON_STORE_IMPL_H
#define DAEMON_STORE_IMPL_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "daemon/store/store.h"

/* ---- redo.c: the open block's redo log ------------------------------ */

/*
 * The redo log of the open block: every write of the block, in order,
 * kept in memory so that store.c can replay the block into a fresh LMDB
 * transaction after growing a full map or after a failed commit.  Pure
 * memory: no LMDB, no hashing.
 *
 * Entries are appended at the end and dropped from the end (a crank abort
 * truncates back to the crank's first entry).  Keys and values are copied.
 */

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

#define STORE_ERRLEN		512

/* Keys of the meta table; values are ASCII (see docs/state.md). */
#define META_VERSION		"version"
#define META_HEIGHT		"height"
#define META_AHASH		"activityhash"
#define META_CRANKS		"crankcount"

struct store {
	MDB_env		*st_env;
	MDB_dbi		 st_dbi[STORE_NTABLES];
	MDB_txn		*st_block;	/* write txn of the open block; NULL
					   if none or dropped (rebuilt from
					   st_redo on next use) */
	MDB_txn		*st_crank;	/* child of st_block for the crank */
	MDB_txn		*st_read;	/* read txn for reads outside a block,
					   kept until the next boundary */
	bool		 st_in_block;	/* a block is logically open */
	bool		 st_in_crank;	/* a crank is logically open */
	int		 st_crank_failed; /* STORE_* of a failed read or write: the
					   crank can only be aborted */
	size_t		 st_crank_mark;	/* redo entries before the crank's */
	struct store_redo st_redo;	/* every write of the open block */
	EVP_MD_CTX	*st_hctx;	/* crank hash in progress */
	size_t		 st_max_map;	/* 0 = no limit */
	uint64_t	 st_height;	/* last committed height */
	uint64_t	 st_cranks;	/* committed cranks, open block too */
	uint64_t	 st_committed_cranks; /* as of the last commit */
	unsigned char	 st_act[STORE_HASH_LEN];	/* activity hash */
	unsigned char	 st_committed_act[STORE_HASH_LEN];
	char		 st_err[STORE_ERRLEN];
};

/* store.c: table names, errors, helpers, the meta writes of a commit */
extern const char *const store_table_names[STORE_NTABLES];

int	store_seterr(struct store *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	store_mdberr(struct store *, int, const char *, int);
MDB_val	store_val(const void *, size_t);
int	store_meta_put(struct store *, MDB_txn *, const char *, const char *);

/* txn.c: the LMDB transactions, map growth and replay */
void	store_end_read(struct store *);
void	store_drop_txns(struct store *);
int	store_apply(struct store *, MDB_txn *, const struct store_redo_rec *);
int	store_regrow(struct store *, size_t, const char *);
int	store_txns_ready(struct store *, const char *);

/* hash.c: hex, the crank hash and the activity hash */
void	store_hex(const unsigned char *, char[STORE_HASH_HEXLEN + 1]);
int	store_unhex(const unsigned char *, size_t, unsigned char *);
int	store_hash_write(struct store *, const struct store_redo_rec *);
int	store_hash_final(struct store *, unsigned char[STORE_HASH_LEN]);

/* ---- snapio.c: the snapshot store's I/O thread ------------------------ */

/*
 * A job for the I/O thread, embedded in a larger struct (container_of by
 * offsetof).  work() runs on the I/O thread; done() on the owner's thread,
 * from snapio_complete(), after work() — and may free the job.  Jobs run
 * one at a time, in submission order, and complete in that order.
 */
struct snapio_job {
	TAILQ_ENTRY(snapio_job) entry;
	void	(*work)(struct snapio_job *);	/* on the I/O thread */
	void	(*done)(struct snapio_job *);	/* on the owner's thread */
};

struct snapio;

/* Start the thread.  wake(arg) is called on it after each finished job
 * (from any thread: it must be thread-safe).  -1 with errno. */
int	snapio_start(struct snapio **out, void (*wake)(void *), void *arg);
void	snapio_submit(struct snapio *io, struct snapio_job *job);
/* On the owner's thread: done() of every finished job, in order. */
void	snapio_complete(struct snapio *io);
/* Wait until every job submitted so far has run, then snapio_complete():
 * for start-up, before the loop runs, and tests. */
void	snapio_drain(struct snapio *io);
/* Run what is queued, stop the thread, run the last done()s, free io. */
void	snapio_stop(struct snapio *io);

/* ---- snapshots.c, snapcheck.c: heap snapshot files ------------------- */

struct snapstore {
	char		*path;		/* <stateDir>/snapshots */
	int		 dirfd;		/* used by the I/O thread only, once
					   snapstore_open() returns */
	unsigned	 serial;	/* temporary names */
	struct snapio	*io;
	bool		 closing;	/* snapstore_close(): the last
					   completions free, call no one */
};

EVP_MD_CTX *snapstore_md_new(void);		/* SHA-256, or NULL */
/* The hex digest of md (which is freed) into out[65]; -1 on error. */
int	snapstore_md_finish(EVP_MD_CTX *md, char *out);
bool	snapstore_is_hash_name(const char *name);

#endif
