/*
 * bundles.c — bundle IDs and the bundles table (see bundles.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "daemon/bundles.h"

char *
bundle_text(const json_t *bundle)
{
	return json_dumps(bundle, JSON_COMPACT | JSON_SORT_KEYS);
}

char *
bundle_id(const char *text)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		*id = malloc(3 + 64 + 1);

	if (id == NULL || EVP_Digest(text, strlen(text), md, &mdlen,
	    EVP_sha256(), NULL) != 1 || mdlen != 32) {
		free(id);
		return NULL;
	}
	memcpy(id, "b0-", 3);
	for (unsigned i = 0; i < 32; i++)
		snprintf(id + 3 + 2 * i, 3, "%02x", md[i]);
	return id;
}

int
bundle_install(struct store *st, const json_t *bundle, char **id)
{
	char		*text = bundle_text(bundle);
	const void	*val;
	size_t		 len;
	int		 rc;

	*id = text ? bundle_id(text) : NULL;
	if (*id == NULL) {
		free(text);
		return STORE_ENOMEM;
	}
	rc = store_get(st, STORE_BUNDLES, *id, strlen(*id), &val, &len);
	if (rc == STORE_NOTFOUND)
		rc = store_put(st, STORE_BUNDLES, *id, strlen(*id), text,
		    strlen(text));
	free(text);
	if (rc != STORE_OK) {
		free(*id);
		*id = NULL;
	}
	return rc;
}

json_t *
bundle_get(struct store *st, const char *id)
{
	const void	*val;
	size_t		 len;

	if (store_get(st, STORE_BUNDLES, id, strlen(id), &val, &len) !=
	    STORE_OK)
		return NULL;
	return json_loadb(val, len, 0, NULL);
}

bool
bundle_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n < 4 || n > 3 + 128 || id[0] != 'b' || (id[1] != '0' &&
	    id[1] != '1') || id[2] != '-')
		return false;
	return strspn(id + 3, "0123456789abcdef") == n - 3;
}
