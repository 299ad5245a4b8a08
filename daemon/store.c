/*
 * store.c — owns the LMDB environment of the state directory: its four
 * tables, the block (write transaction) and crank (nested transaction)
 * model, the crank and activity hashes, and recovery from a full map or a
 * failed commit by replaying the block from the redo log (store_redo.c).
 * It does not know the kernel's key layout; docs/state.md documents both.
 *
 * The logical state (st_in_block, st_in_crank, the redo log) is the truth;
 * the LMDB transactions st_block / st_crank are a cache of it that may be
 * dropped at any time and rebuilt by replaying the log (store_txns_ready).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "daemon/store.h"
#include "daemon/store_redo.h"
#include "protocol/log.h"

#define STORE_VERSION		"swingsetd-store 1"
#define STORE_MIN_MAP		((size_t)1 << 20)
#define STORE_ERRLEN		512
#define STORE_AHASH_KEY		"activityhash"

/* Keys of the meta table; values are ASCII (see docs/state.md). */
#define META_VERSION		"version"
#define META_HEIGHT		"height"
#define META_AHASH		"activityhash"
#define META_CRANKS		"crankcount"

static const char *const store_table_names[STORE_NTABLES] = {
	"kv", "transcripts", "bundles", "meta"
};

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

static int	store_seterr(struct store *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* ---- errors ----------------------------------------------------------- */

static int
store_seterr(struct store *st, int rc, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(st->st_err, sizeof(st->st_err), fmt, ap);
	va_end(ap);
	return rc;
}

/* Record an LMDB failure of operation what (on table t, or -1). */
static int
store_mdberr(struct store *st, int mrc, const char *what, int t)
{
	int	rc = STORE_EIO;

	if (mrc == MDB_MAP_FULL)
		rc = STORE_EFULL;
	else if (mrc == ENOMEM)
		rc = STORE_ENOMEM;
	if (t >= 0 && t < STORE_NTABLES)
		return store_seterr(st, rc, "%s in table %s: %s", what,
		    store_table_names[t], mdb_strerror(mrc));
	return store_seterr(st, rc, "%s: %s", what, mdb_strerror(mrc));
}

const char *
store_errmsg(const struct store *st)
{
	return st->st_err;
}

const char *
store_strerror(int rc)
{
	switch (rc) {
	case STORE_OK:
		return "ok";
	case STORE_NOTFOUND:
		return "not found";
	case STORE_EIO:
		return "store I/O error";
	case STORE_EFULL:
		return "store map full at its maximum size";
	case STORE_ESTATE:
		return "store call out of order";
	case STORE_EFORMAT:
		return "state directory holds another format";
	case STORE_ENOMEM:
		return "out of memory";
	case STORE_EINVAL:
		return "bad argument to the store";
	}
	return "unknown store error";
}

/* ---- helpers ---------------------------------------------------------- */

static void
store_hex(const unsigned char *raw, char out[STORE_HASH_HEXLEN + 1])
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < STORE_HASH_LEN; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 0xf];
	}
	out[STORE_HASH_HEXLEN] = '\0';
}

static int
store_unhex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 64 lowercase hex chars into raw[32]; 0 or -1. */
static int
store_unhex(const unsigned char *hex, size_t len, unsigned char *raw)
{
	size_t	i;
	int	hi, lo;

	if (len != STORE_HASH_HEXLEN)
		return -1;
	for (i = 0; i < STORE_HASH_LEN; i++) {
		hi = store_unhex_digit(hex[2 * i]);
		lo = store_unhex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static MDB_val
store_val(const void *p, size_t len)
{
	MDB_val	v;

	v.mv_size = len;
	v.mv_data = (void *)(uintptr_t)p;	/* LMDB does not write it */
	return v;
}

static int
store_check_args(struct store *st, const char *what, enum store_table t,
    size_t klen)
{
	size_t	max = (size_t)mdb_env_get_maxkeysize(st->st_env);

	if ((unsigned)t >= STORE_NTABLES)
		return store_seterr(st, STORE_EINVAL, "%s: no table %d", what,
		    (int)t);
	if (klen == 0 || klen > max)
		return store_seterr(st, STORE_EINVAL, "%s in table %s: key "
		    "length %zu not in 1..%zu", what, store_table_names[t],
		    klen, max);
	return STORE_OK;
}

/* ---- transactions, growth and replay ---------------------------------- */

static void
store_end_read(struct store *st)
{
	if (st->st_read != NULL)
		mdb_txn_abort(st->st_read);
	st->st_read = NULL;
}

/* Forget the LMDB transactions (not the logical state). */
static void
store_drop_txns(struct store *st)
{
	if (st->st_crank != NULL)
		mdb_txn_abort(st->st_crank);
	if (st->st_block != NULL)
		mdb_txn_abort(st->st_block);
	st->st_crank = st->st_block = NULL;
	store_end_read(st);
}

/* Apply one write to txn; an LMDB code (deleting an absent key is 0). */
static int
store_apply(struct store *st, MDB_txn *txn, const struct store_redo_rec *r)
{
	MDB_val	k = store_val(r->key, r->klen), v;
	int	mrc;

	if (r->op == STORE_REDO_DEL) {
		mrc = mdb_del(txn, st->st_dbi[r->table], &k, NULL);
		return mrc == MDB_NOTFOUND ? 0 : mrc;
	}
	v = store_val(r->val, r->vlen);
	return mdb_put(txn, st->st_dbi[r->table], &k, &v, 0);
}

static int
store_replay(struct store *st, MDB_txn *txn, size_t from, size_t to)
{
	struct store_redo_rec	 r;
	int			 mrc = 0;

	for (; from < to && mrc == 0; from++) {
		store_redo_get(&st->st_redo, from, &r);
		mrc = store_apply(st, txn, &r);
	}
	return mrc;
}

/*
 * Open fresh transactions for the logical state: the block gets the
 * entries before the crank mark, the crank (if open) those from the mark
 * up to upto.  An LMDB code; on failure nothing is left open.
 */
static int
store_rebuild(struct store *st, size_t upto)
{
	size_t	mark = st->st_in_crank ? st->st_crank_mark : upto;
	int	mrc;

	store_drop_txns(st);
	if ((mrc = mdb_txn_begin(st->st_env, NULL, 0, &st->st_block)) != 0) {
		st->st_block = NULL;
		goto fail;
	}
	if ((mrc = store_replay(st, st->st_block, 0, mark)) != 0 ||
	    !st->st_in_crank)
		goto fail;
	if ((mrc = mdb_txn_begin(st->st_env, st->st_block, 0,
	    &st->st_crank)) != 0) {
		st->st_crank = NULL;
		goto fail;
	}
	mrc = store_replay(st, st->st_crank, mark, upto);
fail:
	if (mrc != 0)
		store_drop_txns(st);
	return mrc;
}

/* Double the map, up to st_max_map; no transaction may be open. */
static int
store_grow(struct store *st, const char *what)
{
	MDB_envinfo	 info;
	MDB_stat	 ms;
	size_t		 cur, next;
	int		 mrc;

	if ((mrc = mdb_env_info(st->st_env, &info)) != 0 ||
	    (mrc = mdb_env_stat(st->st_env, &ms)) != 0)
		return store_mdberr(st, mrc, what, -1);
	cur = info.me_mapsize;
	next = cur > SIZE_MAX / 2 ? SIZE_MAX : cur * 2;
	if (st->st_max_map != 0 && next > st->st_max_map)
		next = st->st_max_map;
	next -= next % ms.ms_psize;
	if (next <= cur)
		return store_seterr(st, STORE_EFULL, "%s: map full at its "
		    "maximum size of %zu bytes (max_map_size)", what, cur);
	if ((mrc = mdb_env_set_mapsize(st->st_env, next)) != 0)
		return store_mdberr(st, mrc, "growing the map", -1);
	log_info("store", "map grown from %zu to %zu bytes", cur, next);
	return STORE_OK;
}

/* After MDB_MAP_FULL: drop the transactions, grow, replay up to upto. */
static int
store_regrow(struct store *st, size_t upto, const char *what)
{
	int	rc, mrc;

	store_drop_txns(st);
	do {
		if ((rc = store_grow(st, what)) != STORE_OK)
			return rc;
		mrc = store_rebuild(st, upto);
	} while (mrc == MDB_MAP_FULL);
	if (mrc != 0)
		return store_mdberr(st, mrc, "replaying the open block", -1);
	return STORE_OK;
}

/* Make st_block (and st_crank in a crank) exist, replaying if needed. */
static int
store_txns_ready(struct store *st, const char *what)
{
	size_t	n = store_redo_count(&st->st_redo);
	int	mrc;

	if (!st->st_in_block || (st->st_block != NULL &&
	    (!st->st_in_crank || st->st_crank != NULL)))
		return STORE_OK;
	mrc = store_rebuild(st, n);
	if (mrc == MDB_MAP_FULL)
		return store_regrow(st, n, what);
	if (mrc != 0)
		return store_mdberr(st, mrc, "replaying the open block", -1);
	return STORE_OK;
}

/* ---- hashing ---------------------------------------------------------- */

static int
store_hash_u64(EVP_MD_CTX *ctx, uint64_t n)
{
	unsigned char	b[8];
	int		i;

	for (i = 7; i >= 0; i--, n >>= 8)
		b[i] = (unsigned char)(n & 0xff);
	return EVP_DigestUpdate(ctx, b, sizeof(b));
}

/* Feed one kv write to the crank hash (encoding in docs/state.md). */
static int
store_hash_write(struct store *st, const struct store_redo_rec *r)
{
	EVP_MD_CTX	*ctx = st->st_hctx;
	const char	*tag = r->op == STORE_REDO_PUT ? "S" : "D";
	int		 ok;

	ok = EVP_DigestUpdate(ctx, tag, 1) == 1 &&
	    store_hash_u64(ctx, r->klen) == 1 &&
	    EVP_DigestUpdate(ctx, r->key, r->klen) == 1;
	if (ok && r->op == STORE_REDO_PUT)
		ok = store_hash_u64(ctx, r->vlen) == 1 &&
		    EVP_DigestUpdate(ctx, r->val, r->vlen) == 1;
	if (!ok)
		return store_seterr(st, STORE_EIO, "crank hash: SHA-256 "
		    "update failed");
	return STORE_OK;
}

/* The crank hash and the activity hash that follows from it. */
static int
store_hash_final(struct store *st, unsigned char act[STORE_HASH_LEN])
{
	unsigned char	 buf[2 * STORE_HASH_LEN];
	unsigned int	 len = 0;

	memcpy(buf, st->st_act, STORE_HASH_LEN);
	if (EVP_DigestFinal_ex(st->st_hctx, buf + STORE_HASH_LEN, &len) != 1 ||
	    len != STORE_HASH_LEN ||
	    EVP_Digest(buf, sizeof(buf), act, &len, EVP_sha256(), NULL) != 1)
		return store_seterr(st, STORE_EIO, "crank commit: SHA-256 "
		    "failed");
	return STORE_OK;
}

/* ---- writes ----------------------------------------------------------- */

/*
 * One logical write: logged, applied to the crank's transaction (growing
 * the map and replaying as often as MDB_MAP_FULL says so), then hashed
 * once if hashed and in kv.  A failure leaves the log and the
 * transactions without the write, and the crank only fit for abort.
 */
static int
store_write(struct store *st, const struct store_redo_rec *r, bool hashed)
{
	const char	*what = r->op == STORE_REDO_PUT ? "put" : "delete";
	size_t		 n = store_redo_count(&st->st_redo);
	int		 rc, mrc;

	if (!st->st_in_crank || st->st_crank_failed != STORE_OK)
		return store_seterr(st, STORE_ESTATE, "%s: %s", what,
		    st->st_in_crank ? "an earlier write of this crank "
		    "failed; it can only be aborted" : "no crank is open");
	if ((rc = store_check_args(st, what, r->table, r->klen)) != STORE_OK)
		return rc;
	if ((rc = store_txns_ready(st, what)) != STORE_OK)
		goto fail;
	if (store_redo_append(&st->st_redo, r->op, r->table, r->key, r->klen,
	    r->val, r->vlen) == -1) {
		rc = store_seterr(st, STORE_ENOMEM, "%s in table %s: redo "
		    "log: %s", what, store_table_names[r->table],
		    strerror(errno));
		goto fail;
	}
	while ((mrc = store_apply(st, st->st_crank, r)) == MDB_MAP_FULL)
		if ((rc = store_regrow(st, n, what)) != STORE_OK)
			goto undo;
	if (mrc != 0) {
		rc = store_mdberr(st, mrc, what, r->table);
		store_drop_txns(st);
		goto undo;
	}
	if (hashed && r->table == STORE_KV &&
	    (rc = store_hash_write(st, r)) != STORE_OK)
		goto fail;
	return STORE_OK;
undo:
	store_redo_truncate(&st->st_redo, n);
fail:
	st->st_crank_failed = rc;
	return rc;
}

int
store_put(struct store *st, enum store_table t, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	struct store_redo_rec	r = { STORE_REDO_PUT, t, key, klen, val,
	    vlen };

	return store_write(st, &r, true);
}

int
store_del(struct store *st, enum store_table t, const void *key,
    size_t klen)
{
	struct store_redo_rec	r = { STORE_REDO_DEL, t, key, klen, NULL, 0 };

	return store_write(st, &r, true);
}

/* ---- reads ------------------------------------------------------------ */

/* The transaction reads go through: crank, block or a read txn. */
static int
store_reader(struct store *st, const char *what, MDB_txn **txn)
{
	int	rc, mrc;

	if (st->st_in_block) {
		if ((rc = store_txns_ready(st, what)) != STORE_OK)
			return rc;
		*txn = st->st_crank != NULL ? st->st_crank : st->st_block;
		return STORE_OK;
	}
	if (st->st_read == NULL && (mrc = mdb_txn_begin(st->st_env, NULL,
	    MDB_RDONLY, &st->st_read)) != 0) {
		st->st_read = NULL;
		return store_mdberr(st, mrc, what, -1);
	}
	*txn = st->st_read;
	return STORE_OK;
}

int
store_get(struct store *st, enum store_table t, const void *key,
    size_t klen, const void **val, size_t *vlen)
{
	MDB_txn	*txn;
	MDB_val	 k, v;
	int	 rc, mrc;

	if ((rc = store_check_args(st, "get", t, klen)) != STORE_OK ||
	    (rc = store_reader(st, "get", &txn)) != STORE_OK)
		return rc;
	k = store_val(key, klen);
	if ((mrc = mdb_get(txn, st->st_dbi[t], &k, &v)) == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (mrc != 0)
		return store_mdberr(st, mrc, "get", t);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return STORE_OK;
}

int
store_next_key(struct store *st, enum store_table t, const void *key,
    size_t klen, const void **next, size_t *nlen)
{
	MDB_cursor	*cur = NULL;
	MDB_txn		*txn;
	MDB_val		 k = store_val(key, klen), v;
	bool		 first = key == NULL || klen == 0;
	int		 rc, mrc;

	if ((rc = store_check_args(st, "next key", t, first ? 1 : klen)) !=
	    STORE_OK || (rc = store_reader(st, "next key", &txn)) != STORE_OK)
		return rc;
	if ((mrc = mdb_cursor_open(txn, st->st_dbi[t], &cur)) != 0)
		goto done;
	mrc = mdb_cursor_get(cur, &k, &v, first ? MDB_FIRST : MDB_SET_RANGE);
	if (mrc == 0 && !first && k.mv_size == klen &&
	    memcmp(k.mv_data, key, klen) == 0)
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
done:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (mrc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (mrc != 0)
		return store_mdberr(st, mrc, "next key", t);
	*next = k.mv_data;
	*nlen = k.mv_size;
	return STORE_OK;
}

/* ---- cranks ----------------------------------------------------------- */

int
store_crank_begin(struct store *st)
{
	bool	fresh = !st->st_in_block;
	int	rc;

	if (st->st_in_crank)
		return store_seterr(st, STORE_ESTATE, "crank begin: a crank "
		    "is already open");
	store_end_read(st);
	if (EVP_DigestInit_ex(st->st_hctx, EVP_sha256(), NULL) != 1) {
		rc = store_seterr(st, STORE_EIO, "crank begin: SHA-256 init "
		    "failed");
		goto fail;
	}
	st->st_in_block = true;
	st->st_in_crank = true;
	st->st_crank_failed = STORE_OK;
	st->st_crank_mark = store_redo_count(&st->st_redo);
	if ((rc = store_txns_ready(st, "crank begin")) != STORE_OK) {
		st->st_in_crank = false;
		if (st->st_crank != NULL)
			mdb_txn_abort(st->st_crank);
		st->st_crank = NULL;
		goto fail;
	}
	return STORE_OK;
fail:
	if (fresh) {
		store_drop_txns(st);
		st->st_in_block = false;
	}
	return rc;
}

int
store_crank_commit(struct store *st)
{
	unsigned char		 act[STORE_HASH_LEN];
	char			 hex[STORE_HASH_HEXLEN + 1];
	struct store_redo_rec	 r = { STORE_REDO_PUT, STORE_KV,
	    STORE_AHASH_KEY, sizeof(STORE_AHASH_KEY) - 1, hex,
	    STORE_HASH_HEXLEN };
	int			 rc, mrc;

	if (!st->st_in_crank || st->st_crank_failed != STORE_OK)
		return store_seterr(st, STORE_ESTATE, "crank commit: %s",
		    st->st_in_crank ? "an earlier write of this crank "
		    "failed; it can only be aborted" : "no crank is open");
	if ((rc = store_hash_final(st, act)) != STORE_OK)
		goto fail;
	store_hex(act, hex);
	if ((rc = store_write(st, &r, false)) != STORE_OK)
		goto fail;
	/* LMDB frees the child even when its commit fails, and the parent
	 * may be half-merged: drop both and replay. */
	while ((mrc = mdb_txn_commit(st->st_crank)) != 0) {
		st->st_crank = NULL;
		store_drop_txns(st);
		if (mrc != MDB_MAP_FULL) {
			rc = store_mdberr(st, mrc, "crank commit", -1);
			goto fail;
		}
		if ((rc = store_regrow(st, store_redo_count(&st->st_redo),
		    "crank commit")) != STORE_OK)
			goto fail;
	}
	st->st_crank = NULL;
	memcpy(st->st_act, act, sizeof(act));
	st->st_cranks++;
	st->st_in_crank = false;
	st->st_crank_mark = store_redo_count(&st->st_redo);
	return STORE_OK;
fail:
	st->st_crank_failed = rc;
	return rc;
}

void
store_crank_abort(struct store *st)
{
	if (!st->st_in_crank)
		return;
	if (st->st_crank != NULL)
		mdb_txn_abort(st->st_crank);
	st->st_crank = NULL;
	store_redo_truncate(&st->st_redo, st->st_crank_mark);
	st->st_in_crank = false;
	st->st_crank_failed = STORE_OK;
}

bool
store_crank_is_open(const struct store *st)
{
	return st->st_in_crank;
}

uint64_t
store_crank_count(const struct store *st)
{
	return st->st_cranks;
}

/* ---- blocks ----------------------------------------------------------- */

static int
store_meta_put(struct store *st, MDB_txn *txn, const char *key,
    const char *val)
{
	MDB_val	k = store_val(key, strlen(key)), v = store_val(val,
	    strlen(val));

	return mdb_put(txn, st->st_dbi[STORE_META], &k, &v, 0);
}

/* Meta writes of the commit of height, then the LMDB commit. */
static int
store_commit_txn(struct store *st, uint64_t height)
{
	char	hex[STORE_HASH_HEXLEN + 1], h[24], c[24];
	int	mrc;

	store_hex(st->st_act, hex);
	(void)snprintf(h, sizeof(h), "%" PRIu64, height);
	(void)snprintf(c, sizeof(c), "%" PRIu64, st->st_cranks);
	if ((mrc = store_meta_put(st, st->st_block, META_HEIGHT, h)) != 0 ||
	    (mrc = store_meta_put(st, st->st_block, META_AHASH, hex)) != 0 ||
	    (mrc = store_meta_put(st, st->st_block, META_CRANKS, c)) != 0)
		return mrc;
	mrc = mdb_txn_commit(st->st_block);
	st->st_block = NULL;	/* freed by LMDB, committed or not */
	return mrc;
}

int
store_block_commit(struct store *st, uint64_t height)
{
	bool	was_open = st->st_in_block;
	int	rc = STORE_OK, mrc;

	if (st->st_in_crank)
		return store_seterr(st, STORE_ESTATE, "block commit: a crank "
		    "is open");
	if (st->st_height == UINT64_MAX || height != st->st_height + 1)
		return store_seterr(st, STORE_ESTATE, "block commit: height "
		    "%" PRIu64 " does not follow %" PRIu64, height,
		    st->st_height);
	store_end_read(st);
	st->st_in_block = true;
	for (;;) {
		if ((rc = store_txns_ready(st, "block commit")) != STORE_OK)
			goto fail;
		if ((mrc = store_commit_txn(st, height)) == 0)
			break;
		store_drop_txns(st);
		if (mrc != MDB_MAP_FULL) {
			rc = store_mdberr(st, mrc, "block commit", -1);
			goto fail;
		}
		if ((rc = store_regrow(st, store_redo_count(&st->st_redo),
		    "block commit")) != STORE_OK)
			goto fail;
	}
	st->st_height = height;
	memcpy(st->st_committed_act, st->st_act, STORE_HASH_LEN);
	st->st_committed_cranks = st->st_cranks;
	st->st_in_block = false;
	store_redo_clear(&st->st_redo);
	st->st_crank_mark = 0;
	return STORE_OK;
fail:
	/* The block stays open (its transaction is rebuilt on next use),
	 * unless it was only this empty commit's. */
	if (!was_open && store_redo_count(&st->st_redo) == 0) {
		store_drop_txns(st);
		st->st_in_block = false;
	}
	return rc;
}

void
store_block_abort(struct store *st)
{
	store_crank_abort(st);
	store_drop_txns(st);
	store_redo_clear(&st->st_redo);
	st->st_crank_mark = 0;
	st->st_in_block = false;
	memcpy(st->st_act, st->st_committed_act, STORE_HASH_LEN);
	st->st_cranks = st->st_committed_cranks;
}

bool
store_block_is_open(const struct store *st)
{
	return st->st_in_block;
}

uint64_t
store_height(const struct store *st)
{
	return st->st_height;
}

/* ---- hashes and sizes ------------------------------------------------- */

void
store_activity_hash(const struct store *st, char out[65])
{
	store_hex(st->st_act, out);
}

void
store_committed_activity_hash(const struct store *st, char out[65])
{
	store_hex(st->st_committed_act, out);
}

size_t
store_map_size(const struct store *st)
{
	MDB_envinfo	info;

	if (mdb_env_info(st->st_env, &info) != 0)
		return 0;
	return info.me_mapsize;
}

/* ---- open and close --------------------------------------------------- */

/* A decimal meta value into *out (0 if absent). */
static int
store_meta_u64(struct store *st, MDB_txn *txn, const char *key,
    uint64_t *out)
{
	MDB_val			 k = store_val(key, strlen(key)), v;
	const unsigned char	*p;
	uint64_t		 n = 0;
	size_t			 i;
	int			 mrc;

	*out = 0;
	if ((mrc = mdb_get(txn, st->st_dbi[STORE_META], &k, &v)) ==
	    MDB_NOTFOUND)
		return STORE_OK;
	if (mrc != 0)
		return store_mdberr(st, mrc, "reading meta", STORE_META);
	for (i = 0, p = v.mv_data; i < v.mv_size; i++) {
		if (p[i] < '0' || p[i] > '9' || n > (UINT64_MAX - 9) / 10)
			return store_seterr(st, STORE_EFORMAT, "meta key %s: "
			    "not a decimal number", key);
		n = n * 10 + (uint64_t)(p[i] - '0');
	}
	if (v.mv_size == 0)
		return store_seterr(st, STORE_EFORMAT, "meta key %s: empty",
		    key);
	*out = n;
	return STORE_OK;
}

/* A new store gets the version; another version is refused. */
static int
store_check_version(struct store *st, MDB_txn *txn)
{
	MDB_val	k = store_val(META_VERSION, strlen(META_VERSION)), v;
	MDB_stat ms, ks;
	int	mrc;

	mrc = mdb_get(txn, st->st_dbi[STORE_META], &k, &v);
	if (mrc == 0 && (v.mv_size != strlen(STORE_VERSION) ||
	    memcmp(v.mv_data, STORE_VERSION, v.mv_size) != 0))
		return store_seterr(st, STORE_EFORMAT, "format \"%.*s\", "
		    "expected \"%s\"", (int)(v.mv_size > 64 ? 64 : v.mv_size),
		    (const char *)v.mv_data, STORE_VERSION);
	if (mrc != MDB_NOTFOUND)
		return mrc == 0 ? STORE_OK :
		    store_mdberr(st, mrc, "reading the format", STORE_META);
	if ((mrc = mdb_stat(txn, st->st_dbi[STORE_META], &ms)) != 0 ||
	    (mrc = mdb_stat(txn, st->st_dbi[STORE_KV], &ks)) != 0)
		return store_mdberr(st, mrc, "stat", -1);
	if (ms.ms_entries != 0 || ks.ms_entries != 0)
		return store_seterr(st, STORE_EFORMAT, "tables hold data but "
		    "no format version");
	if ((mrc = store_meta_put(st, txn, META_VERSION, STORE_VERSION)) != 0)
		return store_mdberr(st, mrc, "writing the format", STORE_META);
	return STORE_OK;
}

static int
store_load_meta(struct store *st, MDB_txn *txn)
{
	MDB_val	k = store_val(META_AHASH, strlen(META_AHASH)), v;
	int	rc, mrc;

	if ((rc = store_meta_u64(st, txn, META_HEIGHT, &st->st_height)) !=
	    STORE_OK || (rc = store_meta_u64(st, txn, META_CRANKS,
	    &st->st_cranks)) != STORE_OK)
		return rc;
	st->st_committed_cranks = st->st_cranks;
	mrc = mdb_get(txn, st->st_dbi[STORE_META], &k, &v);
	if (mrc == 0 && store_unhex(v.mv_data, v.mv_size, st->st_act) == -1)
		return store_seterr(st, STORE_EFORMAT, "meta key %s: not 64 "
		    "lowercase hex digits", META_AHASH);
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return store_mdberr(st, mrc, "reading meta", STORE_META);
	memcpy(st->st_committed_act, st->st_act, STORE_HASH_LEN);
	return STORE_OK;
}

/* Open the tables, check or write the format, load the counters. */
static int
store_load(struct store *st)
{
	MDB_txn	*txn = NULL;
	int	 rc = STORE_OK, mrc, i;

	if ((mrc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0) {
		txn = NULL;
		rc = store_mdberr(st, mrc, "open: begin transaction", -1);
		goto fail;
	}
	for (i = 0; i < STORE_NTABLES; i++) {
		mrc = mdb_dbi_open(txn, store_table_names[i], MDB_CREATE,
		    &st->st_dbi[i]);
		if (mrc == MDB_INCOMPATIBLE)
			rc = store_seterr(st, STORE_EFORMAT, "table %s: not "
			    "a swingsetd table", store_table_names[i]);
		else if (mrc != 0)
			rc = store_mdberr(st, mrc, "open", i);
		if (rc != STORE_OK)
			goto fail;
	}
	if ((rc = store_check_version(st, txn)) != STORE_OK ||
	    (rc = store_load_meta(st, txn)) != STORE_OK)
		goto fail;
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	if (mrc != 0)
		rc = store_mdberr(st, mrc, "open: commit", -1);
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

static int
store_open_env(struct store *st, const char *dir,
    const struct store_options *opt)
{
	size_t		 map = opt->map_size < STORE_MIN_MAP ? STORE_MIN_MAP :
			    opt->map_size;
	unsigned int	 flags = MDB_NOTLS | (opt->no_sync ? MDB_NOSYNC : 0);
	int		 mrc;

	if ((mrc = mdb_env_create(&st->st_env)) != 0) {
		st->st_env = NULL;
		return store_mdberr(st, mrc, "creating the environment", -1);
	}
	if ((mrc = mdb_env_set_maxdbs(st->st_env, STORE_NTABLES)) != 0 ||
	    (mrc = mdb_env_set_mapsize(st->st_env, map)) != 0)
		return store_mdberr(st, mrc, "setting up the environment",
		    -1);
	if ((mrc = mdb_env_open(st->st_env, dir, flags, 0600)) != 0)
		return store_mdberr(st, mrc, "opening the environment", -1);
	st->st_max_map = opt->max_map_size;
	return STORE_OK;
}

int
store_open(const char *dir, const struct store_options *opt,
    struct store **out, char *errbuf, size_t errlen)
{
	struct store	*st;
	int		 rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		if (errbuf != NULL && errlen > 0)
			(void)snprintf(errbuf, errlen, "%s: out of memory",
			    dir);
		return STORE_ENOMEM;
	}
	store_redo_init(&st->st_redo);
	if ((st->st_hctx = EVP_MD_CTX_new()) == NULL) {
		rc = store_seterr(st, STORE_ENOMEM, "SHA-256 context: out of "
		    "memory");
		goto fail;
	}
	if ((rc = store_open_env(st, dir, opt)) != STORE_OK ||
	    (rc = store_load(st)) != STORE_OK)
		goto fail;
	st->st_err[0] = '\0';
	*out = st;
	return STORE_OK;
fail:
	if (errbuf != NULL && errlen > 0)
		(void)snprintf(errbuf, errlen, "%s: %s", dir, st->st_err);
	store_close(st);
	return rc;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_block_abort(st);
	if (st->st_env != NULL)
		mdb_env_close(st->st_env);
	EVP_MD_CTX_free(st->st_hctx);
	store_redo_clear(&st->st_redo);
	free(st);
}
