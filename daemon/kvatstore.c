/*
 * kvatstore.c — the vatstore syscalls (get, set, delete, getNextKey),
 * confined to the vat's own key range vN.vs.*, and the GC syscalls.
 * Values are strings; getNextKey walks the vat's keys in byte order and
 * never leaves its range.  Reference counting is not kept yet, so the GC
 * syscalls are checked (every vref must be in the vat's c-list) and
 * acknowledged without freeing anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel.h"

static char *
vs_key(struct kvat *v, const char *key)
{
	char *out = NULL;

	return asprintf(&out, "%s.vs.%s", v->id, key) < 0 ? NULL : out;
}

static json_t *
vs_get(struct kernel *k, struct kvat *v, const char *key)
{
	char	*full = vs_key(v, key), *val;
	json_t	*r;

	if (full == NULL)
		return ksys_store_failed(k, STORE_ENOMEM);
	val = kst_get(k, full);
	/* absent and empty read the same, as in SwingSet */
	r = ksys_ok(val != NULL && *val != '\0' ? json_string(val) : NULL);
	free(val);
	free(full);
	return r;
}

static json_t *
vs_next(struct kernel *k, struct kvat *v, const char *prior)
{
	char		*full = vs_key(v, prior), *prefix = vs_key(v, "");
	const void	*next;
	size_t		 nlen, plen;
	json_t		*r = NULL;
	int		 rc;

	if (full == NULL || prefix == NULL) {
		r = ksys_store_failed(k, STORE_ENOMEM);
		goto out;
	}
	plen = strlen(prefix);
	rc = store_next_key(k->st, STORE_KV, full, strlen(full), &next, &nlen);
	if (rc == STORE_OK && nlen >= plen && memcmp(next, prefix, plen) == 0)
		r = ksys_ok(json_stringn((const char *)next + plen,
		    nlen - plen));
	else if (rc == STORE_OK || rc == STORE_NOTFOUND)
		r = ksys_ok(NULL);
	else
		r = ksys_store_failed(k, rc);
out:
	free(full);
	free(prefix);
	return r;
}

static json_t *
vs_write(struct kernel *k, struct kvat *v, const char *key, const char *val)
{
	char	*full = vs_key(v, key);
	int	 rc;

	if (full == NULL)
		return ksys_store_failed(k, STORE_ENOMEM);
	rc = val ? kst_put(k, full, val) : kst_del(k, full);
	free(full);
	return rc == STORE_OK ? ksys_ok(NULL) : ksys_store_failed(k, rc);
}

json_t *
ksys_vatstore(struct kernel *k, struct kvat *v, const char *op, json_t *vso)
{
	const char	*key = json_string_value(json_array_get(vso, 1));
	const char	*val = json_string_value(json_array_get(vso, 2));
	size_t		 n = json_array_size(vso);

	if (key == NULL)
		return ksys_illegal(k, v, "vatstore%s: key is not a string", op);
	if (strcmp(op, "Get") == 0 && n == 2)
		return vs_get(k, v, key);
	if (strcmp(op, "GetNextKey") == 0 && n == 2)
		return vs_next(k, v, key);
	if (strcmp(op, "Set") == 0 && n == 3 && val != NULL)
		return vs_write(k, v, key, val);
	if (strcmp(op, "Delete") == 0 && n == 2)
		return vs_write(k, v, key, NULL);
	return ksys_illegal(k, v, "vatstore%s: malformed", op);
}

json_t *
ksys_gc(struct kernel *k, struct kvat *v, json_t *vso)
{
	json_t	*list = json_array_get(vso, 1), *ref;
	char	*key, *kref;
	size_t	 i;

	if (json_array_size(vso) != 2 || !json_is_array(list))
		return ksys_illegal(k, v, "GC syscall: malformed");
	json_array_foreach(list, i, ref) {
		if (!json_is_string(ref))
			return ksys_illegal(k, v, "GC syscall: bad vref");
		if (asprintf(&key, "%s.c.%s", v->id,
		    json_string_value(ref)) < 0)
			return ksys_store_failed(k, STORE_ENOMEM);
		kref = kst_get(k, key);
		free(key);
		if (kref == NULL)
			return ksys_illegal(k, v, "GC syscall: %s is not in "
			    "the c-list", json_string_value(ref));
		free(kref);
	}
	return ksys_ok(NULL);
}
