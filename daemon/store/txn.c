/*
 * txn.c — the LMDB transactions behind the logical state: the read
 * transaction, the block's write transaction and the crank's child, which
 * may be dropped at any time and are rebuilt by replaying the redo log;
 * and growing a full map (up to max_map_size) before replaying.  It does
 * not decide when blocks or cranks open or close (store.c).
 */
#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "daemon/store/store.h"
#include "daemon/store/store_impl.h"
#include "protocol/log.h"

/* ---- transactions, growth and replay ---------------------------------- */

void
store_end_read(struct store *st)
{
	if (st->st_read != NULL)
		mdb_txn_abort(st->st_read);
	st->st_read = NULL;
}

/* Forget the LMDB transactions (not the logical state). */
void
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
int
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
int
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
int
store_txns_ready(struct store *st, const char *what)
{
	size_t	n = store_redo_count(&st->st_redo);
	int	mrc;

	if (!st->st_in_block || (st->st_block != NULL &&
	    (!st->st_in_crank || st->st_crank != NULL)))
		return STORE_OK;
	/*
	 * The usual case at a crank's start: the block is live and only the
	 * crank's child is missing, with nothing of its own to replay yet.
	 * Open it on the block; a full rebuild is for lost transactions.
	 */
	if (st->st_block != NULL && st->st_in_crank && st->st_crank == NULL &&
	    st->st_crank_mark == n) {
		mrc = mdb_txn_begin(st->st_env, st->st_block, 0, &st->st_crank);
		if (mrc == 0)
			return STORE_OK;
		st->st_crank = NULL;
	}
	mrc = store_rebuild(st, n);
	if (mrc == MDB_MAP_FULL)
		return store_regrow(st, n, what);
	if (mrc != 0)
		return store_mdberr(st, mrc, "replaying the open block", -1);
	return STORE_OK;
}
