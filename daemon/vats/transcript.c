/*
 * transcript.c — each vat's transcript: one entry per delivery, written in
 * the delivery's own crank (so it commits or vanishes with it), in the
 * store's transcripts table (not hashed):
 *   "vN.<position, 16 digits>" = {"d": VatDeliveryObject,
 *                                 "sc": [{"s": syscall, "r": result}, …],
 *                                 "r": {"status": "ok"|"error", …}}
 *   "vN.length"                = number of entries
 * A worker that went away is rebuilt by replaying its entries in order,
 * from the start or from the position of its heap snapshot; entries a
 * committed snapshot covers are pruned (snapshot.c), so the first
 * entries may be absent, but positions never change.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/vats/vats.h"

uint64_t
transcript_length(struct kvat *v)
{
	char		 key[48];
	const void	*val;
	size_t		 len;
	char		 num[24];

	snprintf(key, sizeof(key), "%s.length", v->id);
	if (store_get(v->vs->st, STORE_TRANSCRIPTS, key, strlen(key), &val,
	    &len) != STORE_OK || len == 0 || len >= sizeof(num))
		return 0;
	memcpy(num, val, len);
	num[len] = '\0';
	return strtoull(num, NULL, 10);
}

int
transcript_append(struct kvat *v, const char *vdo,
    size_t vdo_len, const char *sc, size_t sc_len, uint64_t computrons)
{
	uint64_t	 pos = v->tlen;	/* kept equal to the stored length */
	char		 key[64], num[24], *text = NULL;
	int		 rc;

	if (vdo == NULL || asprintf(&text, "{\"d\":%.*s,\"sc\":[%.*s],"
	    "\"r\":{\"status\":\"ok\",\"metering\":{\"computrons\":%" PRIu64
	    "}}}", (int)vdo_len, vdo, (int)sc_len, sc ? sc : "",
	    computrons) < 0)
		return STORE_ENOMEM;
	snprintf(key, sizeof(key), "%s.%016" PRIu64, v->id, pos);
	rc = store_put(v->vs->st, STORE_TRANSCRIPTS, key, strlen(key), text,
	    strlen(text));
	free(text);
	snprintf(key, sizeof(key), "%s.length", v->id);
	snprintf(num, sizeof(num), "%" PRIu64, pos + 1);
	if (rc == STORE_OK)
		rc = store_put(v->vs->st, STORE_TRANSCRIPTS, key, strlen(key), num,
		    strlen(num));
	return rc;
}

json_t *
transcript_entry(struct kvat *v, uint64_t pos)
{
	char		 key[64];
	const void	*val;
	size_t		 len;

	snprintf(key, sizeof(key), "%s.%016" PRIu64, v->id, pos);
	if (store_get(v->vs->st, STORE_TRANSCRIPTS, key, strlen(key), &val,
	    &len) != STORE_OK)
		return NULL;
	return json_loadb(val, len, JSON_ALLOW_NUL, NULL);
}

bool
transcript_has(struct kvat *v, uint64_t pos)
{
	char		 key[64];
	const void	*val;
	size_t		 len;

	snprintf(key, sizeof(key), "%s.%016" PRIu64, v->id, pos);
	return store_get(v->vs->st, STORE_TRANSCRIPTS, key, strlen(key), &val,
	    &len) == STORE_OK;
}

/* Delete entries [from, to) in the open crank; vN.length is kept. */
int
transcript_prune(struct kvat *v, uint64_t from,
    uint64_t to)
{
	char	 key[64];
	int	 rc = STORE_OK;

	for (uint64_t pos = from; rc == STORE_OK && pos < to; pos++) {
		snprintf(key, sizeof(key), "%s.%016" PRIu64, v->id, pos);
		rc = store_del(v->vs->st, STORE_TRANSCRIPTS, key, strlen(key));
	}
	return rc;
}
