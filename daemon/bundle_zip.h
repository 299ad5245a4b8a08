/*
 * bundle_zip.h — a reader for the zip archives inside endoZipBase64
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
#ifndef DAEMON_BUNDLE_ZIP_H
#define DAEMON_BUNDLE_ZIP_H

#include <stddef.h>

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

#endif /* DAEMON_BUNDLE_ZIP_H */
