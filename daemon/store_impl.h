/*
 * store_impl.h — private to the store: struct store and the functions the
 * store*.c files share, grouped by the file that defines them.  Only
 * daemon/store*.c include it; daemon/store.h is the contract.  The
 * redo log has its own header, store_redo.h.
 */
#ifndef DAEMON_STORE_IMPL_H
#define DAEMON_STORE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "daemon/store.h"
#include "daemon/store_redo.h"

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
	int		 st_crank_failed; /* STORE_* of a failed write: the
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

/* store_txn.c: the LMDB transactions, map growth and replay */
void	store_end_read(struct store *);
void	store_drop_txns(struct store *);
int	store_apply(struct store *, MDB_txn *, const struct store_redo_rec *);
int	store_regrow(struct store *, size_t, const char *);
int	store_txns_ready(struct store *, const char *);

/* store_hash.c: hex, the crank hash and the activity hash */
void	store_hex(const unsigned char *, char[STORE_HASH_HEXLEN + 1]);
int	store_unhex(const unsigned char *, size_t, unsigned char *);
int	store_hash_write(struct store *, const struct store_redo_rec *);
int	store_hash_final(struct store *, unsigned char[STORE_HASH_LEN]);

#endif /* DAEMON_STORE_IMPL_H */
