/*
 * vatstore.c — the vatstore syscalls (get, set, delete, getNextKey),
 * confined to the vat's own key range vN.vs.*.
 * Keys and values are strings taken as bytes (a NUL is data); a key too
 * long for the store is an illegal syscall, not a store failure.
 * getNextKey walks the vat's keys in byte order and never leaves its
 * range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

/* LMDB's key limit, less the "vN.vs." prefix (vat IDs are short). */
#define VS_MAX_KEY	(511 - 32)

/* A vatstore key as bytes: "vN.vs." + key (NULs and all).  Borrowed
 * from the vso; *len excludes nothing. */
struct vs_ref {
	char	 buf[VS_MAX_KEY + 48];
	size_t	 len;
	size_t	 plen;		/* length of the "vN.vs." prefix */
};

static void
vs_key(struct kvat *v, const json_t *key, struct vs_ref *out)
{
	out->plen = (size_t)snprintf(out->buf, sizeof(out->buf), "%s.vs.",
	    v->id);
	memcpy(out->buf + out->plen, json_string_value(key),
	    json_string_length(key));
	out->len = out->plen + json_string_length(key);
}

static json_t *
vs_get(struct kernel *k, const struct vs_ref *r)
{
	const void	*val;
	size_t		 len;
	int		 rc;

	rc = store_get(k->st, STORE_KV, r->buf, r->len, &val, &len);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return ksys_store_failed(k, rc);
	/* absent and empty read the same, as in SwingSet */
	return ksys_ok(rc == STORE_OK && len > 0 ? json_stringn(val, len) :
	    NULL);
}

static json_t *
vs_next(struct kernel *k, const struct vs_ref *r)
{
	const void	*next;
	size_t		 nlen;
	int		 rc;

	rc = store_next_key(k->st, STORE_KV, r->buf, r->len, &next, &nlen);
	if (rc == STORE_OK && nlen >= r->plen &&
	    memcmp(next, r->buf, r->plen) == 0)
		return ksys_ok(json_stringn((const char *)next + r->plen,
		    nlen - r->plen));
	if (rc == STORE_OK || rc == STORE_NOTFOUND)
		return ksys_ok(NULL);
	return ksys_store_failed(k, rc);
}

static json_t *
vs_write(struct kernel *k, const struct vs_ref *r, const json_t *val)
{
	int rc = val ? store_put(k->st, STORE_KV, r->buf, r->len,
	    json_string_value(val), json_string_length(val)) :
	    store_del(k->st, STORE_KV, r->buf, r->len);

	return rc == STORE_OK ? ksys_ok(NULL) : ksys_store_failed(k, rc);
}

json_t *
ksys_vatstore(struct kernel *k, struct kvat *v, const char *op, json_t *vso)
{
	json_t		*key = json_array_get(vso, 1);
	json_t		*val = json_array_get(vso, 2);
	size_t		 n = json_array_size(vso);
	struct vs_ref	 r;

	if (!json_is_string(key))
		return ksys_illegal(k, v, "vatstore%s: key is not a string", op);
	if (json_string_length(key) > VS_MAX_KEY)
		return ksys_illegal(k, v, "vatstore%s: key longer than %d "
		    "bytes", op, VS_MAX_KEY);
	vs_key(v, key, &r);
	if (strcmp(op, "Get") == 0 && n == 2)
		return vs_get(k, &r);
	if (strcmp(op, "GetNextKey") == 0 && n == 2)
		return vs_next(k, &r);
	if (strcmp(op, "Set") == 0 && n == 3 && json_is_string(val)) {
		k->cr.vs_writes++;
		return vs_write(k, &r, val);
	}
	if (strcmp(op, "Delete") == 0 && n == 2)
		return vs_write(k, &r, NULL);
	return ksys_illegal(k, v, "vatstore%s: malformed", op);
}
