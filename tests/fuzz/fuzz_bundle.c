/*
 * fuzz_bundle.c — libFuzzer harness for the bundle checker: the zip
 * reader daemon/bundles/zip.c and the endoZipBase64 check
 * daemon/bundles/endo.c (base64, archive, compartment map, module hashes).
 *
 * Feeds, by the first byte of the input:
 *   '{'  the input is a bundle's JSON text, checked as installBundle
 *        checks it (bundle_endo_check());
 *   'F'  the rest is files, NUL-separated: name, content, name, content…
 *        The harness writes them into a valid stored zip (right CRC-32s),
 *        puts the real SHA-512 of each file into compartment-map.json
 *        where a module names it with a string sha512, and sets
 *        endoZipBase64Sha512 to the map's hash: the fuzzer then works on
 *        the compartment map and the file set, past the hash walls;
 *   else the input is the zip archive itself: read with bundle_zip_read()
 *        and, base64-encoded, with the map's real SHA-512 (zeros without
 *        a map), checked with bundle_endo_check().
 *
 * Checks, beyond not crashing:
 *   - zip: an accepted archive's entries lie inside the buffer (name and
 *     content), are sorted with unique names, and bundle_zip_find() finds
 *     each under its name; a refused one leaves the list empty and a
 *     NUL-terminated reason, also in a 16-byte buffer;
 *   - base64: bundle_endo_check() gets past base64 exactly when the
 *     string is canonical base64 (a reference decoder and encoder here:
 *     decoding and encoding again gives the same string);
 *   - an accepted bundle's ID is "b1-" + its endoZipBase64Sha512, which is
 *     the SHA-512 of the archive's compartment-map.json; the archive has
 *     at least two files; changing one hex digit of the hash gets it
 *     refused; every file is the map or named by a module of the map,
 *     whose entry compartment and module exist;
 *   - no verdict is BUNDLE_ENDO_ESYS (nothing here runs out of memory);
 *     every refusal has a non-empty, NUL-terminated reason.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "daemon/bundles/bundles_impl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FB_MAP		"compartment-map.json"
#define FB_MAXFILES	64

static void
fb_abort(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_bundle: %s%s%s\n", what, why ? ": " : "",
	    why ? why : "");
	abort();
}

static void
fb_sha512(const void *p, size_t len, char hex[129])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha512(), NULL) != 1 ||
	    mdlen != 64)
		fb_abort("EVP_Digest", NULL);
	for (unsigned i = 0; i < 64; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ---- base64, the reference -------------------------------------------- */

static const char fb_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
fb_b64_encode(const unsigned char *p, size_t n)
{
	char	*out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
	size_t	 i;

	if (out == NULL)
		fb_abort("out of memory", NULL);
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = fb_alpha[p[i] >> 2];
		*o++ = fb_alpha[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = fb_alpha[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		*o++ = fb_alpha[p[i + 2] & 63];
	}
	if (n - i == 1) {
		*o++ = fb_alpha[p[i] >> 2];
		*o++ = fb_alpha[(p[i] & 3) << 4];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		*o++ = fb_alpha[p[i] >> 2];
		*o++ = fb_alpha[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = fb_alpha[(p[i + 1] & 15) << 2];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* Whether s (n bytes) is canonical base64: what it decodes to (by the
 * RFC's groups of four), encoded again, is s. */
static bool
fb_b64_canonical(const char *s, size_t n)
{
	unsigned char	*buf;
	const char	*c;
	char		*again;
	size_t		 o = 0, pad;
	unsigned	 v[4];
	bool		 same;

	if (n % 4 != 0)
		return false;
	if ((buf = malloc(n / 4 * 3 + 1)) == NULL)
		fb_abort("out of memory", NULL);
	for (size_t i = 0; i < n; i += 4) {
		pad = 0;
		for (size_t k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || s[i + k] == '\0' ||
			    (c = strchr(fb_alpha, s[i + k])) == NULL) {
				free(buf);
				return false;
			}
			v[k] = (unsigned)(c - fb_alpha);
		}
		buf[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			buf[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			buf[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	again = fb_b64_encode(buf, o);
	same = strlen(again) == n && memcmp(again, s, n) == 0;
	free(again);
	free(buf);
	return same;
}

/* ---- the check and its verdict ------------------------------------------ */

struct fb_file {
	const unsigned char	*name, *data;
	size_t			 nlen, dlen;
};

static bool
fb_why_ok(const char *why, size_t whylen)
{
	return memchr(why, '\0', whylen) != NULL && why[0] != '\0';
}

/* Whether file f is the map or a module's "<compartment>/<location>". */
static bool
fb_file_used(const json_t *map, const struct bundle_zip_entry *f)
{
	const char	*cname, *spec, *loc;
	json_t		*c, *m;
	size_t		 cl;

	if (f->nlen == strlen(FB_MAP) && memcmp(f->name, FB_MAP, f->nlen) == 0)
		return true;
	json_object_foreach(json_object_get(map, "compartments"), cname, c) {
		cl = strlen(cname);
		json_object_foreach(json_object_get(c, "modules"), spec, m) {
			loc = json_string_value(json_object_get(m,
			    "location"));
			if (json_object_get(m, "parser") == NULL ||
			    loc == NULL)
				continue;
			if (f->nlen == cl + 1 + strlen(loc) &&
			    memcmp(f->name, cname, cl) == 0 &&
			    f->name[cl] == '/' &&
			    memcmp(f->name + cl + 1, loc, strlen(loc)) == 0)
				return true;
		}
	}
	return false;
}

/* What an accepted bundle must be (see the top). */
static void
fb_accepted(const unsigned char *zip, size_t zlen, const char *sha,
    const char *id)
{
	struct bundle_zip	 z;
	const struct bundle_zip_entry *f;
	json_t			*map, *entry, *comp;
	char			 hex[129], why[256];

	if (strncmp(id, "b1-", 3) != 0 || strcmp(id + 3, sha) != 0)
		fb_abort("the ID is not b1- + endoZipBase64Sha512", id);
	if (bundle_zip_read(zip, zlen, &z, why, sizeof(why)) != 0)
		fb_abort("accepted, but its archive is refused", why);
	if (z.nentries < 2)
		fb_abort("accepted with fewer than two files", NULL);
	if ((f = bundle_zip_find(&z, FB_MAP, strlen(FB_MAP))) == NULL)
		fb_abort("accepted without " FB_MAP, NULL);
	fb_sha512(f->data, f->dlen, hex);
	if (strcmp(hex, sha) != 0)
		fb_abort("accepted with a hash that is not the map's", NULL);
	map = json_loadb((const char *)f->data, f->dlen, JSON_DECODE_ANY,
	    NULL);
	if (!json_is_object(map))
		fb_abort("accepted with a map that is not a JSON object", NULL);
	entry = json_object_get(map, "entry");
	comp = json_object_get(json_object_get(map, "compartments"),
	    json_string_value(json_object_get(entry, "compartment")));
	if (json_object_get(json_object_get(comp, "modules"),
	    json_string_value(json_object_get(entry, "module"))) == NULL)
		fb_abort("accepted without its entry module", NULL);
	for (size_t i = 0; i < z.nentries; i++)
		if (!fb_file_used(map, &z.entries[i]))
			fb_abort("accepted with a file no module names", NULL);
	json_decref(map);
	bundle_zip_clear(&z);
}

/* Check the bundle {moduleFormat, endoZipBase64: b64, Sha512: sha}. */
static int
fb_check(const char *b64, const char *sha, char id[BUNDLE_ENDO_ID_LEN + 1])
{
	char	 why[1024], small[16];
	json_t	*b;
	int	 rc, rc2;

	b = json_pack("{s:s, s:s, s:s}", "moduleFormat", "endoZipBase64",
	    "endoZipBase64", b64, "endoZipBase64Sha512", sha);
	if (b == NULL)
		fb_abort("json_pack", NULL);
	rc = bundle_endo_check(b, id, why, sizeof(why));
	if (rc == BUNDLE_ENDO_ESYS)
		fb_abort("BUNDLE_ENDO_ESYS", why);
	if (rc != 0 && (rc != BUNDLE_ENDO_REFUSED ||
	    !fb_why_ok(why, sizeof(why))))
		fb_abort("a refusal without a reason, or an unknown code",
		    NULL);
	/* The same with a reason buffer too small for any message. */
	memset(small, 'x', sizeof(small));
	rc2 = bundle_endo_check(b, id, small, sizeof(small));
	if (rc2 != rc || (rc != 0 && memchr(small, '\0', sizeof(small)) ==
	    NULL))
		fb_abort("another verdict, or an unterminated reason, with a "
		    "small buffer", NULL);
	json_decref(b);
	return rc;
}

/* Name order: bytes, then length (a prefix first). */
static int
fb_cmp(const struct bundle_zip_entry *a, const struct bundle_zip_entry *b)
{
	size_t	 n = a->nlen < b->nlen ? a->nlen : b->nlen;
	int	 c = n > 0 ? memcmp(a->name, b->name, n) : 0;

	if (c != 0)
		return c;
	return a->nlen < b->nlen ? -1 : a->nlen > b->nlen;
}

/* A zip archive: the reader's own checks, then the bundle around it. */
static void
fb_zip(const unsigned char *zip, size_t zlen)
{
	struct bundle_zip	 z;
	const struct bundle_zip_entry *e, *f;
	char			 why[512], small[16], sha[129], id[132], *b64;
	int			 rc;

	rc = bundle_zip_read(zip, zlen, &z, why, sizeof(why));
	if (rc != 0) {
		if (rc != BUNDLE_ZIP_EBAD || !fb_why_ok(why, sizeof(why)) ||
		    z.entries != NULL || z.nentries != 0)
			fb_abort("a refused archive without reason or with "
			    "entries", NULL);
		memset(small, 'x', sizeof(small));
		if (bundle_zip_read(zip, zlen, &z, small, sizeof(small)) != rc ||
		    memchr(small, '\0', sizeof(small)) == NULL)
			fb_abort("small reason buffer", NULL);
	}
	memset(sha, '0', 128);
	sha[128] = '\0';
	for (size_t i = 0; rc == 0 && i < z.nentries; i++) {
		e = &z.entries[i];
		if (e->name < zip || e->nlen > zlen ||
		    e->name + e->nlen > zip + zlen ||
		    e->data < zip || e->dlen > zlen ||
		    e->data + e->dlen > zip + zlen)
			fb_abort("an entry outside the archive", NULL);
		if (i > 0 && fb_cmp(&e[-1], e) >= 0)
			fb_abort("entries not sorted, or not unique", NULL);
		f = bundle_zip_find(&z, (const char *)e->name, e->nlen);
		if (f != e)
			fb_abort("bundle_zip_find does not find an entry", NULL);
		if (e->nlen == strlen(FB_MAP) &&
		    memcmp(e->name, FB_MAP, e->nlen) == 0)
			fb_sha512(e->data, e->dlen, sha);
	}
	if (rc == 0)
		bundle_zip_clear(&z);
	b64 = fb_b64_encode(zip, zlen);
	if (fb_check(b64, sha, id) == 0) {
		fb_accepted(zip, zlen, sha, id);
		sha[0] = sha[0] == 'f' ? '0' : 'f';
		if (fb_check(b64, sha, id) == 0)
			fb_abort("accepted with a wrong endoZipBase64Sha512",
			    NULL);
	}
	free(b64);
}

/* ---- 'F': files into a consistent archive ------------------------------- */

static void
fb_put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void
fb_put32(unsigned char *p, unsigned long v)
{
	fb_put16(p, (unsigned)(v & 0xffff));
	fb_put16(p + 2, (unsigned)(v >> 16 & 0xffff));
}

/* A stored zip of the files, as @endo/zip writes one; *len its size. */
static unsigned char *
fb_zip_build(const struct fb_file *f, size_t n, size_t *len)
{
	unsigned char	*z, *p;
	unsigned long	 crc;
	size_t		 total = 22, *off, cdir;

	for (size_t i = 0; i < n; i++)
		total += 30 + 46 + 2 * f[i].nlen + f[i].dlen;
	if ((z = calloc(1, total)) == NULL ||
	    (off = calloc(n + 1, sizeof(*off))) == NULL)
		fb_abort("out of memory", NULL);
	p = z;
	for (size_t i = 0; i < n; i++) {
		crc = bundle_zip_crc32(f[i].data, f[i].dlen);
		off[i] = (size_t)(p - z);
		fb_put32(p, 0x04034b50UL);
		fb_put16(p + 4, 10);
		fb_put32(p + 14, crc);
		fb_put32(p + 18, f[i].dlen);
		fb_put32(p + 22, f[i].dlen);
		fb_put16(p + 26, (unsigned)f[i].nlen);
		memcpy(p + 30, f[i].name, f[i].nlen);
		if (f[i].dlen > 0)
			memcpy(p + 30 + f[i].nlen, f[i].data, f[i].dlen);
		p += 30 + f[i].nlen + f[i].dlen;
	}
	cdir = (size_t)(p - z);
	for (size_t i = 0; i < n; i++) {
		crc = bundle_zip_crc32(f[i].data, f[i].dlen);
		fb_put32(p, 0x02014b50UL);
		fb_put16(p + 4, 20);
		fb_put16(p + 6, 10);
		fb_put32(p + 16, crc);
		fb_put32(p + 20, f[i].dlen);
		fb_put32(p + 24, f[i].dlen);
		fb_put16(p + 28, (unsigned)f[i].nlen);
		fb_put32(p + 42, off[i]);
		memcpy(p + 46, f[i].name, f[i].nlen);
		p += 46 + f[i].nlen;
	}
	fb_put32(p, 0x06054b50UL);
	fb_put16(p + 8, (unsigned)n);
	fb_put16(p + 10, (unsigned)n);
	fb_put32(p + 12, (unsigned long)(p - z) - cdir);
	fb_put32(p + 16, cdir);
	*len = (size_t)(p - z) + 22;
	free(off);
	return z;
}

/* The real hash of each file a module of map names, where it has one. */
static void
fb_fix_hashes(json_t *map, const struct fb_file *f, size_t n)
{
	const char	*cname, *spec, *loc;
	json_t		*c, *m;
	char		 hex[129];
	size_t		 cl;

	json_object_foreach(json_object_get(map, "compartments"), cname, c) {
		cl = strlen(cname);
		json_object_foreach(json_object_get(c, "modules"), spec, m) {
			loc = json_string_value(json_object_get(m,
			    "location"));
			if (loc == NULL ||
			    !json_is_string(json_object_get(m, "sha512")))
				continue;
			for (size_t i = 0; i < n; i++) {
				if (f[i].nlen != cl + 1 + strlen(loc) ||
				    memcmp(f[i].name, cname, cl) != 0 ||
				    f[i].name[cl] != '/' ||
				    memcmp(f[i].name + cl + 1, loc,
				    strlen(loc)) != 0)
					continue;
				fb_sha512(f[i].data, f[i].dlen, hex);
				if (json_object_set_new(m, "sha512",
				    json_string(hex)) == -1)
					fb_abort("json_object_set_new", NULL);
				break;
			}
		}
	}
}

static void
fb_files(const unsigned char *p, size_t n)
{
	struct fb_file	 f[FB_MAXFILES];
	const unsigned char *end = p + n, *z;
	unsigned char	*zip;
	json_t		*map = NULL;
	char		*maptext = NULL;
	size_t		 nf = 0, zlen;

	/* name NUL content NUL …; a name without content is empty */
	while (p < end && nf < FB_MAXFILES) {
		f[nf].name = p;
		z = memchr(p, '\0', (size_t)(end - p));
		f[nf].nlen = (size_t)((z ? z : end) - p);
		p = z ? z + 1 : end;
		f[nf].data = p;
		z = memchr(p, '\0', (size_t)(end - p));
		f[nf].dlen = (size_t)((z ? z : end) - p);
		p = z ? z + 1 : end;
		if (f[nf].nlen > 0xffff || f[nf].dlen > 0xfffffffe)
			return;
		nf++;
	}
	for (size_t i = 0; i < nf; i++) {
		if (f[i].nlen != strlen(FB_MAP) ||
		    memcmp(f[i].name, FB_MAP, f[i].nlen) != 0)
			continue;
		map = json_loadb((const char *)f[i].data, f[i].dlen,
		    JSON_DECODE_ANY, NULL);
		if (json_is_object(map)) {
			fb_fix_hashes(map, f, nf);
			maptext = json_dumps(map, JSON_INDENT(2));
			if (maptext == NULL)
				fb_abort("json_dumps", NULL);
			f[i].data = (const unsigned char *)maptext;
			f[i].dlen = strlen(maptext);
		}
		json_decref(map);
		break;
	}
	zip = fb_zip_build(f, nf, &zlen);
	fb_zip(zip, zlen);
	free(zip);
	free(maptext);
}

/* ---- '{': a bundle as JSON --------------------------------------------- */

/* Rule 1 of bundle_endo.h: an object of strings, moduleFormat
 * "endoZipBase64", both endoZip properties present. */
static bool
fb_properties_ok(const json_t *b)
{
	const char	*key, *f;
	json_t		*v;

	if (!json_is_object(b))
		return false;
	json_object_foreach((json_t *)(uintptr_t)b, key, v)
		if (!json_is_string(v))
			return false;
	f = json_string_value(json_object_get(b, "moduleFormat"));
	return f != NULL && strcmp(f, "endoZipBase64") == 0 &&
	    json_object_get(b, "endoZipBase64") != NULL &&
	    json_object_get(b, "endoZipBase64Sha512") != NULL;
}

static void
fb_json(const char *text, size_t n)
{
	json_t		*b = json_loadb(text, n, 0, NULL), *s;
	char		 id[BUNDLE_ENDO_ID_LEN + 1], why[1024];
	const char	*sha;
	bool		 past_b64, canonical;
	int		 rc;

	if (b == NULL)
		return;
	rc = bundle_endo_check(b, id, why, sizeof(why));
	if (rc == BUNDLE_ENDO_ESYS)
		fb_abort("BUNDLE_ENDO_ESYS", why);
	if (rc != 0 && (rc != BUNDLE_ENDO_REFUSED ||
	    !fb_why_ok(why, sizeof(why))))
		fb_abort("a refusal without a reason, or an unknown code",
		    NULL);
	s = json_object_get(b, "endoZipBase64");
	sha = json_string_value(json_object_get(b, "endoZipBase64Sha512"));
	if (rc == 0 && (sha == NULL || strncmp(id, "b1-", 3) != 0 ||
	    strcmp(id + 3, sha) != 0))
		fb_abort("the ID is not b1- + endoZipBase64Sha512", id);
	/* Past the properties (rule 1), base64 is judged: it must be
	 * judged as the reference judges it. */
	if (fb_properties_ok(b)) {
		past_b64 = rc == 0 || (strncmp(why, "bundle endoZipBase64 is "
		    "not base64", 34) != 0 && strncmp(why, "bundle "
		    "endoZipBase64 is not canonical base64", 44) != 0);
		canonical = fb_b64_canonical(json_string_value(s),
		    json_string_length(s));
		if (past_b64 != canonical) {
			fprintf(stderr, "fuzz_bundle: %s\n", why);
			fb_abort(canonical ? "canonical base64 refused" :
			    "non-canonical base64 accepted", NULL);
		}
	} else if (rc == 0)
		fb_abort("accepted with the wrong properties", NULL);
	json_decref(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] == '{')
		fb_json((const char *)data, size);
	else if (data[0] == 'F')
		fb_files(data + 1, size - 1);
	else
		fb_zip(data, size);
	return 0;
}
