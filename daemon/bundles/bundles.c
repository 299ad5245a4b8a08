/*
 * bundles.c — bundle IDs and the bundles table (see bundles.h): which ID
 * a bundle gets, installBundle's acceptance rules, and the reads and
 * writes of the table (always inside a crank).  The endoZipBase64 check
 * itself is endo.c's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "daemon/bundles/bundles_impl.h"
#include "daemon/bundles/bundles.h"
#include "daemon/store/store.h"
#include "protocol/log.h"

#define BUNDLE_WHYLEN	1024

/* The properties installBundle allows an endoZipBase64 bundle, exactly:
 * SwingSet matches it against {moduleFormat, endoZipBase64,
 * endoZipBase64Sha512} before checkBundle. */
static const char *const bundle_endo_keys[] = { "moduleFormat",
    "endoZipBase64", "endoZipBase64Sha512" };

char *
bundle_text(const json_t *bundle)
{
	return json_dumps(bundle, JSON_COMPACT | JSON_SORT_KEYS);
}

char *
bundle_b0_of(const void *bytes, size_t len)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		*id = malloc(3 + 64 + 1);

	if (id == NULL || EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32) {
		free(id);
		return NULL;
	}
	memcpy(id, "b0-", 3);
	for (unsigned i = 0; i < 32; i++)
		snprintf(id + 3 + 2 * i, 3, "%02x", md[i]);
	return id;
}

/* "b0-" + SHA-256 of the canonical text (malloc'd), or NULL. */
static char *
bundle_b0(const char *text)
{
	return bundle_b0_of(text, strlen(text));
}

static bool
bundle_format_is(const json_t *bundle, const char *format)
{
	json_t *f = json_object_get(bundle, "moduleFormat");

	return json_is_string(f) && strcmp(json_string_value(f), format) == 0;
}

/*
 * The ID of bundle, whose canonical text is text (malloc'd), or NULL when
 * this machine failed.  why gets the reason an endoZipBase64 bundle got a
 * b0- ID, else "".
 */
static char *
bundle_id_of(const json_t *bundle, const char *text, char *why,
    size_t whylen)
{
	char	 id[BUNDLE_ENDO_ID_LEN + 1];

	why[0] = '\0';
	if (!bundle_format_is(bundle, "endoZipBase64"))
		return bundle_b0(text);
	switch (bundle_endo_check(bundle, id, why, whylen)) {
	case 0:
		return strdup(id);
	case BUNDLE_ENDO_REFUSED:
		return bundle_b0(text);
	default:
		return NULL;
	}
}

char *
bundle_id(const char *text)
{
	json_t	*bundle = json_loads(text, JSON_ALLOW_NUL, NULL);
	char	 why[BUNDLE_WHYLEN], *id;

	id = bundle_id_of(bundle, text, why, sizeof(why));
	json_decref(bundle);
	return id;
}

int
bundle_install(struct store *st, const json_t *bundle, char **id)
{
	char		*text = bundle_text(bundle), why[BUNDLE_WHYLEN];
	const void	*val;
	size_t		 len;
	int		 rc;

	*id = text ? bundle_id_of(bundle, text, why, sizeof(why)) : NULL;
	if (*id == NULL) {
		free(text);
		return STORE_ENOMEM;
	}
	if (why[0] != '\0')
		log_warnx("bundles", "%s: an endoZipBase64 bundle that fails "
		    "its check, kept under a b0- ID: %s", *id, why);
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

/* installBundle's shape of an endoZipBase64 bundle: exactly its three
 * properties (their types are bundle_endo_check()'s to say). */
static int
bundle_endo_shape(const json_t *bundle, char *why, size_t whylen)
{
	const size_t	 n = sizeof(bundle_endo_keys) /
			    sizeof(bundle_endo_keys[0]);
	const char	*key;
	json_t		*v;
	size_t		 i;

	json_object_foreach((json_t *)(uintptr_t)bundle, key, v) {
		for (i = 0; i < n; i++)
			if (strcmp(key, bundle_endo_keys[i]) == 0)
				break;
		if (i == n) {
			(void)snprintf(why, whylen, "bundle property '%.80s' "
			    "is not allowed: an endoZipBase64 bundle has "
			    "exactly moduleFormat, endoZipBase64 and "
			    "endoZipBase64Sha512", key);
			return -1;
		}
	}
	return 0;
}

int
bundle_check(const json_t *bundle, const char *alleged, char **id,
    char *why, size_t whylen)
{
	json_t	*f = json_object_get(bundle, "moduleFormat");
	char	 endo_id[BUNDLE_ENDO_ID_LEN + 1], *text;
	int	 rc;

	*id = NULL;
	if (!json_is_string(f)) {
		(void)snprintf(why, whylen, "bundle moduleFormat must be a "
		    "string, not %s", f == NULL ? "absent" : "another type");
		return BUNDLE_REFUSED;
	}
	if (bundle_format_is(bundle, "endoZipBase64")) {
		if (bundle_endo_shape(bundle, why, whylen) == -1)
			return BUNDLE_REFUSED;
		if ((rc = bundle_endo_check(bundle, endo_id, why, whylen)) !=
		    0)
			return rc == BUNDLE_ENDO_ESYS ? BUNDLE_ESYS :
			    BUNDLE_REFUSED;
		*id = strdup(endo_id);
	} else if (bundle_format_is(bundle, "testworker")) {
		if ((text = bundle_text(bundle)) != NULL)
			*id = bundle_b0(text);
		free(text);
	} else {
		(void)snprintf(why, whylen, "bundle moduleFormat '%.40s' is "
		    "not accepted: %s", json_string_value(f),
		    bundle_format_is(bundle, "getExport") ||
		    bundle_format_is(bundle, "nestedEvaluate") ? "its hash is "
		    "not necessarily consistent, so it has no bundle ID; make "
		    "an endoZipBase64 bundle" : "installBundle takes "
		    "endoZipBase64 bundles (and testworker ones)");
		return BUNDLE_REFUSED;
	}
	if (*id == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		return BUNDLE_ESYS;
	}
	if (alleged != NULL && strcmp(alleged, *id) != 0) {
		(void)snprintf(why, whylen, "bundleID '%.140s' does not match "
		    "the bundle's ID %s", alleged, *id);
		free(*id);
		*id = NULL;
		return BUNDLE_REFUSED;
	}
	return 0;
}

json_t *
bundle_get(struct store *st, const char *id)
{
	const void	*val;
	size_t		 len;
	json_t		*b;

	if (store_get(st, STORE_BUNDLES, id, strlen(id), &val, &len) !=
	    STORE_OK)
		return NULL;
	if ((b = json_loadb(val, len, JSON_ALLOW_NUL, NULL)) == NULL)
		store_crank_fail(st, STORE_ESTATE);	/* never "absent" */
	return b;
}

bool
bundle_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n < 4 || id[0] != 'b' || id[2] != '-' || strspn(id + 3,
	    "0123456789abcdef") != n - 3)
		return false;
	if (id[1] == '1')
		return n == BUNDLE_ENDO_ID_LEN;
	return id[1] == '0' && n <= 3 + 128;
}
