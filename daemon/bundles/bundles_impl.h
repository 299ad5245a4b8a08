/*
 * bundles_impl.h — private to daemon/bundles/: the zip reader (zip.c) and
 * the endoZipBase64 integrity check (endo.c) that bundles.c calls.  Only
 * the files of daemon/bundles/, its unit suite and its fuzz harness
 * include it; daemon/bundles/bundles.h is the contract.
 */
#ifndef DAEMON_BUNDLES_IMPL_H
#define DAEMON_BUNDLES_IMPL_H

#include <stddef.h>

#include <jansson.h>

/* ---- zip.c: the archive reader -------------------------------------- */

/*
 * A reader for the zip archives inside endoZipBase64
 * bundles: the layout @endo/zip writes (stored entries, no comment, no
 * Zip64), read with every length checked against the buffer.  Pure: bytes
 * in, a list of entries out; no LMDB, no JSON.
 *
 * Accepted, as @endo/zip's reader accepts: an end of central directory
 * record in the last 22 bytes with no comment; a central directory whose
 * records each match their local header (name — the central one may use
 * '\' for '/' —, flags, method, CRC-32, both sizes); entries stored
 * (method 0) and not encrypted; content whose CRC-32 matches.  Directory
 * entries are checked and skipped.
 *
 * Refused where @endo/zip would read something: a compressed entry
 * (deflate, method 8, included: @endo/zip has no decompressor, and endo
 * never writes one), bytes before the archive, a local header without its
 * signature, several disks, a central directory with bytes no record
 * accounts for, and two entries with the same name.
 */

/* One file of the archive; both pointers borrow the archive's buffer. */
struct bundle_zip_entry {
	const unsigned char	*name;	/* not NUL-terminated */
	size_t			 nlen;
	const unsigned char	*data;
	size_t			 dlen;
};

struct bundle_zip {
	struct bundle_zip_entry	*entries;	/* owned; files only */
	size_t			 nentries;
};

#define BUNDLE_ZIP_EBAD	(-1)	/* the archive is refused */
#define BUNDLE_ZIP_ENOMEM	(-2)	/* this machine ran out of memory */

/*
 * Read the archive [in] buf (len bytes), which must outlive [out] z.
 * 0 on success (release z with bundle_zip_clear()); or BUNDLE_ZIP_EBAD or
 * BUNDLE_ZIP_ENOMEM with a reason in why (at most whylen bytes,
 * NUL-terminated) and z empty.
 */
int	 bundle_zip_read(const unsigned char *buf, size_t len,
	    struct bundle_zip *z, char *why, size_t whylen);

/* The entry called name (nlen bytes), or NULL. */
const struct bundle_zip_entry *bundle_zip_find(const struct bundle_zip *z,
	    const char *name, size_t nlen);

void	 bundle_zip_clear(struct bundle_zip *z);

/* The CRC-32 (ISO-HDLC, as zip uses) of len bytes at p. */
unsigned long bundle_zip_crc32(const unsigned char *p, size_t len);

/* ---- endo.c: the endoZipBase64 check -------------------------------- */

/*
 * The integrity check of endoZipBase64 bundles, the ones
 * @endo/bundle-source makes: {"moduleFormat":"endoZipBase64",
 * "endoZipBase64":"<base64 of a zip>","endoZipBase64Sha512":"<hex>"}.
 * It does what @endo/check-bundle 1.1.1 (with @endo/compartment-mapper
 * 2.4.0's parseArchive and @endo/zip) does for SwingSet 0.33's
 * installBundle, in C; bundles.c decides when to call it.
 *
 * The bundle passes when:
 *   1. every property's value is a string, moduleFormat is
 *      "endoZipBase64", and endoZipBase64 and endoZipBase64Sha512 exist;
 *   2. endoZipBase64 is canonical base64 (RFC 4648 §4: padded, no
 *      whitespace, zero padding bits);
 *   3. the bytes are a zip archive zip.c reads (stored entries);
 *   4. it holds at least two files, one of them compartment-map.json;
 *   5. endoZipBase64Sha512 is the SHA-512 (lowercase hex) of
 *      compartment-map.json — of that file, not of the zip: the map lists
 *      every module's SHA-512, so it pins the whole archive;
 *   6. the map is JSON of compartment-mapper's file compartment map:
 *      only "tags" (strings), "entry" ({compartment, module}, strings)
 *      and "compartments" (non-empty; each {location, name, label,
 *      modules, policy?}, strings but modules and policy), with the entry
 *      module in the entry compartment;
 *   7. every module is a deferred error, an alias ({compartment, module},
 *      naming a compartment of the map) or a file: parser one of
 *      pre-mjs-json, pre-cjs-json, json, text, bytes; its file
 *      "<compartment>/<location>" in the archive; its content's SHA-512
 *      equal to the module's sha512 when it has one; JSON when its parser
 *      reads JSON;
 *   8. every file of the archive is compartment-map.json or some module's.
 * The ID is then "b1-" + endoZipBase64Sha512.
 *
 * Not replicated: parseArchive also evaluates the module records and
 * walks the imports from the entry module, and only files reached that
 * way count as used (8 counts every module of the map); a policy is not
 * checked.  bundle-source writes only modules it reached, so the two agree
 * on every archive it makes.
 */

#define BUNDLE_ENDO_ID_LEN	(3 + 128)	/* "b1-" and 128 hex digits */

#define BUNDLE_ENDO_REFUSED	(-1)	/* the bundle fails the check */
#define BUNDLE_ENDO_ESYS	(-2)	/* out of memory, libcrypto failed:
					   nothing is known of the bundle */

/*
 * Check [in] bundle.  0 and its ID in [out] id; or BUNDLE_ENDO_REFUSED or
 * BUNDLE_ENDO_ESYS with the reason in why (at most whylen bytes,
 * NUL-terminated; 1024 holds every message whole).
 */
int	 bundle_endo_check(const json_t *bundle,
	    char id[BUNDLE_ENDO_ID_LEN + 1], char *why, size_t whylen);

#endif
