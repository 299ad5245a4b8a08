/*
 * endo.c — the endoZipBase64 check (rules in bundles_impl.h):
 * strict base64, the archive through zip.c, the SHA-512 of
 * compartment-map.json against endoZipBase64Sha512, the map's shape, and
 * each module's file and hash.  It owns the decoded bytes, the parsed map
 * and the zip's entry list for the length of one check.  Bundle IDs and
 * storage are bundles.c's.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "daemon/bundles/bundles_impl.h"

#define ENDO_MAP	"compartment-map.json"
#define ENDO_HEXLEN	128	/* SHA-512 in hex */

/* One check in progress. */
struct endo_check {
	struct bundle_zip	 zip;
	bool			*used;	/* parallel to zip.entries */
	char			**sha;	/* …: its SHA-512 once checked */
	bool			*json_ok; /* …: parsed as JSON once */
	json_t			*comps;	/* the map's "compartments" */
	const char		*entry_c, *entry_m;	/* its entry */
	char			*why;
	size_t			 whylen;
};

static int
endo_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
endo_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return BUNDLE_ENDO_REFUSED;
}

/* A fault of this machine, not of the bundle: BUNDLE_ENDO_ESYS. */
static int
endo_sys(char *why, size_t whylen, const char *what)
{
	(void)snprintf(why, whylen, "cannot check the bundle: %s", what);
	return BUNDLE_ENDO_ESYS;
}

static const char *
endo_type(const json_t *v)
{
	static const char *const names[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
		[JSON_STRING] = "a string", [JSON_INTEGER] = "a number",
		[JSON_REAL] = "a number", [JSON_TRUE] = "a boolean",
		[JSON_FALSE] = "a boolean", [JSON_NULL] = "null",
	};

	return v == NULL ? "absent" : names[json_typeof(v)];
}

/* ---- base64 ------------------------------------------------------------ */

static int
endo_b64(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * Decode canonical base64, as both of @endo/base64's decoders accept it
 * (its JavaScript one and Uint8Array.fromBase64 in strict mode): the
 * standard alphabet, padding to a multiple of 4, nothing after it, zero
 * bits in the padding.  *out is malloc'd.
 */
static int
endo_base64(const char *s, size_t n, unsigned char **out, size_t *outlen,
    char *why, size_t whylen)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char	*buf;
	size_t		 d, i, o = 0;
	unsigned	 acc = 0, bits = 0, pad;
	int		 v;

	for (d = 0; d < n && u[d] != '='; d++)
		if (endo_b64(u[d]) < 0)
			return endo_fail(why, whylen, "bundle endoZipBase64 is "
			    "not base64: byte 0x%02x ('%c') at offset %zu",
			    u[d], u[d] > 0x20 && u[d] < 0x7f ? u[d] : '?', d);
	if (d % 4 == 1)
		return endo_fail(why, whylen, "bundle endoZipBase64 is not "
		    "base64: truncated, a lone character at offset %zu", d - 1);
	pad = (unsigned)(d % 4 == 0 ? 0 : 4 - d % 4);
	for (i = d; i < n && i < d + pad; i++)
		if (u[i] != '=')
			break;
	if (i != d + pad)
		return endo_fail(why, whylen, "bundle endoZipBase64 is not "
		    "base64: missing padding at offset %zu (truncated?)", i);
	if (i != n)
		return endo_fail(why, whylen, "bundle endoZipBase64 is not "
		    "base64: %zu characters after the end, at offset %zu",
		    n - i, i);
	if (pad > 0 && (endo_b64(u[d - 1]) & (pad == 1 ? 0x3 : 0xf)) != 0)
		return endo_fail(why, whylen, "bundle endoZipBase64 is not "
		    "canonical base64: non-zero padding bits at offset %zu",
		    d - 1);
	if ((buf = malloc(d / 4 * 3 + 3)) == NULL)
		return endo_sys(why, whylen, "out of memory");
	for (i = 0; i < d; i++) {
		v = endo_b64(u[i]);
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out = buf;
	*outlen = o;
	return 0;
}

/* ---- hashes ------------------------------------------------------------ */

static int
endo_sha512(const unsigned char *p, size_t len, char hex[ENDO_HEXLEN + 1])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha512(), NULL) != 1 ||
	    mdlen * 2 != ENDO_HEXLEN)
		return -1;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- the compartment map ------------------------------------------------ */

/* The first key of o that is not among the NULL-terminated keys, or
 * NULL. */
static const char *
endo_extra_key(const json_t *o, const char *const *keys)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	json_object_foreach((json_t *)(uintptr_t)o, key, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], key) == 0)
				break;
		if (keys[i] == NULL)
			return key;
	}
	return NULL;
}

/* The top level: tags, entry, compartments, the entry compartment. */
static int
endo_map_top(const json_t *map, struct endo_check *ec)
{
	static const char *const top[] = { "tags", "entry", "compartments",
	    NULL };
	static const char *const entry_keys[] = { "compartment", "module",
	    NULL };
	json_t		*tags, *entry, *ec_name, *em_name, *v;
	const char	*extra;
	size_t		 i;

	if (!json_is_object(map))
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": the map must "
		    "be an object, not %s", endo_type(map));
	if ((extra = endo_extra_key(map, top)) != NULL)
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": unexpected "
		    "property '%.80s'", extra);
	tags = json_object_get(map, "tags");
	if (tags != NULL && !json_is_array(tags))
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": tags must be "
		    "an array, not %s", endo_type(tags));
	json_array_foreach(tags, i, v)
		if (!json_is_string(v))
			return endo_fail(ec->why, ec->whylen, ENDO_MAP ": "
			    "tags[%zu] must be a string, not %s", i,
			    endo_type(v));
	entry = json_object_get(map, "entry");
	if (!json_is_object(entry) || endo_extra_key(entry, entry_keys) ||
	    !json_is_string(ec_name = json_object_get(entry, "compartment")) ||
	    !json_is_string(em_name = json_object_get(entry, "module")))
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": entry must "
		    "be {\"compartment\": string, \"module\": string}");
	ec->comps = json_object_get(map, "compartments");
	if (!json_is_object(ec->comps) || json_object_size(ec->comps) == 0)
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": compartments "
		    "must be a non-empty object, not %s", endo_type(ec->comps));
	ec->entry_c = json_string_value(ec_name);
	ec->entry_m = json_string_value(em_name);
	if (json_object_get(ec->comps, ec->entry_c) == NULL)
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": compartments "
		    "has no entry compartment \"%.80s\"", ec->entry_c);
	return 0;
}

/* One compartment's own fields (not its modules). */
static int
endo_compartment(const char *name, const json_t *c, struct endo_check *ec)
{
	static const char *const keys[] = { "location", "name", "label",
	    "modules", "policy", NULL };
	static const char *const strings[] = { "location", "name", "label",
	    NULL };
	const char	*extra;
	json_t		*v;

	if (!json_is_object(c))
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": compartments"
		    "[\"%.80s\"] must be an object, not %s", name,
		    endo_type(c));
	if ((extra = endo_extra_key(c, keys)) != NULL)
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": compartments"
		    "[\"%.80s\"] has an unexpected property '%.80s'", name,
		    extra);
	for (size_t i = 0; strings[i] != NULL; i++)
		if (!json_is_string(v = json_object_get(c, strings[i])))
			return endo_fail(ec->why, ec->whylen, ENDO_MAP ": "
			    "compartments[\"%.80s\"].%s must be a string, not "
			    "%s", name, strings[i], endo_type(v));
	if (!json_is_object(v = json_object_get(c, "modules")))
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": compartments"
		    "[\"%.80s\"].modules must be an object, not %s", name,
		    endo_type(v));
	return 0;
}

/* The parsers of check-bundle's parseArchive; json: whether they read
 * the module's bytes as JSON. */
static const struct endo_parser {
	const char	*name;
	bool		 json;
} endo_parsers[] = {
	{ "pre-mjs-json", true }, { "pre-cjs-json", true }, { "json", true },
	{ "text", false }, { "bytes", false },
};

/* A file module: parser, its file, its hash; marks the file used. */
static int
endo_file_module(const char *cname, const char *spec, const json_t *m,
    struct endo_check *ec)
{
	const struct bundle_zip_entry *f = NULL;
	const struct endo_parser *p = NULL;
	json_t		*parser = json_object_get(m, "parser"), *sha, *loc;
	json_t		*rec;
	json_error_t	 jerr;
	char		*path = NULL, hex[ENDO_HEXLEN + 1];
	int		 n, rc = -1;
	size_t		 idx;

	for (size_t i = 0; i < sizeof(endo_parsers) / sizeof(*endo_parsers);
	    i++)
		if (json_is_string(parser) && strcmp(json_string_value(parser),
		    endo_parsers[i].name) == 0)
			p = &endo_parsers[i];
	if (p == NULL)
		return endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
		    "compartment \"%.80s\": unknown parser%s%.40s", spec, cname,
		    json_is_string(parser) ? " " : "", json_is_string(parser) ?
		    json_string_value(parser) : "");
	if (!json_is_string(loc = json_object_get(m, "location")))
		return endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
		    "compartment \"%.80s\": location must be a string, not %s",
		    spec, cname, endo_type(loc));
	if ((n = asprintf(&path, "%s/%s", cname, json_string_value(loc))) < 0)
		return endo_sys(ec->why, ec->whylen, "out of memory");
	if ((f = bundle_zip_find(&ec->zip, path, (size_t)n)) == NULL) {
		endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
		    "compartment \"%.80s\": its file '%.160s' is not in the "
		    "archive", spec, cname, path);
		goto out;
	}
	idx = (size_t)(f - ec->zip.entries);
	ec->used[idx] = true;
	sha = json_object_get(m, "sha512");
	if (!json_is_string(sha)) {
		endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
		    "compartment \"%.80s\" ('%.160s') has no sha512 string "
		    "(bundle-source always writes one; without it the bundle "
		    "ID would not pin the file)", spec, cname, path);
		goto out;
	}
	/* each file is hashed and parsed once, however many modules name it */
	if (ec->sha[idx] == NULL) {
		if (endo_sha512(f->data, f->dlen, hex) == -1 ||
		    (ec->sha[idx] = strdup(hex)) == NULL) {
			rc = endo_sys(ec->why, ec->whylen, "SHA-512 failed");
			goto out;
		}
	}
	if (strcmp(json_string_value(sha), ec->sha[idx]) != 0) {
		endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
		    "compartment \"%.80s\" ('%.160s') failed its SHA-512 "
		    "check: the compartment map says %.128s, the file hashes "
		    "to %s", spec, cname, path, json_string_value(sha),
		    ec->sha[idx]);
		goto out;
	}
	if (p->json && !ec->json_ok[idx]) {
		rec = json_loadb((const char *)f->data, f->dlen,
		    JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
		if (rec == NULL && json_error_code(&jerr) ==
		    json_error_out_of_memory) {
			rc = endo_sys(ec->why, ec->whylen, "out of memory");
			goto out;
		}
		if (rec == NULL) {
			endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
			    "compartment \"%.80s\" ('%.160s'): parser %s "
			    "needs JSON, the file is not", spec, cname, path,
			    p->name);
			goto out;
		}
		json_decref(rec);
		ec->json_ok[idx] = true;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

/*
 * One module descriptor: the base fields' types, then what loading it
 * would do: a deferred error is not read, an alias must name a
 * compartment, anything else is a file module.
 */
static int
endo_module(const char *cname, const char *spec, const json_t *m,
    struct endo_check *ec)
{
	json_t	*v, *comp, *mod;

	if (!json_is_object(m))
		return endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
		    "compartment \"%.80s\" must be an object, not %s", spec,
		    cname, endo_type(m));
	if (((v = json_object_get(m, "deferredError")) != NULL &&
	    !json_is_string(v)) || ((v = json_object_get(m, "createdBy")) !=
	    NULL && !json_is_string(v)) || ((v = json_object_get(m,
	    "retained")) != NULL && !json_is_boolean(v)))
		return endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
		    "compartment \"%.80s\": deferredError and createdBy must "
		    "be strings, retained a boolean", spec, cname);
	if (json_object_get(m, "deferredError") != NULL)
		return 0;
	if (json_object_get(m, "parser") != NULL)
		return endo_file_module(cname, spec, m, ec);
	comp = json_object_get(m, "compartment");
	mod = json_object_get(m, "module");
	if (comp == NULL || mod == NULL)
		return endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
		    "compartment \"%.80s\" has no parser", spec, cname);
	if (!json_is_string(comp) || !json_is_string(mod) ||
	    json_object_get(ec->comps, json_string_value(comp)) == NULL)
		return endo_fail(ec->why, ec->whylen, "module \"%.80s\" of "
		    "compartment \"%.80s\" refers to a module of a compartment "
		    "the map does not have", spec, cname);
	return 0;
}

/*
 * The compartments, the entry module, every module; then no file may be
 * left unused.  (parseArchive's order: the map's shape, then loading from
 * the entry module.)
 */
static int
endo_map_modules(struct endo_check *ec)
{
	const char	*cname, *spec;
	json_t		*c, *m;

	int		 rc;

	json_object_foreach(ec->comps, cname, c)
		if (endo_compartment(cname, c, ec) == -1)
			return -1;
	if (json_object_get(json_object_get(json_object_get(ec->comps,
	    ec->entry_c), "modules"), ec->entry_m) == NULL)
		return endo_fail(ec->why, ec->whylen, ENDO_MAP ": the entry "
		    "compartment \"%.80s\" has no entry module \"%.80s\"",
		    ec->entry_c, ec->entry_m);
	json_object_foreach(ec->comps, cname, c)
		json_object_foreach(json_object_get(c, "modules"), spec, m)
			if ((rc = endo_module(cname, spec, m, ec)) != 0)
				return rc;
	for (size_t i = 0; i < ec->zip.nentries; i++)
		if (!ec->used[i])
			return endo_fail(ec->why, ec->whylen, "the archive "
			    "holds a file no module of the compartment map "
			    "uses: '%.*s'", ec->zip.entries[i].nlen > 160 ?
			    160 : (int)ec->zip.entries[i].nlen,
			    ec->zip.entries[i].name);
	return 0;
}

/* ---- the bundle --------------------------------------------------------- */

/* Rule 1: string properties, the format, both endoZip properties. */
static int
endo_properties(const json_t *bundle, char *why, size_t whylen)
{
	const char	*key;
	json_t		*v;

	if (!json_is_object(bundle))
		return endo_fail(why, whylen, "a bundle must be an object, not "
		    "%s", endo_type(bundle));
	json_object_foreach((json_t *)(uintptr_t)bundle, key, v)
		if (!json_is_string(v))
			return endo_fail(why, whylen, "bundle property "
			    "'%.80s' is %s: every property of a bundle must be "
			    "a string", key, endo_type(v));
	v = json_object_get(bundle, "moduleFormat");
	if (v == NULL || strcmp(json_string_value(v), "endoZipBase64") != 0)
		return endo_fail(why, whylen, "bundle moduleFormat is not "
		    "endoZipBase64");
	if (json_object_get(bundle, "endoZipBase64") == NULL ||
	    json_object_get(bundle, "endoZipBase64Sha512") == NULL)
		return endo_fail(why, whylen, "bundle property '%s' is "
		    "missing", json_object_get(bundle, "endoZipBase64") ==
		    NULL ? "endoZipBase64" : "endoZipBase64Sha512");
	return 0;
}

/* Rules 4 to 8 on the archive in ec->zip; hex gets the map's SHA-512. */
static int
endo_archive(const char *alleged, struct endo_check *ec,
    char hex[ENDO_HEXLEN + 1])
{
	const struct bundle_zip_entry *f;
	json_error_t	 jerr;
	json_t		*map;
	int		 rc;

	if (ec->zip.nentries < 2)
		return endo_fail(ec->why, ec->whylen, "the archive holds %zu "
		    "file%s: it needs " ENDO_MAP " and at least one module",
		    ec->zip.nentries, ec->zip.nentries == 1 ? "" : "s");
	if ((f = bundle_zip_find(&ec->zip, ENDO_MAP, strlen(ENDO_MAP))) ==
	    NULL)
		return endo_fail(ec->why, ec->whylen, "the archive has no "
		    ENDO_MAP);
	ec->used[f - ec->zip.entries] = true;
	if (endo_sha512(f->data, f->dlen, hex) == -1)
		return endo_sys(ec->why, ec->whylen, "SHA-512 failed");
	if (strcmp(alleged, hex) != 0)
		return endo_fail(ec->why, ec->whylen, "bundle "
		    "endoZipBase64Sha512 does not match its contents (computed "
		    "%s from " ENDO_MAP ")", hex);
	map = json_loadb((const char *)f->data, f->dlen, JSON_DECODE_ANY |
	    JSON_DECODE_INT_AS_REAL, &jerr);
	if (map == NULL && json_error_code(&jerr) == json_error_out_of_memory)
		return endo_sys(ec->why, ec->whylen, "out of memory");
	if (map == NULL)
		return endo_fail(ec->why, ec->whylen, ENDO_MAP " is not JSON: "
		    "%s at byte %d", jerr.text, jerr.position);
	if ((rc = endo_map_top(map, ec)) == 0)
		rc = endo_map_modules(ec);
	json_decref(map);
	return rc;
}

int
bundle_endo_check(const json_t *bundle, char id[BUNDLE_ENDO_ID_LEN + 1],
    char *why, size_t whylen)
{
	struct endo_check ec = { .why = why, .whylen = whylen };
	unsigned char	*bytes = NULL;
	size_t		 len = 0;
	json_t		*b64;
	char		 hex[ENDO_HEXLEN + 1], zwhy[512];
	int		 rc;

	if ((rc = endo_properties(bundle, why, whylen)) != 0)
		return rc;
	b64 = json_object_get(bundle, "endoZipBase64");
	if ((rc = endo_base64(json_string_value(b64), json_string_length(b64),
	    &bytes, &len, why, whylen)) != 0)
		return rc;
	if ((rc = bundle_zip_read(bytes, len, &ec.zip, zwhy, sizeof(zwhy))) ==
	    BUNDLE_ZIP_ENOMEM)
		rc = endo_sys(why, whylen, zwhy);
	else if (rc != 0)
		rc = endo_fail(why, whylen, "bundle endoZipBase64 is not an "
		    "archive endo can read: %s", zwhy);
	else if (ec.zip.nentries > 0 &&
	    ((ec.used = calloc(ec.zip.nentries, sizeof(*ec.used))) == NULL ||
	    (ec.sha = calloc(ec.zip.nentries, sizeof(*ec.sha))) == NULL ||
	    (ec.json_ok = calloc(ec.zip.nentries, sizeof(*ec.json_ok))) ==
	    NULL))
		rc = endo_sys(why, whylen, "out of memory");
	else
		rc = endo_archive(json_string_value(json_object_get(bundle,
		    "endoZipBase64Sha512")), &ec, hex);
	if (rc != 0)
		goto out;
	(void)snprintf(id, BUNDLE_ENDO_ID_LEN + 1, "b1-%s", hex);
	rc = 0;
out:
	for (size_t i = 0; ec.sha != NULL && i < ec.zip.nentries; i++)
		free(ec.sha[i]);
	free(ec.sha);
	free(ec.json_ok);
	free(ec.used);
	bundle_zip_clear(&ec.zip);
	free(bytes);
	return rc;
}
