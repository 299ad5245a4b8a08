/*
 * check_store.c — unit suite for daemon/store/store.c and redo.c: cranks
 * and blocks (commit, abort, reopen), the crank and activity hashes
 * against an independent computation, height and call-order errors, map
 * growth on MDB_MAP_FULL, max_map_size, a failed commit, key order and the
 * format check.  Each test works in its own mkdtemp directory, removed at
 * the end.  Links the store, protocol/log.o, LMDB and libcrypto.
 */
#include <check.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "daemon/store/store.h"

#define MiB		((size_t)1 << 20)
#define ZERO_HASH	\
    "00000000000000000000000000000000"	\
    "00000000000000000000000000000000"

/*
 * The worked example of docs/state.md, computed with python3 hashlib:
 *   b = b"S" + (7).to_bytes(8, "big") + b"counter" + (1).to_bytes(8,
 *       "big") + b"1" + b"D" + (3).to_bytes(8, "big") + b"old"
 *   crank = sha256(b); act = sha256(bytes(32) + crank)
 * then an empty crank: sha256(act + sha256(b"")).
 */
#define DOC_CRANK_HASH	\
    "f5007ededfb03d3dd2b67ff8396f4fa0"	\
    "512292e50d6cea7b0ffbe8506613aebc"
#define DOC_ACT_HASH	\
    "7eb7e460127f441a385284ba844baefe"	\
    "115a6e569538e334f0c6cfdaed623150"
#define DOC_ACT_EMPTY	\
    "74b65a027d9f383140ac8fc76dc7c872"	\
    "c3b37e6b51e8c775184f9c9d68ba8e82"
/* sha256(bytes(32) + sha256(b"")): one empty crank on a new store. */
#define EMPTY_CRANK_ACT	\
    "1c9ecec90e28d2461650418635878a5c"	\
    "91e49f47586ecf75f2b0cbb94e897112"

/* Every store call is checked; on failure say which and why. */
#define OK(st, expr) do {						\
	int ok_rc_ = (expr);						\
	ck_assert_msg(ok_rc_ == STORE_OK, "%s: %s: %s", #expr,		\
	    store_strerror(ok_rc_), store_errmsg(st));			\
} while (0)

static char	tdir[64];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
dir_setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void
dir_teardown(void)
{
	ck_assert_int_eq(nftw(tdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* A second directory inside tdir (removed with it). */
static void
subdir(char *out, size_t len, const char *name)
{
	ck_assert_int_lt(snprintf(out, len, "%s/%s", tdir, name), (int)len);
	ck_assert_int_eq(mkdir(out, 0700), 0);
}

static struct store *
open_at(const char *dir, size_t map, size_t max, bool no_sync)
{
	struct store_options	 opt = { map, max, no_sync };
	struct store		*st = NULL;
	char			 err[512];
	int			 rc;

	rc = store_open(dir, &opt, &st, err, sizeof(err));
	ck_assert_msg(rc == STORE_OK, "store_open %s: %s", dir, err);
	ck_assert_ptr_nonnull(st);
	return st;
}

static struct store *
open_fast(void)
{
	return open_at(tdir, 4 * MiB, 0, true);
}

static void
put_s(struct store *st, enum store_table t, const char *k, const char *v)
{
	OK(st, store_put(st, t, k, strlen(k), v, strlen(v)));
}

static void
del_s(struct store *st, enum store_table t, const char *k)
{
	OK(st, store_del(st, t, k, strlen(k)));
}

static void
get_eq(struct store *st, enum store_table t, const char *k, const char *want)
{
	const void	*v;
	size_t		 len;

	OK(st, store_get(st, t, k, strlen(k), &v, &len));
	ck_assert_msg(len == strlen(want) && memcmp(v, want, len) == 0,
	    "key %s: got \"%.*s\", want \"%s\"", k, (int)len,
	    (const char *)v, want);
}

static void
get_none(struct store *st, enum store_table t, const char *k)
{
	const void	*v;
	size_t		 len;

	ck_assert_int_eq(store_get(st, t, k, strlen(k), &v, &len),
	    STORE_NOTFOUND);
}

static void
hash_eq(struct store *st, const char *want)
{
	char	h[STORE_HASH_HEXLEN + 1];

	store_activity_hash(st, h);
	ck_assert_str_eq(h, want);
}

static void
committed_eq(struct store *st, const char *want)
{
	char	h[STORE_HASH_HEXLEN + 1];

	store_committed_activity_hash(st, h);
	ck_assert_str_eq(h, want);
}

/* ---- an independent model of the hashes (docs/state.md) -------------- */

struct model {
	unsigned char	 act[32];
	EVP_MD_CTX	*ctx;
};

static void
model_init(struct model *m)
{
	memset(m->act, 0, sizeof(m->act));
	ck_assert_ptr_nonnull(m->ctx = EVP_MD_CTX_new());
}

static void
model_free(struct model *m)
{
	EVP_MD_CTX_free(m->ctx);
}

static void
model_bytes(struct model *m, const void *p, size_t len)
{
	ck_assert_int_eq(EVP_DigestUpdate(m->ctx, p, len), 1);
}

static void
model_len(struct model *m, size_t n)
{
	unsigned char	b[8];
	int		i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	model_bytes(m, b, 8);
}

static void
model_begin(struct model *m)
{
	ck_assert_int_eq(EVP_DigestInit_ex(m->ctx, EVP_sha256(), NULL), 1);
}

static void
model_set(struct model *m, const void *k, size_t kl, const void *v,
    size_t vl)
{
	model_bytes(m, "S", 1);
	model_len(m, kl);
	model_bytes(m, k, kl);
	model_len(m, vl);
	model_bytes(m, v, vl);
}

static void
model_del(struct model *m, const void *k, size_t kl)
{
	model_bytes(m, "D", 1);
	model_len(m, kl);
	model_bytes(m, k, kl);
}

static void
model_commit(struct model *m)
{
	unsigned char	buf[64];
	unsigned int	len;

	memcpy(buf, m->act, 32);
	ck_assert_int_eq(EVP_DigestFinal_ex(m->ctx, buf + 32, &len), 1);
	ck_assert_int_eq(EVP_Digest(buf, 64, m->act, &len, EVP_sha256(),
	    NULL), 1);
}

static void
model_hex(const struct model *m, char out[65])
{
	int	i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", m->act[i]);
}

/* Both a store write and its model. */
static void
both_set(struct store *st, struct model *m, const void *k, size_t kl,
    const void *v, size_t vl)
{
	OK(st, store_put(st, STORE_KV, k, kl, v, vl));
	model_set(m, k, kl, v, vl);
}

static void
both_del(struct store *st, struct model *m, const void *k, size_t kl)
{
	OK(st, store_del(st, STORE_KV, k, kl));
	model_del(m, k, kl);
}

static void
both_commit(struct store *st, struct model *m)
{
	char	want[65];

	OK(st, store_crank_commit(st));
	model_commit(m);
	model_hex(m, want);
	hash_eq(st, want);
}

/* ---- cranks and blocks ------------------------------------------------ */

START_TEST(test_crank_abort)
{
	struct store	*st = open_fast();
	char		 h[65];

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "a", "1");
	OK(st, store_crank_commit(st));
	OK(st, store_block_commit(st, 1));
	store_activity_hash(st, h);

	/* A committed crank, then an aborted one, in the same block. */
	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "c", "3");
	OK(st, store_crank_commit(st));
	store_activity_hash(st, h);
	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "a", "2");
	put_s(st, STORE_KV, "b", "x");
	put_s(st, STORE_TRANSCRIPTS, "t", "y");
	del_s(st, STORE_KV, "c");
	get_eq(st, STORE_KV, "a", "2");
	get_none(st, STORE_KV, "c");
	store_crank_abort(st);
	ck_assert(!store_crank_is_open(st));
	ck_assert(store_block_is_open(st));
	get_eq(st, STORE_KV, "a", "1");
	get_eq(st, STORE_KV, "c", "3");
	get_none(st, STORE_KV, "b");
	get_none(st, STORE_TRANSCRIPTS, "t");
	get_eq(st, STORE_KV, "activityhash", h);
	hash_eq(st, h);
	ck_assert_uint_eq(store_crank_count(st), 2);
	OK(st, store_block_commit(st, 2));
	store_close(st);

	st = open_fast();
	get_eq(st, STORE_KV, "a", "1");
	get_eq(st, STORE_KV, "c", "3");
	get_none(st, STORE_KV, "b");
	committed_eq(st, h);
	ck_assert_uint_eq(store_crank_count(st), 2);
	store_close(st);
}
END_TEST

/* The one test that syncs: commit, close, reopen. */
START_TEST(test_commit_durable)
{
	struct store	*st = open_at(tdir, 1 * MiB, 0, false);
	char		 h[65], c[65];

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "x", "one");
	put_s(st, STORE_BUNDLES, "b1", "bundle bytes");
	OK(st, store_crank_commit(st));
	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "y", "two");
	OK(st, store_crank_commit(st));
	store_activity_hash(st, h);
	committed_eq(st, ZERO_HASH);
	OK(st, store_block_commit(st, 1));
	ck_assert(!store_block_is_open(st));
	store_committed_activity_hash(st, c);
	ck_assert_str_eq(c, h);
	store_close(st);

	st = open_at(tdir, 1 * MiB, 0, false);
	ck_assert_uint_eq(store_height(st), 1);
	ck_assert_uint_eq(store_crank_count(st), 2);
	ck_assert(!store_block_is_open(st));
	hash_eq(st, h);
	committed_eq(st, h);
	get_eq(st, STORE_KV, "x", "one");
	get_eq(st, STORE_KV, "y", "two");
	get_eq(st, STORE_BUNDLES, "b1", "bundle bytes");
	get_eq(st, STORE_KV, "activityhash", h);
	store_close(st);
}
END_TEST

START_TEST(test_uncommitted_lost)
{
	struct store	*st = open_fast();
	char		 h[65];

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "a", "1");
	OK(st, store_crank_commit(st));
	OK(st, store_block_commit(st, 1));
	store_activity_hash(st, h);
	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "a", "2");
	put_s(st, STORE_KV, "b", "2");
	OK(st, store_crank_commit(st));
	OK(st, store_crank_begin(st));		/* left open at close */
	put_s(st, STORE_KV, "c", "3");
	store_close(st);

	st = open_fast();
	ck_assert_uint_eq(store_height(st), 1);
	ck_assert_uint_eq(store_crank_count(st), 1);
	hash_eq(st, h);
	get_eq(st, STORE_KV, "a", "1");
	get_none(st, STORE_KV, "b");
	get_none(st, STORE_KV, "c");
	get_eq(st, STORE_KV, "activityhash", h);
	store_close(st);
}
END_TEST

START_TEST(test_block_abort)
{
	struct store	*st = open_fast();
	char		 h[65];

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "a", "1");
	OK(st, store_crank_commit(st));
	OK(st, store_block_commit(st, 1));
	store_activity_hash(st, h);

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "a", "2");
	OK(st, store_crank_commit(st));
	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "b", "2");
	ck_assert_uint_eq(store_crank_count(st), 2);
	store_block_abort(st);
	ck_assert(!store_block_is_open(st));
	ck_assert(!store_crank_is_open(st));
	ck_assert_uint_eq(store_crank_count(st), 1);
	ck_assert_uint_eq(store_height(st), 1);
	hash_eq(st, h);
	get_eq(st, STORE_KV, "a", "1");
	get_none(st, STORE_KV, "b");

	/* The store goes on as if the block never was. */
	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "z", "9");
	OK(st, store_crank_commit(st));
	OK(st, store_block_commit(st, 2));
	store_close(st);
	st = open_fast();
	ck_assert_uint_eq(store_height(st), 2);
	get_eq(st, STORE_KV, "a", "1");
	get_eq(st, STORE_KV, "z", "9");
	store_close(st);
}
END_TEST

/* ---- hashes ----------------------------------------------------------- */

START_TEST(test_hash_doc_example)
{
	struct store	*st = open_fast();
	struct model	 m;
	unsigned char	 ch[32];
	unsigned int	 len;
	char		 hex[65];
	int		 i;

	/* The model's crank hash agrees with python's. */
	model_init(&m);
	model_begin(&m);
	model_set(&m, "counter", 7, "1", 1);
	model_del(&m, "old", 3);
	ck_assert_int_eq(EVP_DigestFinal_ex(m.ctx, ch, &len), 1);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", ch[i]);
	ck_assert_str_eq(hex, DOC_CRANK_HASH);
	model_free(&m);

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "counter", "1");
	del_s(st, STORE_KV, "old");
	OK(st, store_crank_commit(st));
	hash_eq(st, DOC_ACT_HASH);
	get_eq(st, STORE_KV, "activityhash", DOC_ACT_HASH);
	OK(st, store_crank_begin(st));
	OK(st, store_crank_commit(st));
	hash_eq(st, DOC_ACT_EMPTY);
	store_close(st);
}
END_TEST

/* Three cranks of binary writes against the model, across a commit. */
START_TEST(test_hash_model)
{
	struct store	*st = open_fast();
	struct model	 m;
	char		 want[65];
	unsigned char	 big[3000];
	size_t		 i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	model_init(&m);
	OK(st, store_crank_begin(st));
	model_begin(&m);
	both_set(st, &m, "k1", 2, "v1", 2);
	both_set(st, &m, "nul\0key", 7, "\0\xff\0", 3);
	both_set(st, &m, "empty", 5, "", 0);
	both_commit(st, &m);

	OK(st, store_crank_begin(st));
	model_begin(&m);
	both_del(st, &m, "k1", 2);
	both_del(st, &m, "absent", 6);
	OK(st, store_put(st, STORE_TRANSCRIPTS, "k1", 2, "t", 1));
	both_set(st, &m, "big", 3, big, sizeof(big));
	both_commit(st, &m);
	OK(st, store_block_commit(st, 1));

	OK(st, store_crank_begin(st));
	model_begin(&m);
	both_set(st, &m, "k1", 2, "again", 5);
	both_set(st, &m, "k1", 2, "twice", 5);
	both_commit(st, &m);
	OK(st, store_block_commit(st, 2));
	model_hex(&m, want);
	store_close(st);

	st = open_fast();
	committed_eq(st, want);
	get_eq(st, STORE_KV, "k1", "twice");
	store_close(st);
	model_free(&m);
}
END_TEST

START_TEST(test_non_kv_not_hashed)
{
	struct store	*st = open_fast();

	OK(st, store_crank_begin(st));
	put_s(st, STORE_TRANSCRIPTS, "v1.t.0", "delivery");
	put_s(st, STORE_BUNDLES, "b0", "code");
	put_s(st, STORE_META, "x-note", "not hashed");
	del_s(st, STORE_TRANSCRIPTS, "v1.t.9");
	OK(st, store_crank_commit(st));
	hash_eq(st, EMPTY_CRANK_ACT);
	get_eq(st, STORE_TRANSCRIPTS, "v1.t.0", "delivery");
	get_eq(st, STORE_BUNDLES, "b0", "code");
	store_close(st);
}
END_TEST

/* kv keys beginning "local." or "host." are this node's own: stored,
 * not hashed (SwingSet's kvStore); "localx" and "hostess" are hashed. */
START_TEST(test_local_kv_not_hashed)
{
	struct store	*st = open_fast();
	struct model	 m;
	char		 want[65];

	model_init(&m);
	model_begin(&m);
	OK(st, store_crank_begin(st));
	both_set(st, &m, "localx", 6, "1", 1);
	put_s(st, STORE_KV, "local.kernelStats", "{}");
	both_set(st, &m, "hostess", 7, "2", 1);
	put_s(st, STORE_KV, "host.note", "x");
	del_s(st, STORE_KV, "local.gone");
	OK(st, store_crank_commit(st));
	model_commit(&m);
	model_hex(&m, want);
	hash_eq(st, want);
	get_eq(st, STORE_KV, "local.kernelStats", "{}");

	/* a crank of local writes only hashes as an empty one */
	model_begin(&m);
	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "local.kernelStats", "{\"a\":1}");
	OK(st, store_crank_commit(st));
	model_commit(&m);
	model_hex(&m, want);
	hash_eq(st, want);
	model_free(&m);
	store_close(st);
}
END_TEST

START_TEST(test_empty)
{
	struct store	*st = open_fast();

	hash_eq(st, ZERO_HASH);
	OK(st, store_block_commit(st, 1));	/* empty block */
	ck_assert_uint_eq(store_height(st), 1);
	ck_assert(!store_block_is_open(st));
	hash_eq(st, ZERO_HASH);
	committed_eq(st, ZERO_HASH);
	get_none(st, STORE_KV, "activityhash");

	OK(st, store_crank_begin(st));		/* empty crank */
	ck_assert(store_block_is_open(st));
	OK(st, store_crank_commit(st));
	hash_eq(st, EMPTY_CRANK_ACT);
	committed_eq(st, ZERO_HASH);
	ck_assert_uint_eq(store_crank_count(st), 1);
	OK(st, store_block_commit(st, 2));
	OK(st, store_block_commit(st, 3));	/* empty again */
	store_close(st);

	st = open_fast();
	ck_assert_uint_eq(store_height(st), 3);
	ck_assert_uint_eq(store_crank_count(st), 1);
	committed_eq(st, EMPTY_CRANK_ACT);
	get_eq(st, STORE_KV, "activityhash", EMPTY_CRANK_ACT);
	store_close(st);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

START_TEST(test_height_errors)
{
	struct store	*st = open_fast();

	ck_assert_int_eq(store_block_commit(st, 0), STORE_ESTATE);
	ck_assert_int_eq(store_block_commit(st, 2), STORE_ESTATE);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "height"));
	ck_assert(!store_block_is_open(st));
	OK(st, store_block_commit(st, 1));
	ck_assert_int_eq(store_block_commit(st, 1), STORE_ESTATE);
	ck_assert_int_eq(store_block_commit(st, 3), STORE_ESTATE);
	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "a", "1");
	ck_assert_int_eq(store_block_commit(st, 2), STORE_ESTATE);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "crank"));
	OK(st, store_crank_commit(st));
	ck_assert_int_eq(store_block_commit(st, 3), STORE_ESTATE);
	ck_assert(store_block_is_open(st));
	OK(st, store_block_commit(st, 2));
	ck_assert_uint_eq(store_height(st), 2);
	store_close(st);
}
END_TEST

START_TEST(test_state_errors)
{
	struct store	*st = open_fast();
	char		 longkey[600];

	memset(longkey, 'k', sizeof(longkey));
	ck_assert_int_eq(store_put(st, STORE_KV, "a", 1, "1", 1),
	    STORE_ESTATE);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "no crank"));
	ck_assert_int_eq(store_del(st, STORE_KV, "a", 1), STORE_ESTATE);
	ck_assert_int_eq(store_crank_commit(st), STORE_ESTATE);
	ck_assert(!store_block_is_open(st));
	OK(st, store_crank_begin(st));
	ck_assert_int_eq(store_crank_begin(st), STORE_ESTATE);

	/* Bad arguments are refused and leave the crank usable. */
	ck_assert_int_eq(store_put(st, STORE_KV, "", 0, "1", 1),
	    STORE_EINVAL);
	ck_assert_int_eq(store_put(st, STORE_KV, longkey, 512, "1", 1),
	    STORE_EINVAL);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "table kv"));
	ck_assert_int_eq(store_put(st, STORE_NTABLES, "a", 1, "1", 1),
	    STORE_EINVAL);
	OK(st, store_put(st, STORE_KV, longkey, 511, "1", 1));
	OK(st, store_crank_commit(st));
	store_crank_abort(st);			/* no crank: no-op */
	ck_assert_uint_eq(store_crank_count(st), 1);
	OK(st, store_block_commit(st, 1));
	store_close(st);
}
END_TEST

/* ---- map growth ------------------------------------------------------- */

#define GROW_CRANKS	200
#define GROW_PUTS	5
#define GROW_VLEN	20000	/* 200 * 5 * 20000 = 20 MB in kv */

static void
grow_value(unsigned char *buf, size_t len, unsigned seed)
{
	uint32_t	x = seed * 2654435761u + 1;
	size_t		i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
}

static void
grow_key(char *k, size_t len, unsigned c, unsigned j)
{
	ck_assert_int_lt(snprintf(k, len, "k%05u.%u", c, j), (int)len);
}

/* Whether key (c, j) survives the sequence: every 10th crank deletes
 * (c - 5, 0). */
static bool
grow_deleted(unsigned c, unsigned j)
{
	return j == 0 && c + 5 < GROW_CRANKS && (c + 5) % 10 == 0;
}

/* The 20 MB sequence in one block; returns the committed hash. */
static void
grow_run(const char *dir, size_t map, char out[65])
{
	struct store	*st = open_at(dir, map, 0, true);
	unsigned char	*v = malloc(GROW_VLEN);
	struct model	 m;
	char		 k[32], want[65];
	unsigned	 c, j;

	ck_assert_ptr_nonnull(v);
	model_init(&m);
	for (c = 0; c < GROW_CRANKS; c++) {
		if (c % 7 == 3) {	/* an aborted crank now and then */
			OK(st, store_crank_begin(st));
			grow_value(v, GROW_VLEN, 999999);
			OK(st, store_put(st, STORE_KV, "junk", 4, v,
			    GROW_VLEN));
			store_crank_abort(st);
		}
		OK(st, store_crank_begin(st));
		model_begin(&m);
		for (j = 0; j < GROW_PUTS; j++) {
			grow_key(k, sizeof(k), c, j);
			grow_value(v, GROW_VLEN, c * GROW_PUTS + j);
			both_set(st, &m, k, strlen(k), v, GROW_VLEN);
		}
		OK(st, store_put(st, STORE_TRANSCRIPTS, k, strlen(k), v,
		    1000));
		if (c % 10 == 0 && c >= 5) {
			grow_key(k, sizeof(k), c - 5, 0);
			both_del(st, &m, k, strlen(k));
		}
		both_commit(st, &m);
	}
	OK(st, store_block_commit(st, 1));
	store_activity_hash(st, out);
	model_hex(&m, want);
	ck_assert_str_eq(out, want);
	model_free(&m);
	free(v);
	store_close(st);
}

static void
grow_verify(const char *dir)
{
	struct store	*st = open_at(dir, 1 * MiB, 0, true);
	unsigned char	*v = malloc(GROW_VLEN);
	const void	*got;
	size_t		 len;
	char		 k[32];
	unsigned	 c, j;
	int		 rc;

	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(store_height(st), 1);
	ck_assert_uint_eq(store_crank_count(st), GROW_CRANKS);
	ck_assert_uint_gt(store_map_size(st), 20000000);
	get_none(st, STORE_KV, "junk");
	for (c = 0; c < GROW_CRANKS; c++)
		for (j = 0; j < GROW_PUTS; j++) {
			grow_key(k, sizeof(k), c, j);
			rc = store_get(st, STORE_KV, k, strlen(k), &got, &len);
			if (grow_deleted(c, j)) {
				ck_assert_int_eq(rc, STORE_NOTFOUND);
				continue;
			}
			ck_assert_int_eq(rc, STORE_OK);
			grow_value(v, GROW_VLEN, c * GROW_PUTS + j);
			ck_assert_uint_eq(len, GROW_VLEN);
			ck_assert_msg(memcmp(got, v, len) == 0, "value of %s",
			    k);
		}
	free(v);
	store_close(st);
}

START_TEST(test_map_growth)
{
	char	small[128], big[128], hs[65], hb[65];

	subdir(small, sizeof(small), "small");
	subdir(big, sizeof(big), "big");
	grow_run(small, 1 * MiB, hs);
	grow_run(big, 64 * MiB, hb);
	ck_assert_str_eq(hs, hb);
	grow_verify(small);
}
END_TEST

START_TEST(test_reserved_key)
{
	struct store	*st = open_fast();

	OK(st, store_crank_begin(st));
	ck_assert_int_eq(store_put(st, STORE_KV, "activityhash", 12, "x", 1),
	    STORE_EINVAL);
	ck_assert_int_eq(store_del(st, STORE_KV, "activityhash", 12),
	    STORE_EINVAL);
	OK(st, store_put(st, STORE_META, "activityhash2", 13, "x", 1));
	OK(st, store_crank_commit(st));
	store_close(st);
}
END_TEST

/* kv.c: JSON the kernel writes reads back equal, NUL in strings
 * included (issue 11 defect 2), and counters count. */
START_TEST(test_kv_json_round_trip)
{
	struct store	*st = open_fast();
	json_t		*v = json_pack("{s:s#, s:[i]}", "k", "a\0b", (size_t)3,
			    "n", 7), *back;
	char		*text;
	uint64_t	 id;

	ck_assert_ptr_nonnull(v);
	OK(st, store_crank_begin(st));
	OK(st, kv_put_json(st, "j", v));
	back = kv_get_json(st, "j");
	ck_assert_ptr_nonnull(back);
	ck_assert(json_equal(v, back));
	ck_assert_uint_eq(json_string_length(json_object_get(back, "k")), 3);
	OK(st, kv_alloc(st, "next", 5, &id));
	ck_assert_uint_eq(id, 5);
	OK(st, kv_alloc(st, "next", 5, &id));
	ck_assert_uint_eq(id, 6);
	ck_assert_ptr_nonnull(text = kv_get(st, "next"));
	ck_assert_str_eq(text, "7");
	ck_assert_ptr_null(kv_get(st, "absent"));
	OK(st, store_crank_commit(st));
	free(text);
	json_decref(v);
	json_decref(back);
	store_close(st);
}
END_TEST

/*
 * Copying a value straight from store_get into store_put while the map
 * grows under the put: the store must not read the caller's (LMDB-owned)
 * bytes after growing and replaying.  Under ASan this was a
 * use-after-free; here every copy must equal the source afterwards.
 */
START_TEST(test_put_borrowed_value)
{
	char		 dir[128], k[32];
	struct store	*st;
	unsigned char	 src[100000];
	const void	*v;
	size_t		 vl;

	subdir(dir, sizeof(dir), "borrow");
	st = open_at(dir, 1 * MiB, 0, true);
	grow_value(src, sizeof(src), 7);
	OK(st, store_crank_begin(st));
	OK(st, store_put(st, STORE_KV, "src", 3, src, sizeof(src)));
	for (int i = 0; i < 40; i++) {
		snprintf(k, sizeof(k), "copy%d", i);
		OK(st, store_get(st, STORE_KV, "src", 3, &v, &vl));
		OK(st, store_put(st, STORE_KV, k, strlen(k), v, vl));
	}
	OK(st, store_crank_commit(st));
	ck_assert_uint_gt(store_map_size(st), 1 * MiB);
	for (int i = 0; i < 40; i++) {
		snprintf(k, sizeof(k), "copy%d", i);
		OK(st, store_get(st, STORE_KV, k, strlen(k), &v, &vl));
		ck_assert_uint_eq(vl, sizeof(src));
		ck_assert(memcmp(v, src, vl) == 0);
	}
	store_close(st);
}
END_TEST

/*
 * Many one-crank blocks of overwrites in a 1 MiB map: here the map fills
 * up in block commits too (LMDB's free-list pages), not only in puts.
 */
#define SMALL_BLOCKS	2000
#define SMALL_KEYS	300

static size_t
small_len(unsigned i)
{
	return 1 + (i * 104729u) % 3000;
}

static void
small_run(const char *dir, size_t map, unsigned *last, char out[65])
{
	struct store	*st = open_at(dir, map, 0, true);
	unsigned char	 v[3001];
	char		 k[32];
	unsigned	 i, key;

	for (i = 0; i < SMALL_BLOCKS; i++) {
		key = (i * 7919u) % SMALL_KEYS;
		ck_assert_int_lt(snprintf(k, sizeof(k), "key%u", key),
		    (int)sizeof(k));
		grow_value(v, small_len(i), i);
		OK(st, store_crank_begin(st));
		OK(st, store_put(st, STORE_KV, k, strlen(k), v, small_len(i)));
		OK(st, store_crank_commit(st));
		OK(st, store_block_commit(st, i + 1));
		last[key] = i;
	}
	store_committed_activity_hash(st, out);
	store_close(st);
}

START_TEST(test_map_growth_blocks)
{
	char		 small[128], big[128], hs[65], hb[65], k[32];
	unsigned	 last[SMALL_KEYS], key;
	unsigned char	 v[3001];
	struct store	*st;
	const void	*got;
	size_t		 len;

	subdir(small, sizeof(small), "small");
	subdir(big, sizeof(big), "big");
	small_run(small, 1 * MiB, last, hs);
	small_run(big, 64 * MiB, last, hb);
	ck_assert_str_eq(hs, hb);
	st = open_at(small, 1 * MiB, 0, true);
	ck_assert_uint_eq(store_height(st), SMALL_BLOCKS);
	ck_assert_uint_gt(store_map_size(st), 1 * MiB);
	for (key = 0; key < SMALL_KEYS; key++) {
		snprintf(k, sizeof(k), "key%u", key);
		OK(st, store_get(st, STORE_KV, k, strlen(k), &got, &len));
		grow_value(v, small_len(last[key]), last[key]);
		ck_assert_uint_eq(len, small_len(last[key]));
		ck_assert_msg(memcmp(got, v, len) == 0, "value of %s", k);
	}
	store_close(st);
}
END_TEST

START_TEST(test_map_max)
{
	struct store	*st = open_at(tdir, 1 * MiB, 2 * MiB, true);
	size_t		 blen = 4 * MiB;
	unsigned char	*b = calloc(1, blen);
	char		 h[65];

	ck_assert_ptr_nonnull(b);
	OK(st, store_crank_begin(st));
	OK(st, store_put(st, STORE_KV, "small", 5, b, 100000));
	OK(st, store_crank_commit(st));
	store_activity_hash(st, h);

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "lost", "x");
	ck_assert_int_eq(store_put(st, STORE_KV, "huge", 4, b, blen),
	    STORE_EFULL);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "maximum"));
	ck_assert_uint_eq(store_map_size(st), 2 * MiB);
	/* Only abort is left to that crank. */
	ck_assert_int_eq(store_put(st, STORE_KV, "more", 4, "y", 1),
	    STORE_ESTATE);
	ck_assert_int_eq(store_crank_commit(st), STORE_ESTATE);
	ck_assert(store_crank_is_open(st));
	store_crank_abort(st);
	hash_eq(st, h);
	get_none(st, STORE_KV, "lost");
	get_none(st, STORE_KV, "huge");

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "after", "z");
	OK(st, store_crank_commit(st));
	store_activity_hash(st, h);
	OK(st, store_block_commit(st, 1));
	store_close(st);

	st = open_at(tdir, 1 * MiB, 2 * MiB, true);
	committed_eq(st, h);
	ck_assert_uint_eq(store_crank_count(st), 2);
	get_eq(st, STORE_KV, "after", "z");
	get_none(st, STORE_KV, "lost");
	store_close(st);
	free(b);
}
END_TEST

/*
 * A commit that fails on write (RLIMIT_FSIZE makes pwrite fail with
 * EFBIG, standing in for ENOSPC): nothing lost, commit again later.
 */
START_TEST(test_commit_fails)
{
	struct store	*st = open_fast();
	struct rlimit	 old, lim;
	struct stat	 sb;
	char		 path[128], h[65];
	unsigned char	*b = calloc(1, 2 * MiB);
	const void	*v;
	size_t		 len;
	int		 rc;

	ck_assert_ptr_nonnull(b);
	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "a", "1");
	OK(st, store_crank_commit(st));
	OK(st, store_block_commit(st, 1));
	OK(st, store_crank_begin(st));
	OK(st, store_put(st, STORE_KV, "big", 3, b, 2 * MiB));
	OK(st, store_crank_commit(st));
	store_activity_hash(st, h);

	snprintf(path, sizeof(path), "%s/data.mdb", tdir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
	lim = old;
	lim.rlim_cur = (rlim_t)sb.st_size;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = store_block_commit(st, 2);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(rc, STORE_EIO);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "block commit"));
	ck_assert_uint_eq(store_height(st), 1);
	ck_assert(store_block_is_open(st));
	hash_eq(st, h);
	OK(st, store_get(st, STORE_KV, "big", 3, &v, &len));
	ck_assert_uint_eq(len, 2 * MiB);

	OK(st, store_block_commit(st, 2));
	store_close(st);
	st = open_fast();
	ck_assert_uint_eq(store_height(st), 2);
	committed_eq(st, h);
	OK(st, store_get(st, STORE_KV, "big", 3, &v, &len));
	ck_assert_uint_eq(len, 2 * MiB);
	ck_assert(memcmp(v, b, len) == 0);
	store_close(st);
	free(b);
}
END_TEST

/* ---- reads ------------------------------------------------------------ */

static void
expect_order(struct store *st, const char *const *want, const size_t *wlen,
    size_t n)
{
	const void	*k = NULL;
	size_t		 kl = 0, i;

	for (i = 0; i < n; i++) {
		OK(st, store_next_key(st, STORE_KV, k, kl, &k, &kl));
		ck_assert_msg(kl == wlen[i] && memcmp(k, want[i], kl) == 0,
		    "key %zu: got \"%.*s\"", i, (int)kl, (const char *)k);
	}
	ck_assert_int_eq(store_next_key(st, STORE_KV, k, kl, &k, &kl),
	    STORE_NOTFOUND);
}

START_TEST(test_next_key)
{
	static const char *const want[] = { "\0", "a", "a\0", "ab",
	    "activityhash", "b", "c" };
	static const size_t wlen[] = { 1, 1, 2, 2, 12, 1, 1 };
	static const char *const inside[] = { "\0", "a", "a\0", "ab",
	    "b", "c" };
	static const size_t ilen[] = { 1, 1, 2, 2, 1, 1 };
	struct store	*st = open_fast();
	const void	*k;
	size_t		 kl;

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "b", "");
	put_s(st, STORE_KV, "c", "");
	put_s(st, STORE_KV, "ab", "");
	OK(st, store_put(st, STORE_KV, "\0", 1, "", 0));
	OK(st, store_put(st, STORE_KV, "a\0", 2, "", 0));
	put_s(st, STORE_KV, "a", "");
	put_s(st, STORE_TRANSCRIPTS, "aa", "");
	/* Inside the crank: the crank's own writes ("activityhash" is
	 * written when the first crank commits). */
	expect_order(st, inside, ilen, 6);
	OK(st, store_crank_commit(st));
	OK(st, store_block_commit(st, 1));

	/* Outside any block: the committed state. */
	expect_order(st, want, wlen, 7);
	OK(st, store_next_key(st, STORE_KV, "aa", 2, &k, &kl));
	ck_assert(kl == 2 && memcmp(k, "ab", 2) == 0);
	ck_assert_int_eq(store_next_key(st, STORE_KV, "c", 1, &k, &kl),
	    STORE_NOTFOUND);
	OK(st, store_next_key(st, STORE_TRANSCRIPTS, NULL, 0, &k, &kl));
	ck_assert(kl == 2 && memcmp(k, "aa", 2) == 0);
	ck_assert_int_eq(store_next_key(st, STORE_BUNDLES, NULL, 0, &k, &kl),
	    STORE_NOTFOUND);
	store_close(st);
}
END_TEST

/* Reads see crank, then block, then committed state. */
START_TEST(test_read_layers)
{
	struct store	*st = open_fast();
	const void	*v1, *v2;
	size_t		 l1, l2;

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "k", "committed");
	put_s(st, STORE_KV, "j", "committed");
	OK(st, store_crank_commit(st));
	OK(st, store_block_commit(st, 1));
	OK(st, store_get(st, STORE_KV, "k", 1, &v1, &l1));
	OK(st, store_get(st, STORE_KV, "j", 1, &v2, &l2));
	/* Both borrowed values stay valid until the next boundary. */
	ck_assert(l1 == 9 && memcmp(v1, "committed", 9) == 0);
	ck_assert(l2 == 9 && memcmp(v2, "committed", 9) == 0);

	OK(st, store_crank_begin(st));
	put_s(st, STORE_KV, "k", "block");
	OK(st, store_crank_commit(st));
	get_eq(st, STORE_KV, "k", "block");
	OK(st, store_crank_begin(st));
	get_eq(st, STORE_KV, "k", "block");
	put_s(st, STORE_KV, "k", "crank");
	get_eq(st, STORE_KV, "k", "crank");
	store_crank_abort(st);
	get_eq(st, STORE_KV, "k", "block");
	store_block_abort(st);
	get_eq(st, STORE_KV, "k", "committed");
	store_close(st);
}
END_TEST

/* ---- format ----------------------------------------------------------- */

static void
raw_put_meta(const char *dir, const char *key, const char *val)
{
	MDB_env	*env;
	MDB_txn	*txn;
	MDB_dbi	 dbi;
	MDB_val	 k = { strlen(key), (void *)(uintptr_t)key };
	MDB_val	 v = { strlen(val), (void *)(uintptr_t)val };

	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

START_TEST(test_format_mismatch)
{
	struct store_options	 opt = { 1 * MiB, 0, true };
	struct store		*st = open_fast();
	char			 err[512], other[128];

	OK(st, store_block_commit(st, 1));
	store_close(st);
	raw_put_meta(tdir, "version", "swingsetd-store 2");
	ck_assert_int_eq(store_open(tdir, &opt, &st, err, sizeof(err)),
	    STORE_EFORMAT);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err, tdir));
	ck_assert_ptr_nonnull(strstr(err, "swingsetd-store 2"));

	/* Data without any version is not ours either. */
	subdir(other, sizeof(other), "other");
	raw_put_meta(other, "height", "7");
	ck_assert_int_eq(store_open(other, &opt, &st, err, sizeof(err)),
	    STORE_EFORMAT);
	ck_assert_ptr_null(st);

	/* A missing directory is an I/O error naming it. */
	snprintf(other, sizeof(other), "%s/missing", tdir);
	ck_assert_int_eq(store_open(other, &opt, &st, err, sizeof(err)),
	    STORE_EIO);
	ck_assert_ptr_nonnull(strstr(err, other));
}
END_TEST

static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_crank_abort);
	tcase_add_test(tc, test_commit_durable);
	tcase_add_test(tc, test_uncommitted_lost);
	tcase_add_test(tc, test_block_abort);
	tcase_add_test(tc, test_hash_doc_example);
	tcase_add_test(tc, test_hash_model);
	tcase_add_test(tc, test_non_kv_not_hashed);
	tcase_add_test(tc, test_local_kv_not_hashed);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_height_errors);
	tcase_add_test(tc, test_state_errors);
	tcase_add_test(tc, test_map_growth);
	tcase_add_test(tc, test_put_borrowed_value);
	tcase_add_test(tc, test_reserved_key);
	tcase_add_test(tc, test_kv_json_round_trip);
	tcase_add_test(tc, test_map_growth_blocks);
	tcase_add_test(tc, test_map_max);
	tcase_add_test(tc, test_commit_fails);
	tcase_add_test(tc, test_next_key);
	tcase_add_test(tc, test_read_layers);
	tcase_add_test(tc, test_format_mismatch);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(store_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
