/*
 * check_bundle.c — unit suite for bundle IDs and checks:
 * daemon/bundles/bundles.c, endo.c (the endoZipBase64 check) and zip.c
 * (the zip reader).  A real bundle
 * made by @endo/bundle-source 4.3.2 (tests/unit/data/endo-tiny.json, of
 * `export const buildRootObject = () => ({ hello: () => "hi" });`) gives
 * the known answer; archives built here give each refusal.  Every zip and
 * base64 mutation also runs under SANITIZE=1, where a read out of bounds
 * fails the test.  Links the store, protocol/log.o, LMDB, jansson and
 * libcrypto.
 */
#include <check.h>
#include <errno.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "daemon/bundles/bundles_impl.h"
#include "daemon/bundles/bundles.h"
#include "daemon/store/store.h"

#define FIXTURE		"tests/unit/data/endo-tiny.json"
#define FIXTURE_HEX							\
    "a9663c72dd4d9784e975e144d5041c10a33ba236b7be82527c98ed53df189d2f"	\
    "f18b07e46c348f2feb7f32c5117cd866ba54b0f1e6a9c3c11258a27781ffd0de"
#define FIXTURE_ID	"b1-" FIXTURE_HEX
/* python3: hashlib.sha256(b'{"moduleFormat":"testworker","vat":"echo"}') */
#define ECHO_ID		"b0-"						\
    "78607e9bb82276d83750a3576bf4325417049adb6bfc705255c7822488164526"
#define MODULE		"{\"imports\":[],\"exports\":[\"x\"]," \
	"\"reexports\":[],\"__syncModuleProgram__\":\"(function(){})\"}"
/* entry module, main.js's location, parser and sha512, more modules */
#define CMAP_FMT	"{\"tags\":[],\"entry\":{" \
	"\"compartment\":\"app-v1.0.0\",\"module\":\"%s\"}," \
	"\"compartments\":{\"app-v1.0.0\":{\"name\":\"app\"," \
	"\"label\":\"$root$\",\"location\":\"app-v1.0.0\",\"modules\":{" \
	"\"./main.js\":{\"location\":\"%s\",\"parser\":\"%s\"," \
	"\"sha512\":\"%s\"}%s}}}}"

/* ---- building archives and bundles ------------------------------------ */

struct zfile {
	const char	*name;
	const char	*data;
};

/* Ways to spoil an archive. */
struct zopts {
	unsigned	 method;	/* compression method recorded */
	unsigned	 flags;		/* general purpose flags */
	bool		 bad_crc;	/* record a wrong CRC-32 */
	size_t		 prefix;	/* junk bytes before the archive */
	const char	*comment;	/* an archive comment */
};

struct buf {
	unsigned char	*p;
	size_t		 len, cap;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put16(struct buf *b, unsigned v)
{
	unsigned char c[2] = { v & 0xff, (v >> 8) & 0xff };

	put(b, c, 2);
}

static void
put32(struct buf *b, unsigned long v)
{
	put16(b, v & 0xffff);
	put16(b, (v >> 16) & 0xffff);
}

/* The fields local and central headers share, from version needed on. */
static void
put_common(struct buf *b, const struct zfile *f, const struct zopts *o)
{
	size_t		 n = strlen(f->data);
	unsigned long	 crc = bundle_zip_crc32((const unsigned char *)f->data,
			    n);

	put16(b, 10);
	put16(b, o->flags);
	put16(b, o->method);
	put32(b, 0);			/* 1980-01-01 00:00, as endo writes */
	put32(b, o->bad_crc ? crc ^ 1 : crc);
	put32(b, n);
	put32(b, n);
	put16(b, strlen(f->name));
	put16(b, 0);
}

/* A zip of files as @endo/zip writes one, spoilt as o says. */
static unsigned char *
zip_build(const struct zfile *f, size_t nf, const struct zopts *o,
    size_t *len)
{
	struct buf	 b = { NULL, 0, 0 };
	unsigned long	 off[16], cd, cdlen;

	ck_assert_uint_le(nf, 16);
	for (size_t i = 0; i < o->prefix; i++)
		put(&b, "J", 1);
	for (size_t i = 0; i < nf; i++) {
		off[i] = b.len - o->prefix;
		put32(&b, 0x04034b50UL);
		put_common(&b, &f[i], o);
		put(&b, f[i].name, strlen(f[i].name));
		put(&b, f[i].data, strlen(f[i].data));
	}
	cd = b.len - o->prefix;
	for (size_t i = 0; i < nf; i++) {
		put32(&b, 0x02014b50UL);
		put16(&b, 30);
		put_common(&b, &f[i], o);
		put16(&b, 0);		/* comment */
		put16(&b, 0);		/* disk */
		put16(&b, 0);		/* internal attributes */
		put32(&b, 0x81a40000UL);	/* -rw-r--r-- */
		put32(&b, off[i]);
		put(&b, f[i].name, strlen(f[i].name));
	}
	cdlen = b.len - o->prefix - cd;
	put32(&b, 0x06054b50UL);
	put16(&b, 0);
	put16(&b, 0);
	put16(&b, nf);
	put16(&b, nf);
	put32(&b, cdlen);
	put32(&b, cd);
	put16(&b, o->comment ? strlen(o->comment) : 0);
	if (o->comment)
		put(&b, o->comment, strlen(o->comment));
	*len = b.len;
	return b.p;
}

static void
sha512_hex(const void *p, size_t len, char hex[129])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0;

	ck_assert_int_eq(EVP_Digest(p, len, md, &n, EVP_sha512(), NULL), 1);
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static char *
base64(const unsigned char *p, size_t len)
{
	char	*out = malloc(4 * ((len + 2) / 3) + 1);

	ck_assert_ptr_nonnull(out);
	EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	return out;
}

/* A bundle of these zip bytes; its Sha512 that of compartment-map.json
 * among files (zeros without one). */
static json_t *
bundle_of_zip(const unsigned char *zip, size_t len, const struct zfile *f,
    size_t nf)
{
	char	 hex[129];
	char	*b64 = base64(zip, len);
	json_t	*b;

	memset(hex, '0', 128);
	hex[128] = '\0';
	for (size_t i = 0; i < nf; i++)
		if (strcmp(f[i].name, "compartment-map.json") == 0)
			sha512_hex(f[i].data, strlen(f[i].data), hex);
	b = json_pack("{s:s, s:s, s:s}", "moduleFormat", "endoZipBase64",
	    "endoZipBase64", b64, "endoZipBase64Sha512", hex);
	ck_assert_ptr_nonnull(b);
	free(b64);
	return b;
}

static json_t *
bundle_build(const struct zfile *f, size_t nf, const struct zopts *o)
{
	struct zopts	 plain = { 0, 0, false, 0, NULL };
	size_t		 len;
	unsigned char	*zip = zip_build(f, nf, o ? o : &plain, &len);
	json_t		*b = bundle_of_zip(zip, len, f, nf);

	free(zip);
	return b;
}

/*
 * The usual two files: a compartment map and its module.  entry, location
 * and parser go into the map; sha512 NULL is the module's real hash;
 * more is appended to the module list.  cmap must hold 1024 bytes.
 */
static void
std_files(struct zfile f[2], char *cmap, const char *entry,
    const char *location, const char *parser, const char *sha512,
    const char *more)
{
	char	hex[129];

	sha512_hex(MODULE, strlen(MODULE), hex);
	ck_assert_int_lt(snprintf(cmap, 1024, CMAP_FMT, entry, location,
	    parser, sha512 ? sha512 : hex, more), 1024);
	f[0].name = "compartment-map.json";
	f[0].data = cmap;
	f[1].name = "app-v1.0.0/main.js";
	f[1].data = MODULE;
}

static json_t *
std_bundle(void)
{
	struct zfile	 f[2];
	char		 cmap[1024];

	std_files(f, cmap, "./main.js", "main.js", "pre-mjs-json", NULL, "");
	return bundle_build(f, 2, NULL);
}

static json_t *
load_fixture(void)
{
	json_error_t	 jerr;
	json_t		*b = json_load_file(FIXTURE, 0, &jerr);

	ck_assert_msg(b != NULL, "%s: %s (run from the repository root)",
	    FIXTURE, jerr.text);
	return b;
}

/* bundle_check() refuses b with a reason containing want. */
static void
refused(const json_t *b, const char *alleged, const char *want)
{
	char	 why[1024], *id = (char *)"unset";
	int	 rc = bundle_check(b, alleged, &id, why, sizeof(why));

	ck_assert_msg(rc == BUNDLE_REFUSED, "accepted: %s", id ? id : "?");
	ck_assert_ptr_null(id);
	ck_assert_msg(strstr(why, want) != NULL, "reason '%s' lacks '%s'", why,
	    want);
}

/* bundle_check() gives b the ID "b1-" + its endoZipBase64Sha512. */
static void
accepted(const json_t *b)
{
	char	 why[1024], *id = NULL, want[BUNDLE_ENDO_ID_LEN + 1];

	snprintf(want, sizeof(want), "b1-%s", json_string_value(
	    json_object_get(b, "endoZipBase64Sha512")));
	ck_assert_msg(bundle_check(b, NULL, &id, why, sizeof(why)) == 0,
	    "refused: %s", why);
	ck_assert_str_eq(id, want);
	free(id);
}

/* A bundle of files (spoilt as o says) is refused for want. */
static void
refused_zip(const struct zfile *f, size_t nf, const struct zopts *o,
    const char *want)
{
	json_t	*b = bundle_build(f, nf, o);

	refused(b, NULL, want);
	json_decref(b);
}

/* ---- IDs ----------------------------------------------------------------- */

START_TEST(test_fixture_id)
{
	json_t	*b = load_fixture();
	char	*text = bundle_text(b), *id = bundle_id(text), why[1024];
	char	 eid[BUNDLE_ENDO_ID_LEN + 1];

	ck_assert_str_eq(id, FIXTURE_ID);
	ck_assert_int_eq(bundle_endo_check(b, eid, why, sizeof(why)), 0);
	ck_assert_str_eq(eid, FIXTURE_ID);
	ck_assert_str_eq(eid + 3, json_string_value(json_object_get(b,
	    "endoZipBase64Sha512")));
	accepted(b);
	ck_assert(bundle_id_valid(id));
	free(id);
	free(text);
	json_decref(b);
}
END_TEST

START_TEST(test_built_bundle_id)
{
	json_t	*b = std_bundle();

	accepted(b);
	json_decref(b);
}
END_TEST

START_TEST(test_testworker_b0)
{
	json_t	*b = json_pack("{s:s, s:s}", "vat", "echo", "moduleFormat",
		    "testworker");
	char	*text = bundle_text(b), *id = bundle_id(text), why[1024];
	char	*cid = NULL;

	ck_assert_str_eq(id, ECHO_ID);
	ck_assert_int_eq(bundle_check(b, ECHO_ID, &cid, why, sizeof(why)), 0);
	ck_assert_str_eq(cid, ECHO_ID);
	free(cid);
	free(id);
	free(text);
	json_decref(b);
}
END_TEST

START_TEST(test_id_valid)
{
	char	 id[200];

	ck_assert(bundle_id_valid(FIXTURE_ID));
	ck_assert(bundle_id_valid(ECHO_ID));
	ck_assert(bundle_id_valid("b0-00"));	/* our b0- rule, unchanged */
	snprintf(id, sizeof(id), "%.130s", FIXTURE_ID);	/* 127 digits */
	ck_assert(!bundle_id_valid(id));
	snprintf(id, sizeof(id), "%s0", FIXTURE_ID);	/* 129 */
	ck_assert(!bundle_id_valid(id));
	snprintf(id, sizeof(id), "%s", FIXTURE_ID);
	id[10] = 'A';
	ck_assert(!bundle_id_valid(id));
	ck_assert(!bundle_id_valid("b1-abc"));
	ck_assert(!bundle_id_valid("b2-00"));
	ck_assert(!bundle_id_valid("b0-"));
	ck_assert(!bundle_id_valid("b0-xyz"));
}
END_TEST

/* ---- what installBundle refuses -------------------------------------- */

/* Formats and properties: each case changes a good bundle so. */
START_TEST(test_properties)
{
	static const struct {
		const char	*set;	/* JSON object merged in, or NULL */
		const char	*del;	/* property removed, or NULL */
		const char	*want;
	} cases[] = {
		{ "{\"moduleFormat\":\"getExport\",\"source\":\"x\"}", NULL,
		    "'getExport' is not accepted: its hash is not necessarily "
		    "consistent" },
		{ "{\"moduleFormat\":\"nestedEvaluate\"}", NULL,
		    "not necessarily consistent" },
		{ "{\"moduleFormat\":\"test\"}", NULL,
		    "installBundle takes endoZipBase64" },
		{ "{\"moduleFormat\":1}", NULL,
		    "moduleFormat must be a string" },
		{ NULL, "moduleFormat", "moduleFormat must be a string, not "
		    "absent" },
		{ "{\"extra\":\"x\"}", NULL,
		    "bundle property 'extra' is not allowed" },
		{ "{\"extra\":3}", NULL, "is not allowed" },
		{ "{\"endoZipBase64Sha512\":3}", NULL,
		    "'endoZipBase64Sha512' is a number: every property" },
		{ NULL, "endoZipBase64Sha512", "'endoZipBase64Sha512' is "
		    "missing" },
		{ NULL, "endoZipBase64", "'endoZipBase64' is missing" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t	*b = std_bundle(), *set = NULL;

		if (cases[i].set != NULL) {
			set = json_loads(cases[i].set, 0, NULL);
			ck_assert_int_eq(json_object_update(b, set), 0);
			json_decref(set);
		}
		if (cases[i].del != NULL)
			ck_assert_int_eq(json_object_del(b, cases[i].del), 0);
		refused(b, NULL, cases[i].want);
		json_decref(b);
	}
}
END_TEST

START_TEST(test_alleged_id)
{
	json_t	*b = load_fixture();
	char	 id[BUNDLE_ENDO_ID_LEN + 1];

	refused(b, "b1-00", "bundleID 'b1-00' does not match the bundle's "
	    "ID " FIXTURE_ID);
	snprintf(id, sizeof(id), "%s", FIXTURE_ID);
	id[5] = id[5] == '0' ? '1' : '0';
	refused(b, id, "does not match the bundle's ID");
	json_decref(b);
}
END_TEST

START_TEST(test_wrong_sha512)
{
	json_t	*b = load_fixture();
	char	 hex[129];

	memset(hex, 'a', 128);
	hex[128] = '\0';
	json_object_set_new(b, "endoZipBase64Sha512", json_string(hex));
	refused(b, NULL, "bundle endoZipBase64Sha512 does not match its "
	    "contents (computed " FIXTURE_HEX " from compartment-map.json)");
	/* SwingSet's hash is lowercase: the same digits in capitals fail */
	snprintf(hex, sizeof(hex), "%s", FIXTURE_HEX);
	for (char *p = hex; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p -= 'a' - 'A';
	json_object_set_new(b, "endoZipBase64Sha512", json_string(hex));
	refused(b, NULL, "does not match its contents");
	json_decref(b);
}
END_TEST

/* endoZipBase64 replaced by s. */
static void
refused_b64(const char *s, const char *want)
{
	json_t	*b = load_fixture();

	json_object_set_new(b, "endoZipBase64", json_string(s));
	refused(b, NULL, want);
	json_decref(b);
}

START_TEST(test_base64)
{
	json_t	*b = load_fixture();
	char	*s = strdup(json_string_value(json_object_get(b,
		    "endoZipBase64")));
	size_t	 n = strlen(s);

	refused_b64("", "too short for a zip archive");
	refused_b64("QUJD*A==", "byte 0x2a ('*') at offset 4");
	refused_b64("QUJD\nQUJD", "byte 0x0a ('?') at offset 4");
	refused_b64("QUJDQ", "a lone character at offset 4");
	refused_b64("QUJDQQ", "missing padding at offset 6");
	refused_b64("QUJDQQ=", "missing padding at offset 7");
	refused_b64("QUJDQQ===", "1 characters after the end");
	refused_b64("QUJDQQ==QUJD", "4 characters after the end");
	refused_b64("QUJDQR==", "non-zero padding bits at offset 5");
	refused_b64("QUJDQUI=", "too short for a zip");	/* canonical */
	refused_b64("QUJDQUJ=", "non-zero padding bits at offset 6");
	/* the real bundle cut short: anywhere, then at a multiple of 4 */
	s[n - 10] = '\0';
	refused_b64(s, "missing padding");
	s[(n - 10) / 4 * 4] = '\0';
	refused_b64(s, "truncated or not a zip archive");
	free(s);
	json_decref(b);
}
END_TEST

/* Change one character of the real bundle's base64 at i to c (or, if it
 * is c already, to another letter). */
static void
refused_char(size_t i, char c, const char *want)
{
	json_t	*b = load_fixture();
	char	*s = strdup(json_string_value(json_object_get(b,
		    "endoZipBase64")));

	ck_assert_uint_lt(i, strlen(s));
	s[i] = s[i] != c ? c : c == 'A' ? 'B' : 'A';
	refused_b64(s, want);
	free(s);
	json_decref(b);
}

START_TEST(test_one_char_changed)
{
	/* 200: inside compartment-map.json's bytes; then inside the end
	 * record's entry count; then an invalid character */
	refused_char(200, 'Q', "CRC-32");
	refused_char(1660, 'A', "bundle endoZipBase64 is not an archive");
	refused_char(100, '-', "byte 0x2d ('-') at offset 100");
}
END_TEST

/* Every one-byte change and every truncation of an archive: each is
 * refused, none reads out of bounds (SANITIZE=1). */
START_TEST(test_zip_mutations)
{
	struct zfile	 f[2];
	struct zopts	 o = { 0, 0, false, 0, NULL };
	char		 cmap[1024], why[512];
	size_t		 len, accepted = 0;
	unsigned char	*zip;
	struct bundle_zip z;

	std_files(f, cmap, "./main.js", "main.js", "pre-mjs-json", NULL, "");
	zip = zip_build(f, 2, &o, &len);
	ck_assert_int_eq(bundle_zip_read(zip, len, &z, why, sizeof(why)), 0);
	ck_assert_uint_eq(z.nentries, 2);
	ck_assert_ptr_nonnull(bundle_zip_find(&z, "app-v1.0.0/main.js", 18));
	bundle_zip_clear(&z);
	for (size_t n = 0; n < len; n++) {
		unsigned char *cut = malloc(n ? n : 1);

		memcpy(cut, zip, n);
		ck_assert_int_eq(bundle_zip_read(cut, n, &z, why,
		    sizeof(why)), BUNDLE_ZIP_EBAD);
		free(cut);
	}
	for (size_t i = 0; i < len; i++) {
		json_t	*b;
		char	*id = NULL, bwhy[1024];
		int	 rc;

		zip[i] ^= 0x41;
		b = bundle_of_zip(zip, len, f, 2);
		rc = bundle_check(b, NULL, &id, bwhy, sizeof(bwhy));
		/* the version fields, dates and attributes are not checked */
		if (rc == 0) {
			accepted++;
			if (getenv("ZIP_MUT_DEBUG"))
				fprintf(stderr, "accepted: %zu\n", i);
			free(id);
		}
		json_decref(b);
		zip[i] ^= 0x41;
	}
	fprintf(stderr, "zip mutations: %zu of %zu bytes accepted\n",
	    accepted, len);
	/*
	 * At most those fields (measured: ZIP_MUT_DEBUG=1 lists them): per
	 * entry, the local header's version needed and time/date (6 bytes)
	 * and the central record's versions, time/date, disk, internal and
	 * external attributes (16 bytes); the end record's comment length
	 * (2).  Any other byte changed must be refused.
	 */
	ck_assert_uint_le(accepted, 2 * (6 + 16) + 2);
	free(zip);
}
END_TEST

/*
 * Entries nested inside each other (entry i's content is entry i+1's
 * header and content, every CRC right) are refused: accepted, their bytes
 * were CRC-checked once per entry, work growing as entries × size (the
 * fuzzer's find; a 1.2 MB archive held the daemon 6.5 s).  The corpus
 * file is tests/fuzz/nested_zip.py 3 10.
 */
START_TEST(test_zip_nested_entries_refused)
{
	const char	*path = "tests/fuzz/corpus/bundle/"
			    "regress-zip-nested-entries";
	unsigned char	 buf[4096];
	char		 why[1024];
	struct bundle_zip z;
	FILE		*f = fopen(path, "rb");
	size_t		 len;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	len = fread(buf, 1, sizeof(buf), f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(bundle_zip_read(buf, len, &z, why, sizeof(why)),
	    BUNDLE_ZIP_EBAD);
	ck_assert_msg(strstr(why, "inside the entry before it") != NULL,
	    "%s", why);
	ck_assert_uint_eq(z.nentries, 0);
}
END_TEST

START_TEST(test_zip_refusals)
{
	struct zfile	 f[3];
	char		 cmap[1024];
	struct zopts	 deflate = { 8, 0, false, 0, NULL };
	struct zopts	 crypt = { 0, 1, false, 0, NULL };
	struct zopts	 crc = { 0, 0, true, 0, NULL };
	struct zopts	 prefix = { 0, 0, false, 7, NULL };
	struct zopts	 comment = { 0, 0, false, 0, "hello" };

	std_files(f, cmap, "./main.js", "main.js", "pre-mjs-json", NULL, "");
	refused_zip(f, 2, &deflate, "compression method 8 (deflate) is not "
	    "supported");
	refused_zip(f, 2, &crypt, "is encrypted");
	refused_zip(f, 2, &crc, "entry 'compartment-map.json': CRC-32");
	refused_zip(f, 2, &prefix, "does not end where the end record starts");
	refused_zip(f, 2, &comment, "archive comments are not accepted");
	f[2] = f[1];
	refused_zip(f, 3, NULL, "entry 'app-v1.0.0/main.js' appears twice");
}
END_TEST

START_TEST(test_archive_refusals)
{
	struct zfile	 f[3];
	char		 cmap[1024], hex[129];
	const char	*plain = "pre-mjs-json";

	std_files(f, cmap, "./main.js", "main.js", plain, NULL, "");
	refused_zip(f, 1, NULL, "the archive holds 1 file: it needs");
	f[0].name = "compartment-mop.json";
	refused_zip(f, 2, NULL, "the archive has no compartment-map.json");
	f[0].name = "compartment-map.json";
	f[2].name = "app-v1.0.0/extra.js";
	f[2].data = MODULE;
	refused_zip(f, 3, NULL, "holds a file no module of the compartment "
	    "map uses: 'app-v1.0.0/extra.js'");
	sha512_hex("something else", 14, hex);
	std_files(f, cmap, "./main.js", "main.js", plain, hex, "");
	refused_zip(f, 2, NULL, "module \"./main.js\" of compartment "
	    "\"app-v1.0.0\" ('app-v1.0.0/main.js') failed its SHA-512 check: "
	    "the compartment map says ");
	std_files(f, cmap, "./main.js", "other.js", plain, NULL, "");
	refused_zip(f, 2, NULL, "its file 'app-v1.0.0/other.js' is not in the "
	    "archive");
	std_files(f, cmap, "./main.js", "main.js", "swift", NULL, "");
	refused_zip(f, 2, NULL, "unknown parser swift");
	std_files(f, cmap, "./nope.js", "main.js", plain, NULL, "");
	refused_zip(f, 2, NULL, "has no entry module \"./nope.js\"");
	std_files(f, cmap, "./main.js", "main.js", plain, NULL,
	    ",\"dep\":{\"compartment\":\"gone-v1\",\"module\":\"./x.js\"}");
	refused_zip(f, 2, NULL, "refers to a module of a compartment the map "
	    "does not have");
	std_files(f, cmap, "./main.js", "main.js", plain, NULL,
	    ",\"dep\":{\"retained\":true}");
	refused_zip(f, 2, NULL, "module \"dep\" of compartment \"app-v1.0.0\" "
	    "has no parser");
}
END_TEST

START_TEST(test_map_refusals)
{
	static const struct {
		const char	*map, *want;
	} cases[] = {
		{ "{", "compartment-map.json is not JSON" },
		{ "[]", "the map must be an object, not an array" },
		{ "{\"entry\":{\"compartment\":\"a\",\"module\":\"m\"},"
		    "\"compartments\":{\"a\":{}},\"x\":1}",
		    "unexpected property 'x'" },
		{ "{\"tags\":[1],\"entry\":{\"compartment\":\"a\",\"module\":"
		    "\"m\"},\"compartments\":{\"a\":{}}}",
		    "tags[0] must be a string" },
		{ "{\"entry\":{\"compartment\":\"a\"},\"compartments\":"
		    "{\"a\":{}}}", "entry must be" },
		{ "{\"entry\":{\"compartment\":\"a\",\"module\":\"m\"},"
		    "\"compartments\":{}}",
		    "compartments must be a non-empty" },
		{ "{\"entry\":{\"compartment\":\"b\",\"module\":\"m\"},"
		    "\"compartments\":{\"a\":{}}}",
		    "has no entry compartment \"b\"" },
		{ "{\"entry\":{\"compartment\":\"a\",\"module\":\"m\"},"
		    "\"compartments\":{\"a\":{\"name\":\"a\",\"label\":\"a\","
		    "\"location\":\"a\",\"modules\":{},\"scopes\":{}}}}",
		    "compartments[\"a\"] has an unexpected property 'scopes'" },
		{ "{\"entry\":{\"compartment\":\"a\",\"module\":\"m\"},"
		    "\"compartments\":{\"a\":{\"name\":\"a\","
		    "\"location\":\"a\",\"modules\":{}}}}",
		    "compartments[\"a\"].label must be a string, not absent" },
	};
	struct zfile	 f[2] = { { "compartment-map.json", NULL },
	    { "a/m.js", MODULE } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f[0].data = cases[i].map;
		refused_zip(f, 2, NULL, cases[i].want);
	}
}
END_TEST

/* Module records read as JSON must be JSON; text and bytes need not. */
START_TEST(test_module_parsers)
{
	struct zfile	 f[2];
	char		 cmap[1024], hex[129];
	const char	*text = "not { json";
	json_t		*b;

	sha512_hex(text, strlen(text), hex);
	std_files(f, cmap, "./main.js", "main.js", "pre-cjs-json", hex, "");
	f[1].data = text;
	refused_zip(f, 2, NULL, "parser pre-cjs-json needs JSON, the file is "
	    "not");
	std_files(f, cmap, "./main.js", "main.js", "text", hex, "");
	f[1].data = text;
	b = bundle_build(f, 2, NULL);
	accepted(b);
	json_decref(b);
}
END_TEST

/* ---- the store --------------------------------------------------------- */

static char	tdir[64];

static void
dir_setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/check_bundle.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

/* The store's files (LMDB's data.mdb and lock.mdb), then the folder. */
static void
dir_teardown(void)
{
	DIR		*dir = opendir(tdir);
	struct dirent	*e;
	char		 path[sizeof(tdir) + 1 + sizeof(e->d_name)];

	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tdir, e->d_name);
		ck_assert_msg(unlink(path) == 0, "unlink %s", path);
	}
	ck_assert_int_eq(closedir(dir), 0);
	ck_assert_int_eq(rmdir(tdir), 0);
}

static struct store *
open_store(void)
{
	struct store_options	 opt = { 1 << 20, 0, false };
	struct store		*st = NULL;
	char			 err[512];

	ck_assert_msg(store_open(tdir, &opt, &st, err, sizeof(err)) ==
	    STORE_OK, "store_open: %s", err);
	return st;
}

#define OK(st, expr) do {						\
	int ok_rc_ = (expr);						\
	ck_assert_msg(ok_rc_ == STORE_OK, "%s: %s: %s", #expr,		\
	    store_strerror(ok_rc_), store_errmsg(st));			\
} while (0)

/* The kernel's path: a valid endo bundle gets b1-, a spoilt one b0-. */
START_TEST(test_install_in_crank)
{
	struct store	*st = open_store();
	json_t		*b = load_fixture(), *got;
	char		*id = NULL, *text, *want;

	OK(st, store_crank_begin(st));
	OK(st, bundle_install(st, b, &id));
	ck_assert_str_eq(id, FIXTURE_ID);
	free(id);
	json_object_set_new(b, "endoZipBase64Sha512", json_string("ab"));
	text = bundle_text(b);
	want = bundle_id(text);
	ck_assert(strncmp(want, "b0-", 3) == 0 && strlen(want) == 67);
	OK(st, bundle_install(st, b, &id));
	ck_assert_str_eq(id, want);
	got = bundle_get(st, id);
	ck_assert(json_equal(got, b));
	OK(st, store_crank_commit(st));
	json_decref(got);
	free(want);
	free(text);
	free(id);
	json_decref(b);
	store_close(st);
}
END_TEST

static Suite *
bundle_suite(void)
{
	Suite	*s = suite_create("bundle");
	TCase	*tc = tcase_create("ids");
	TCase	*tr = tcase_create("refusals");
	TCase	*ts = tcase_create("store");

	tcase_add_test(tc, test_fixture_id);
	tcase_add_test(tc, test_zip_nested_entries_refused);
	tcase_add_test(tc, test_built_bundle_id);
	tcase_add_test(tc, test_testworker_b0);
	tcase_add_test(tc, test_id_valid);
	suite_add_tcase(s, tc);
	tcase_add_test(tr, test_properties);
	tcase_add_test(tr, test_alleged_id);
	tcase_add_test(tr, test_wrong_sha512);
	tcase_add_test(tr, test_base64);
	tcase_add_test(tr, test_one_char_changed);
	tcase_add_test(tr, test_zip_mutations);
	tcase_add_test(tr, test_zip_refusals);
	tcase_add_test(tr, test_archive_refusals);
	tcase_add_test(tr, test_map_refusals);
	tcase_add_test(tr, test_module_parsers);
	tcase_set_timeout(tr, 60);
	suite_add_tcase(s, tr);
	tcase_add_checked_fixture(ts, dir_setup, dir_teardown);
	tcase_add_test(ts, test_install_in_crank);
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(bundle_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
