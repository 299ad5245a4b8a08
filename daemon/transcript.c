/*
 * transcript.c — each vat's transcript: one entry per delivery, written in
 * the delivery's own crank (so it commits or vanishes with it), in the
 * store's transcripts table (not hashed):
 *   "vN.<position, 16 digits>" = {"d": VatDeliveryObject,
 *                                 "sc": [{"s": syscall, "r": result}, …],
 *                                 "r": {"status": "ok"|"error", …}}
 *   "vN.length"                = number of entries
 * A worker that went away is rebuilt by replaying its entries in order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel.h"

uint64_t
transcript_length(struct kernel *k, struct kvat *v)
{
	char		 key[48];
	const void	*val;
	size_t		 len;
	char		 num[24];

	snprintf(key, sizeof(key), "%s.length", v->id);
	if (store_get(k->st, STORE_TRANSCRIPTS, key, strlen(key), &val,
	    &len) != STORE_OK || len == 0 || len >= sizeof(num))
		return 0;
	memcpy(num, val, len);
	num[len] = '\0';
	return strtoull(num, NULL, 10);
}

int
transcript_append(struct kernel *k, struct kvat *v, const json_t *vdo,
    const json_t *syscalls, const json_t *result)
{
	uint64_t	 pos = transcript_length(k, v);
	json_t		*e = json_pack("{s:O, s:O, s:O}", "d", vdo, "sc",
			    syscalls, "r", result);
	char		 key[64], num[24], *text;
	int		 rc;

	text = e ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(e);
	if (text == NULL)
		return STORE_ENOMEM;
	snprintf(key, sizeof(key), "%s.%016" PRIu64, v->id, pos);
	rc = store_put(k->st, STORE_TRANSCRIPTS, key, strlen(key), text,
	    strlen(text));
	free(text);
	snprintf(key, sizeof(key), "%s.length", v->id);
	snprintf(num, sizeof(num), "%" PRIu64, pos + 1);
	if (rc == STORE_OK)
		rc = store_put(k->st, STORE_TRANSCRIPTS, key, strlen(key), num,
		    strlen(num));
	return rc;
}

json_t *
transcript_entry(struct kernel *k, struct kvat *v, uint64_t pos)
{
	char		 key[64];
	const void	*val;
	size_t		 len;

	snprintf(key, sizeof(key), "%s.%016" PRIu64, v->id, pos);
	if (store_get(k->st, STORE_TRANSCRIPTS, key, strlen(key), &val,
	    &len) != STORE_OK)
		return NULL;
	return json_loadb(val, len, 0, NULL);
}
