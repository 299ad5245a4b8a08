/*
 * aside.c — store_aside_put(), the durable write beside the block
 * (contract in store.h).  It owns only its own write transaction;
 * the block's transactions, their rebuilding from the redo log and map
 * growth are txn.c's, used here as store.c uses them.
 */
#include <stdbool.h>
#include <stddef.h>

#include <lmdb.h>

#include "daemon/store/store.h"
#include "daemon/store/store_impl.h"

int
store_aside_put(struct store *st, enum store_table t, const void *key,
    size_t klen, const void *val, size_t vlen, bool *existed)
{
	const char	*what = "durable put";
	MDB_txn		*txn;
	MDB_val		 k, v;
	int		 rc, mrc;

	*existed = false;
	if (t != STORE_BUNDLES)
		return store_seterr(st, STORE_EINVAL, "%s: only the bundles "
		    "table is written beside the block", what);
	if (klen == 0 || klen > (size_t)mdb_env_get_maxkeysize(st->st_env))
		return store_seterr(st, STORE_EINVAL, "%s in table %s: key "
		    "length %zu not in 1..%d", what, store_table_names[t],
		    klen, mdb_env_get_maxkeysize(st->st_env));
	if (st->st_in_crank)
		return store_seterr(st, STORE_ESTATE, "%s: a crank is open",
		    what);
	for (;;) {
		/* One writer per environment: the block's transaction goes
		 * (its redo log keeps it), and so does any read snapshot. */
		store_drop_txns(st);
		if ((mrc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
			return store_mdberr(st, mrc, what, (int)t);
		k = store_val(key, klen);
		v = store_val(val, vlen);
		mrc = mdb_put(txn, st->st_dbi[t], &k, &v, MDB_NOOVERWRITE);
		if (mrc == MDB_KEYEXIST) {
			mdb_txn_abort(txn);
			*existed = true;
			return STORE_OK;
		}
		if (mrc == 0)
			mrc = mdb_txn_commit(txn);	/* frees txn, even on
							   failure */
		else
			mdb_txn_abort(txn);
		if (mrc == 0)
			return STORE_OK;
		if (mrc != MDB_MAP_FULL)
			return store_mdberr(st, mrc, what, (int)t);
		if ((rc = store_regrow(st, store_redo_count(&st->st_redo),
		    what)) != STORE_OK)
			return rc;
	}
}
