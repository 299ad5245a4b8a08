/*
 * hash.c — the crank hash (SHA-256 of the crank's kv writes) and the
 * activity hash that chains them, encoded as docs/state.md says, and the
 * hex form of a hash.  It does not store the hashes: store.c writes the
 * activity hash at each crank commit and keeps it in struct store.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "daemon/store/store.h"
#include "daemon/store/store_impl.h"

void
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
int
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

/* Keys beginning "local." or "host." are this node's own (SwingSet's
 * kvStore getKeyType): never hashed. */
static bool
store_hash_local(const struct store_redo_rec *r)
{
	return (r->klen >= 6 && memcmp(r->key, "local.", 6) == 0) ||
	    (r->klen >= 5 && memcmp(r->key, "host.", 5) == 0);
}

/* Feed one kv write to the crank hash (encoding in docs/state.md). */
int
store_hash_write(struct store *st, const struct store_redo_rec *r)
{
	EVP_MD_CTX	*ctx = st->st_hctx;
	const char	*tag = r->op == STORE_REDO_PUT ? "S" : "D";
	int		 ok;

	if (store_hash_local(r))
		return STORE_OK;
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
int
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
