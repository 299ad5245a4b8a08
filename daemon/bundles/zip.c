/*
 * zip.c — the zip reader of endoZipBase64 bundles (see
 * bundles_impl.h): finds the end record, walks the central directory,
 * checks each record against its local header and its content against its
 * CRC-32, and lists the files.  It owns only the entry array; names and
 * contents stay in the caller's buffer.  What the files mean is
 * endo.c's business.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/bundles/bundles_impl.h"

#define ZIP_END_LEN	22	/* end of central directory, no comment */
#define ZIP_CENTRAL_LEN	46	/* central header before its name */
#define ZIP_LOCAL_LEN	30	/* local header before its name */
#define ZIP_SIG_END	0x06054b50UL
#define ZIP_SIG_CENTRAL	0x02014b50UL
#define ZIP_SIG_LOCAL	0x04034b50UL
#define ZIP_FLAG_ENCRYPTED	0x0001
#define ZIP_ATTR_DIR	0x10	/* MS-DOS directory bit, external attrs */
#define ZIP_NAME_SHOWN	80	/* at most this much of a name in messages */

/* The fields a central record and its local header must agree on. */
struct zip_record {
	unsigned	 flags, method;
	unsigned long	 crc, csize, usize;
	const unsigned char *name;
	size_t		 nlen;
};

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static unsigned long
get32(const unsigned char *p)
{
	return (unsigned long)p[0] | (unsigned long)p[1] << 8 |
	    (unsigned long)p[2] << 16 | (unsigned long)p[3] << 24;
}

/* How much of a name of nlen bytes messages show ("%.*s"). */
static int
zip_shown(size_t nlen)
{
	return nlen > ZIP_NAME_SHOWN ? ZIP_NAME_SHOWN : (int)nlen;
}

static int
zip_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
zip_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

unsigned long
bundle_zip_crc32(const unsigned char *p, size_t len)
{
	static uint32_t	 table[256];
	static int	 ready;
	uint32_t	 c = 0xffffffffU;

	if (!ready) {
		for (uint32_t n = 0; n < 256; n++) {
			uint32_t v = n;

			for (int k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320U ^ (v >> 1) : v >> 1;
			table[n] = v;
		}
		ready = 1;
	}
	for (size_t i = 0; i < len; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return (unsigned long)(c ^ 0xffffffffU);
}

/*
 * The fields both headers hold in the same layout, from the flags on
 * (offset 6 of a local header, 8 of a central one): flags, method, time,
 * date, CRC-32, sizes, name length; *xlen gets the extra field's length.
 * The name itself follows the header, at name.
 */
static void
zip_fields(const unsigned char *p, const unsigned char *name,
    struct zip_record *r, size_t *xlen)
{
	r->flags = get16(p);
	r->method = get16(p + 2);
	r->crc = get32(p + 8);
	r->csize = get32(p + 12);
	r->usize = get32(p + 16);
	r->nlen = get16(p + 20);
	*xlen = get16(p + 22);
	r->name = name;
}

/* The central name equals the local one, but for '\' in place of '/'. */
static int
zip_same_name(const struct zip_record *central, const struct zip_record *local)
{
	if (central->nlen != local->nlen)
		return 0;
	for (size_t i = 0; i < central->nlen; i++) {
		unsigned char c = central->name[i];

		if ((c == '\\' ? '/' : c) != local->name[i])
			return 0;
	}
	return 1;
}

/*
 * The local header at off for central record c: its fields must match,
 * and its content (c->csize bytes after name and extra field) lie inside
 * the first len bytes (the files, before the central directory).  On
 * success *data points at the content.
 */
static int
zip_local(const unsigned char *buf, size_t len, unsigned long off,
    const struct zip_record *c, const unsigned char **data, char *why,
    size_t whylen)
{
	const int	 shown = zip_shown(c->nlen);
	struct zip_record l;
	const unsigned char *p;
	size_t		 xlen;

	if (off > len || len - off < ZIP_LOCAL_LEN)
		return zip_fail(why, whylen, "entry '%.*s': its local header "
		    "at %lu lies beyond the %zu bytes of files before the "
		    "central directory", shown, c->name, off, len);
	p = buf + off;
	if (get32(p) != ZIP_SIG_LOCAL)
		return zip_fail(why, whylen, "entry '%.*s': no local header "
		    "signature at offset %lu", shown, c->name, off);
	zip_fields(p + 6, p + ZIP_LOCAL_LEN, &l, &xlen);
	if (len - off - ZIP_LOCAL_LEN < l.nlen + xlen ||
	    len - off - ZIP_LOCAL_LEN - l.nlen - xlen < c->csize)
		return zip_fail(why, whylen, "entry '%.*s': truncated, its "
		    "%lu bytes of content run past the files into the central "
		    "directory", shown, c->name, c->csize);
	if (!zip_same_name(c, &l))
		return zip_fail(why, whylen, "entry '%.*s': the central "
		    "directory's name does not match the local header's",
		    shown, c->name);
	if (c->flags != l.flags || c->method != l.method || c->crc != l.crc ||
	    c->csize != l.csize || c->usize != l.usize)
		return zip_fail(why, whylen, "entry '%.*s': the central "
		    "directory and the local header disagree on flags, "
		    "method, CRC-32 or sizes", shown, c->name);
	*data = l.name + l.nlen + xlen;
	return 0;
}

/*
 * Check one central record (parsed into c) and its file; add it to z.
 * Files must lie one after the other, in the central directory's order,
 * before it (*next: where the previous file ended; cdir: where the
 * central directory starts): nested or overlapping entries would have
 * their bytes CRC-checked once per entry, work that grows as entries ×
 * size, and @endo/zip never writes them.
 */
static int
zip_entry(const unsigned char *buf, size_t cdir, const struct zip_record *c,
    unsigned long local_off, unsigned long attrs, size_t *next,
    struct bundle_zip *z, char *why, size_t whylen)
{
	const int	 shown = zip_shown(c->nlen);
	const unsigned char *data = NULL;
	struct bundle_zip_entry *e;
	unsigned long	 crc;

	if (local_off < *next)
		return zip_fail(why, whylen, "entry '%.*s': its local header "
		    "at %lu lies inside the entry before it (which ends at "
		    "%zu): entries must follow each other", shown, c->name,
		    local_off, *next);
	if (zip_local(buf, cdir, local_off, c, &data, why, whylen) == -1)
		return -1;
	*next = (size_t)(data - buf) + c->csize;
	if ((crc = bundle_zip_crc32(data, c->csize)) != c->crc)
		return zip_fail(why, whylen, "entry '%.*s': CRC-32 %08lx does "
		    "not match its content's %08lx", shown, c->name, c->crc,
		    crc);
	if (c->flags & ZIP_FLAG_ENCRYPTED)
		return zip_fail(why, whylen, "entry '%.*s' is encrypted",
		    shown, c->name);
	if (attrs & ZIP_ATTR_DIR)
		return 0;
	if (c->method != 0)
		return zip_fail(why, whylen, "entry '%.*s': compression method "
		    "%u%s is not supported: endo archives store their files "
		    "uncompressed", shown, c->name, c->method, c->method == 8 ?
		    " (deflate)" : "");
	/* Filed under the local name, with '/', as @endo/zip files it. */
	e = &z->entries[z->nentries++];
	e->nlen = c->nlen;
	e->name = buf + local_off + ZIP_LOCAL_LEN;
	e->data = data;
	e->dlen = c->csize;
	return 0;
}

static int
zip_cmp_name(const void *a, const void *b)
{
	const struct bundle_zip_entry *x = a, *y = b;
	size_t	 n = x->nlen < y->nlen ? x->nlen : y->nlen;
	int	 c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->nlen < y->nlen ? -1 : x->nlen > y->nlen;
}

/* Sort the entries by name for bundle_zip_find(); refuse duplicates. */
static int
zip_index(struct bundle_zip *z, char *why, size_t whylen)
{
	const struct bundle_zip_entry *e = z->entries;

	if (z->nentries < 2)
		return 0;
	qsort(z->entries, z->nentries, sizeof(*z->entries), zip_cmp_name);
	for (size_t i = 1; i < z->nentries; i++)
		if (zip_cmp_name(&e[i - 1], &e[i]) == 0)
			return zip_fail(why, whylen, "entry '%.*s' appears "
			    "twice", zip_shown(e[i].nlen), e[i].name);
	return 0;
}

/* Walk the n records of the central directory [off, off + size). */
static int
zip_central(const unsigned char *buf, unsigned long off,
    unsigned long size, unsigned n, struct bundle_zip *z, char *why,
    size_t whylen)
{
	const unsigned char *p = buf + off, *end = buf + off + size;
	struct zip_record c;
	size_t		 xlen, clen, next = 0;

	for (unsigned i = 0; i < n; i++) {
		if ((size_t)(end - p) < ZIP_CENTRAL_LEN ||
		    get32(p) != ZIP_SIG_CENTRAL)
			return zip_fail(why, whylen, "the central directory "
			    "holds %u records, not the %u the end record "
			    "announces", i, n);
		zip_fields(p + 8, p + ZIP_CENTRAL_LEN, &c, &xlen);
		clen = get16(p + 32);
		if ((size_t)(end - p) - ZIP_CENTRAL_LEN < c.nlen + xlen + clen)
			return zip_fail(why, whylen, "central record %u runs "
			    "past the central directory", i);
		if (c.csize == 0xffffffffUL || c.usize == 0xffffffffUL ||
		    get32(p + 42) == 0xffffffffUL)
			return zip_fail(why, whylen, "Zip64 entries are not "
			    "supported");
		if (zip_entry(buf, off, &c, get32(p + 42), get32(p + 38),
		    &next, z, why, whylen) == -1)
			return -1;
		p += ZIP_CENTRAL_LEN + c.nlen + xlen + clen;
	}
	if (p != end)
		return zip_fail(why, whylen, "the central directory has %zu "
		    "bytes after its %u records", (size_t)(end - p), n);
	return 0;
}

int
bundle_zip_read(const unsigned char *buf, size_t len, struct bundle_zip *z,
    char *why, size_t whylen)
{
	const unsigned char *e;
	unsigned long	 size, off;
	unsigned	 n;

	memset(z, 0, sizeof(*z));
	if (len < ZIP_END_LEN)
		return zip_fail(why, whylen, "truncated: %zu bytes, too short "
		    "for a zip archive", len);
	e = buf + len - ZIP_END_LEN;
	if (get32(e) != ZIP_SIG_END)
		return zip_fail(why, whylen, "truncated or not a zip archive: "
		    "no end of central directory record in its last %d bytes "
		    "(archive comments are not accepted)", ZIP_END_LEN);
	n = get16(e + 10);
	size = get32(e + 12);
	off = get32(e + 16);
	if (get16(e + 4) == 0xffff || get16(e + 6) == 0xffff ||
	    get16(e + 8) == 0xffff || n == 0xffff || size == 0xffffffffUL ||
	    off == 0xffffffffUL)
		return zip_fail(why, whylen, "Zip64 archives are not "
		    "supported");
	if (get16(e + 4) != 0 || get16(e + 6) != 0 || get16(e + 8) != n)
		return zip_fail(why, whylen, "archives split over several "
		    "disks are not supported");
	if (off > len - ZIP_END_LEN || size != len - ZIP_END_LEN - off)
		return zip_fail(why, whylen, "truncated or padded: the central "
		    "directory (%lu bytes at %lu) does not end where the end "
		    "record starts (%zu)", size, off, len - ZIP_END_LEN);
	if (n > 0 && (z->entries = calloc(n, sizeof(*z->entries))) == NULL) {
		(void)zip_fail(why, whylen, "out of memory for %u entries", n);
		return BUNDLE_ZIP_ENOMEM;
	}
	if (zip_central(buf, off, size, n, z, why, whylen) == -1 ||
	    zip_index(z, why, whylen) == -1) {
		bundle_zip_clear(z);
		return -1;
	}
	return 0;
}

const struct bundle_zip_entry *
bundle_zip_find(const struct bundle_zip *z, const char *name, size_t nlen)
{
	struct bundle_zip_entry key = { (const unsigned char *)name, nlen,
	    NULL, 0 };

	if (z->nentries == 0)
		return NULL;
	return bsearch(&key, z->entries, z->nentries, sizeof(*z->entries),
	    zip_cmp_name);
}

void
bundle_zip_clear(struct bundle_zip *z)
{
	free(z->entries);
	z->entries = NULL;
	z->nentries = 0;
}
