/*
 * open.c — opening and closing the store: the LMDB environment of
 * the state directory, its five tables, the format version (written into
 * a new store, checked in an existing one) and the committed height,
 * crank count and activity hash loaded from the meta table.  It does not
 * read or write kernel data (store.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "daemon/store/store.h"
#include "daemon/store/store_impl.h"

#define STORE_VERSION		"swingsetd-store 1"
#define STORE_MIN_MAP		((size_t)1 << 20)

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
