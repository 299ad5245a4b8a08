/*
 * kv.c — typed access to the kv table for the store's users: values as
 * NUL-terminated strings and as JSON, and ID counters.  Every write goes
 * through the open crank (and so into the crank hash); reads see the
 * crank's writes.  JSON is written compact with keys in insertion order,
 * always by the same code, so equal inputs give equal bytes.  A value
 * that is there but cannot be returned (no memory, not JSON) marks the
 * open crank failed, as a failed read does (store.c).  What the
 * keys mean is docs/state.md's; this file knows only their types.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/store/store.h"

char *
kv_get(struct store *st, const char *key)
{
	const void	*v;
	size_t		 len;
	char		*s;

	if (store_get(st, STORE_KV, key, strlen(key), &v, &len) != STORE_OK)
		return NULL;
	if ((s = malloc(len + 1)) == NULL) {
		store_crank_fail(st, STORE_ENOMEM);	/* never "absent" */
		return NULL;
	}
	memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

int
kv_put(struct store *st, const char *key, const char *val)
{
	return store_put(st, STORE_KV, key, strlen(key), val, strlen(val));
}

int
kv_putf(struct store *st, const char *key, const char *fmt, ...)
{
	va_list	 ap;
	char	*val = NULL;
	int	 n, rc;

	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return STORE_ENOMEM;
	rc = kv_put(st, key, val);
	free(val);
	return rc;
}

int
kv_del(struct store *st, const char *key)
{
	return store_del(st, STORE_KV, key, strlen(key));
}

json_t *
kv_get_json(struct store *st, const char *key)
{
	const void	*v;
	size_t		 len;
	json_t		*j;

	if (store_get(st, STORE_KV, key, strlen(key), &v, &len) != STORE_OK)
		return NULL;
	/* a value that is there but does not parse (or no memory to parse
	 * it) is never "absent": the crank cannot go on from it */
	if ((j = json_loadb(v, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    NULL)) == NULL)
		store_crank_fail(st, STORE_ESTATE);
	return j;
}

int
kv_put_json(struct store *st, const char *key, const json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER |
		    JSON_ENCODE_ANY);
	int	 rc;

	if (s == NULL)
		return STORE_ENOMEM;
	rc = kv_put(st, key, s);
	free(s);
	return rc;
}

int
kv_alloc(struct store *st, const char *counter, uint64_t first,
    uint64_t *out)
{
	char		*s = kv_get(st, counter);
	uint64_t	 n = s != NULL ? strtoull(s, NULL, 10) : first;

	free(s);
	*out = n;
	return kv_putf(st, counter, "%" PRIu64, n + 1);
}
