/*
 * store.c — the store's data API and its block (write transaction) and
 * crank (nested transaction) model: store_put, store_del, store_get,
 * store_next_key, crank begin/commit/abort, block commit/abort, and the
 * store's errors.  Each write is logged in the redo log (redo.c)
 * before it is applied, so that the LMDB transactions can be rebuilt
 * (txn.c); the crank and activity hashes are hash.c's,
 * opening, the format and loading the meta table open.c's.  It does
 * not know the kernel's key layout; docs/state.md documents both.
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
#include <string.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "daemon/store/store.h"
#include "daemon/store/store_impl.h"

#define STORE_AHASH_KEY		"activityhash"

const char *const store_table_names[STORE_NTABLES] = {
	"kv", "transcripts", "bundles", "meta", "snapshots"
};

/* ---- errors ----------------------------------------------------------- */

int
store_seterr(struct store *st, int rc, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(st->st_err, sizeof(st->st_err), fmt, ap);
	va_end(ap);
	return rc;
}

/* Record an LMDB failure of operation what (on table t, or -1). */
int
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

MDB_val
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

/* ---- writes ----------------------------------------------------------- */

/*
 * One logical write: logged, applied to the crank's transaction (growing
 * the map and replaying as often as MDB_MAP_FULL says so), then hashed
 * once if hashed and in kv.  A failure leaves the log and the
 * transactions without the write, and the crank only fit for abort.
 */
static int
store_write(struct store *st, const struct store_redo_rec *in, bool hashed)
{
	const char	*what = in->op == STORE_REDO_PUT ? "put" : "delete";
	size_t		 n = store_redo_count(&st->st_redo);
	struct store_redo_rec copy, *r = &copy;
	int		 rc, mrc;

	if (!st->st_in_crank || st->st_crank_failed != STORE_OK)
		return store_seterr(st, STORE_ESTATE, "%s: %s", what,
		    st->st_in_crank ? "an earlier read or write of this "
		    "crank failed; it can only be aborted" : "no crank is "
		    "open");
	if ((rc = store_check_args(st, what, in->table, in->klen)) != STORE_OK)
		return rc;
	if ((rc = store_txns_ready(st, what)) != STORE_OK)
		goto fail;
	if (store_redo_append(&st->st_redo, in->op, in->table, in->key,
	    in->klen, in->val, in->vlen) == -1) {
		rc = store_seterr(st, STORE_ENOMEM, "%s in table %s: redo "
		    "log: %s", what, store_table_names[in->table],
		    strerror(errno));
		goto fail;
	}
	/*
	 * From here on use the log's copy: the caller's bytes may be LMDB
	 * memory (a value just read with store_get), which growing the map
	 * below unmaps and replaying the block frees.
	 */
	store_redo_get(&st->st_redo, n, &copy);
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

/* The one kv key the store writes itself, unhashed: callers may not. */
static bool
store_reserved(enum store_table t, const void *key, size_t klen)
{
	return t == STORE_KV && klen == sizeof(STORE_AHASH_KEY) - 1 &&
	    memcmp(key, STORE_AHASH_KEY, klen) == 0;
}

int
store_put(struct store *st, enum store_table t, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	struct store_redo_rec	r = { STORE_REDO_PUT, t, key, klen, val,
	    vlen };

	if (store_reserved(t, key, klen))
		return store_seterr(st, STORE_EINVAL, "put: kv key "
		    "'activityhash' belongs to the store");
	return store_write(st, &r, true);
}

int
store_del(struct store *st, enum store_table t, const void *key,
    size_t klen)
{
	struct store_redo_rec	r = { STORE_REDO_DEL, t, key, klen, NULL, 0 };

	if (store_reserved(t, key, klen))
		return store_seterr(st, STORE_EINVAL, "delete: kv key "
		    "'activityhash' belongs to the store");
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

/*
 * A read that failed (not "absent": LMDB or the read transaction failed)
 * inside a crank poisons it, as a failed write does: what the crank did
 * next rested on an answer it did not get, so it can only be aborted
 * (store_crank_commit refuses it).  Returns rc.
 */
static int
store_read_failed(struct store *st, int rc)
{
	if (st->st_in_crank && st->st_crank_failed == STORE_OK)
		st->st_crank_failed = rc;
	return rc;
}

int
store_get(struct store *st, enum store_table t, const void *key,
    size_t klen, const void **val, size_t *vlen)
{
	MDB_txn	*txn;
	MDB_val	 k, v;
	int	 rc, mrc;

	if ((rc = store_check_args(st, "get", t, klen)) != STORE_OK)
		return rc;
	if ((rc = store_reader(st, "get", &txn)) != STORE_OK)
		return store_read_failed(st, rc);
	k = store_val(key, klen);
	if ((mrc = mdb_get(txn, st->st_dbi[t], &k, &v)) == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (mrc != 0)
		return store_read_failed(st, store_mdberr(st, mrc, "get", t));
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
	    STORE_OK)
		return rc;
	if ((rc = store_reader(st, "next key", &txn)) != STORE_OK)
		return store_read_failed(st, rc);
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
		return store_read_failed(st, store_mdberr(st, mrc, "next key",
		    t));
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

int
store_crank_status(const struct store *st)
{
	return st->st_in_crank ? st->st_crank_failed : STORE_OK;
}

void
store_crank_fail(struct store *st, int rc)
{
	(void)store_read_failed(st, rc);
}

uint64_t
store_crank_count(const struct store *st)
{
	return st->st_cranks;
}

/* ---- blocks ----------------------------------------------------------- */

int
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
