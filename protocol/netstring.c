/*
 * netstring.c — the netstring codec of worker pipes: an incremental,
 * bounded decoder and an encoder over parts (worker-protocol.md §2).
 *
 * The decoder keeps one input buffer.  Fed bytes are appended to it; a
 * whole frame is handed out in place (its ',' overwritten by a NUL), so a
 * 64 KiB read holding many small frames costs one copy.  The parse state
 * (digits seen, announced length) survives between calls, so bytes are
 * looked at once however the stream is split.  Once a prefix announces a
 * length within max_frame, room for the whole frame is reserved at once:
 * a 12 MB frame is not grown by doubling.
 *
 * It knows nothing of descriptors or the event loop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/netstring.h"

enum {
	NS_LEN,			/* reading digits, waiting for ':' */
	NS_DATA,		/* prefix done, waiting for payload and ',' */
};

#define NS_MINCAP	4096
#define NS_KEEPCAP	(256 * 1024)	/* largest buffer kept while idle */
/* Spare room reserved past a big frame, so that the rest of the read that
 * completes it (up to 64 KiB) does not double the buffer. */
#define NS_SLACK	(64 * 1024)

static int	ns_fail(struct netstring_decoder *, int);
static int	ns_reserve(struct netstring_decoder *, size_t);
static size_t	ns_ndigits(size_t);
static int	ns_prefix_byte(struct netstring_decoder *, unsigned char);
static int	ns_prefix_end(struct netstring_decoder *);

void
netstring_decoder_init(struct netstring_decoder *d, size_t max_frame)
{
	memset(d, 0, sizeof(*d));
	d->max_frame = max_frame;
	d->state = NS_LEN;
}

/* Frees the buffer and resets the decoder, keeping its settings. */
void
netstring_decoder_clear(struct netstring_decoder *d)
{
	size_t	 max_frame = d->max_frame;
	int	 allow_empty = d->allow_empty;

	free(d->in);
	netstring_decoder_init(d, max_frame);
	d->allow_empty = allow_empty;
}

static int
ns_fail(struct netstring_decoder *d, int rc)
{
	d->error = rc;
	return rc;
}

/*
 * Make room for need bytes from d->inoff on.  The live tail is moved to
 * the front, and that suffices only when it is no longer than what was
 * consumed before it; otherwise the buffer also grows geometrically.  A
 * move is thus paid for by consumed bytes or by a doubling, so the total
 * cost stays linear in the bytes fed, even one byte at a time.
 */
static int
ns_reserve(struct netstring_decoder *d, size_t need)
{
	size_t	 live = d->inlen - d->inoff, consumed, cap;
	unsigned char *p;

	if (d->incap - d->inoff >= need)
		return 0;
	if (d->inoff > 0) {
		memmove(d->in, d->in + d->inoff, live);
		consumed = d->inoff;
		d->inlen = live;
		d->inoff = 0;
		if (d->incap >= need && consumed >= live)
			return 0;
	}
	cap = d->incap < SIZE_MAX / 2 ? d->incap * 2 : SIZE_MAX;
	if (cap < need)
		cap = need;
	if (cap < NS_MINCAP)
		cap = NS_MINCAP;
	if ((p = realloc(d->in, cap)) == NULL)
		return -1;
	d->in = p;
	d->incap = cap;
	return 0;
}

int
netstring_decoder_feed(struct netstring_decoder *d, const void *buf,
    size_t len)
{
	size_t	 live;

	if (d->error != 0)
		return d->error;
	if (len == 0)
		return NETSTRING_OK;
	if (d->inoff == d->inlen) {
		d->inoff = d->inlen = 0;
		if (d->incap > NS_KEEPCAP) {
			/* Idle after a big frame: give the memory back. */
			free(d->in);
			d->in = NULL;
			d->incap = 0;
		}
	}
	live = d->inlen - d->inoff;
	if (len > SIZE_MAX - live || ns_reserve(d, live + len) == -1)
		return ns_fail(d, NETSTRING_ENOMEM);
	memcpy(d->in + d->inlen, buf, len);
	d->inlen += len;
	return NETSTRING_OK;
}

/* Decimal digits of n: the longest prefix that can announce n or less. */
static size_t
ns_ndigits(size_t n)
{
	size_t	 k = 1;

	while (n >= 10) {
		n /= 10;
		k++;
	}
	return k;
}

/* One byte of the length prefix other than ':'. */
static int
ns_prefix_byte(struct netstring_decoder *d, unsigned char c)
{
	size_t	 digit;

	if (c < '0' || c > '9')
		return NETSTRING_EBADLEN;
	if (d->lendigits == 1 && d->want == 0)
		return NETSTRING_EBADLEN;	/* leading zero */
	if (d->lendigits >= ns_ndigits(d->max_frame))
		return NETSTRING_ETOOBIG;	/* more digits than any size */
	digit = (size_t)(c - '0');
	if (d->want > (SIZE_MAX - digit) / 10)
		return NETSTRING_ETOOBIG;
	d->want = d->want * 10 + digit;
	d->lendigits++;
	return NETSTRING_OK;
}

/* The ':' ending the prefix: check the length, then reserve the frame. */
static int
ns_prefix_end(struct netstring_decoder *d)
{
	size_t	 head = d->lendigits + 1, need;

	if (d->lendigits == 0)
		return NETSTRING_EBADLEN;
	if (d->want > d->max_frame)
		return NETSTRING_ETOOBIG;
	if (d->want == 0 && !d->allow_empty)
		return NETSTRING_EEMPTY;
	if (d->want > SIZE_MAX - head - 1 - NS_SLACK)
		return NETSTRING_ENOMEM;
	need = head + d->want + 1;
	/* Small frames share the buffer; only a big one earns the slack. */
	if (need > NS_SLACK)
		need += NS_SLACK;
	if (ns_reserve(d, need) == -1)
		return NETSTRING_ENOMEM;
	d->state = NS_DATA;
	return NETSTRING_OK;
}

int
netstring_decoder_next(struct netstring_decoder *d,
    const unsigned char **frame, size_t *len)
{
	size_t	 pos, start;
	int	 rc;

	if (d->error != 0)
		return d->error;
	while (d->state == NS_LEN) {
		pos = d->inoff + d->lendigits;
		if (pos >= d->inlen)
			return NETSTRING_MORE;
		if (d->in[pos] == ':')
			rc = ns_prefix_end(d);
		else
			rc = ns_prefix_byte(d, d->in[pos]);
		if (rc != NETSTRING_OK)
			return ns_fail(d, rc);
	}
	start = d->inoff + d->lendigits + 1;
	if (d->inlen - start < d->want + 1)
		return NETSTRING_MORE;
	if (d->in[start + d->want] != ',')
		return ns_fail(d, NETSTRING_ENOCOMMA);
	d->in[start + d->want] = '\0';
	*frame = d->in + start;
	*len = d->want;
	d->inoff = start + d->want + 1;
	d->state = NS_LEN;
	d->want = 0;
	d->lendigits = 0;
	return NETSTRING_OK;
}

int
netstring_decoder_finish(struct netstring_decoder *d)
{
	if (d->error != 0)
		return d->error;
	if (d->state != NS_LEN || d->inoff != d->inlen)
		return ns_fail(d, NETSTRING_EEOF);
	return NETSTRING_OK;
}

const char *
netstring_strerror(int rc)
{
	switch (rc) {
	case NETSTRING_OK:
		return "ok";
	case NETSTRING_MORE:
		return "incomplete frame, more input needed";
	case NETSTRING_EBADLEN:
		return "bad length prefix";
	case NETSTRING_ENOCOMMA:
		return "missing ',' after payload";
	case NETSTRING_ETOOBIG:
		return "announced length exceeds the maximum frame size";
	case NETSTRING_EEOF:
		return "end of stream inside a frame";
	case NETSTRING_EEMPTY:
		return "empty payload";
	case NETSTRING_ENOMEM:
		return "out of memory";
	}
	return "unknown netstring error";
}

unsigned char *
netstring_encode(const struct netstring_part *parts, size_t n,
    size_t *outlen)
{
	char		 head[32];	/* a size_t in decimal, ':' and NUL */
	unsigned char	*out, *p;
	size_t		 total = 0, i;
	int		 hlen;

	for (i = 0; i < n; i++) {
		if (parts[i].len > SIZE_MAX - total)
			goto nomem;
		total += parts[i].len;
	}
	hlen = snprintf(head, sizeof(head), "%zu:", total);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		goto nomem;
	if (total > SIZE_MAX - (size_t)hlen - 1)
		goto nomem;
	if ((out = malloc((size_t)hlen + total + 1)) == NULL)
		goto nomem;
	memcpy(out, head, (size_t)hlen);
	p = out + hlen;
	for (i = 0; i < n; i++) {
		if (parts[i].len > 0)
			memcpy(p, parts[i].data, parts[i].len);
		p += parts[i].len;
	}
	*p = ',';
	*outlen = (size_t)hlen + total + 1;
	return out;
nomem:
	errno = ENOMEM;
	return NULL;
}
