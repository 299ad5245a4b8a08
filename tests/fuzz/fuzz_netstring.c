/*
 * fuzz_netstring.c — libFuzzer harness for protocol/netstring.c, the
 * decoder of worker pipes.
 *
 * Feeds: byte 0 picks the decoder's settings (bits 0-2: max_frame from
 * ns_limits[], bit 3: allow_empty, bits 4-7: the seed of the split); the
 * rest is a byte stream as it comes off fd 4 (or goes to fd 3).  When
 * bits 4-7 are all set, bytes 1-2 give the size of a big frame (64 KiB
 * to 320 KiB, its payload the rest of the input repeated) put in front of
 * the stream, so that the decoder's reservations for big frames and its
 * giving back of an idle big buffer are reached too.  The stream is
 * decoded three times: fed whole, fed in pieces split at pseudo-random
 * points (1 to 64 bytes, and runs of single bytes; up to 64 KiB, a read's
 * worth, with a big frame), draining after every piece, and fed whole
 * again after netstring_decoder_clear() on the same decoder.
 *
 * Checks, beyond not crashing:
 *   - the three decodings give the same frames, the same final code and
 *     the same netstring_decoder_finish() result;
 *   - they agree with ns_reference(), a one-pass decoder written from the
 *     rules in netstring.h (which error for which byte);
 *   - every frame is at most max_frame bytes, empty only when allowed,
 *     NUL-terminated one byte past its end;
 *   - the frames re-encoded with netstring_encode() (each split into two
 *     parts) are byte for byte the prefix of the stream they came from:
 *     the decoder accepts only canonical netstrings;
 *   - finish() is OK exactly when the stream ended on a frame boundary.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/netstring.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The limits byte 0 chooses from: around digit-count edges, and the real
 * one (maxFrame's default, 12000000). */
static const size_t ns_limits[8] = {
	1, 9, 10, 99, 100, 4096, 70000, 12000000
};

#define NS_MAX_FRAMES	4096	/* a stream of 1-byte frames: plenty */

/* What one decoding produced. */
struct ns_result {
	size_t	 nframes;
	size_t	 off[NS_MAX_FRAMES];	/* payload offset in the stream */
	size_t	 len[NS_MAX_FRAMES];
	size_t	 consumed;		/* bytes of whole frames */
	int	 last;			/* MORE or the error */
	int	 finish;		/* netstring_decoder_finish() */
	int	 overflow;		/* more frames than NS_MAX_FRAMES */
};

static void
ns_abort(const char *what)
{
	fprintf(stderr, "fuzz_netstring: %s\n", what);
	abort();
}

static uint32_t
ns_rand(uint32_t *s)
{
	/* xorshift32: splits depend on the input only */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Record frame (len bytes) found in stream.  The decoder hands out a
 * pointer into its own buffer, so the frame is located by content: it
 * must sit right after the netstring prefix at r->consumed.
 */
static void
ns_take(struct ns_result *r, const struct netstring_decoder *d,
    const unsigned char *stream, size_t slen, const unsigned char *frame,
    size_t len)
{
	char	 head[32];
	int	 hlen;

	if (len > d->max_frame)
		ns_abort("frame longer than max_frame");
	if (len == 0 && !d->allow_empty)
		ns_abort("empty frame though not allowed");
	if (frame[len] != '\0')
		ns_abort("frame not NUL-terminated");
	hlen = snprintf(head, sizeof(head), "%zu:", len);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		ns_abort("snprintf");
	if (r->consumed + (size_t)hlen + len + 1 > slen ||
	    memcmp(stream + r->consumed, head, (size_t)hlen) != 0 ||
	    memcmp(stream + r->consumed + hlen, frame, len) != 0 ||
	    stream[r->consumed + (size_t)hlen + len] != ',')
		ns_abort("frame is not the next netstring of the stream");
	if (r->nframes == NS_MAX_FRAMES) {
		r->overflow = 1;
	} else {
		r->off[r->nframes] = r->consumed + (size_t)hlen;
		r->len[r->nframes] = len;
		r->nframes++;
	}
	r->consumed += (size_t)hlen + len + 1;
}

/* Take every whole frame; the first code other than OK. */
static int
ns_drain(struct netstring_decoder *d, struct ns_result *r,
    const unsigned char *stream, size_t slen)
{
	const unsigned char	*frame;
	size_t			 len;
	int			 rc;

	while ((rc = netstring_decoder_next(d, &frame, &len)) == NETSTRING_OK)
		ns_take(r, d, stream, slen, frame, len);
	return rc;
}

static void
ns_whole(struct netstring_decoder *d, const unsigned char *s, size_t n,
    struct ns_result *r)
{
	int	 rc;

	memset(r, 0, sizeof(*r));
	rc = netstring_decoder_feed(d, s, n);
	if (rc != NETSTRING_OK)
		r->last = rc;
	else
		r->last = ns_drain(d, r, s, n);
	r->finish = netstring_decoder_finish(d);
}

/* Pieces never cross offset align (0: none): a read that ends where a
 * frame ends, as when each write is one frame. */
static void
ns_split(struct netstring_decoder *d, const unsigned char *s, size_t n,
    uint32_t seed, size_t maxpiece, size_t align, struct ns_result *r)
{
	size_t	 pos = 0, piece;
	int	 rc = NETSTRING_MORE;

	memset(r, 0, sizeof(*r));
	while (pos < n) {
		/* one time in four a single byte, else 1 to maxpiece */
		piece = ns_rand(&seed) % 4 == 0 ? 1 : 1 + ns_rand(&seed) %
		    maxpiece;
		if (piece > n - pos)
			piece = n - pos;
		if (pos < align && piece > align - pos)
			piece = align - pos;
		rc = netstring_decoder_feed(d, s + pos, piece);
		if (rc != NETSTRING_OK)
			break;
		pos += piece;
		rc = ns_drain(d, r, s, n);
		if (rc != NETSTRING_MORE)
			break;
	}
	if (n == 0)
		rc = ns_drain(d, r, s, n);
	r->last = rc;
	r->finish = netstring_decoder_finish(d);
}

static size_t
ns_ndigits(size_t n)
{
	size_t	 k = 1;

	for (; n >= 10; n /= 10)
		k++;
	return k;
}

/*
 * The rules of netstring.h, in one pass over the whole stream: digits
 * (no leading zero, no more than max_frame has), ':', the length checked
 * against max_frame and emptiness, the payload, ','.
 */
static void
ns_reference(const unsigned char *s, size_t n, size_t max_frame,
    int allow_empty, struct ns_result *r)
{
	size_t	 p = 0, want, digits;

	memset(r, 0, sizeof(*r));
	for (;;) {
		want = 0;
		digits = 0;
		for (;; p++) {
			if (p == n) {
				r->last = NETSTRING_MORE;
				goto done;
			}
			if (s[p] == ':')
				break;
			if (s[p] < '0' || s[p] > '9' ||
			    (digits == 1 && want == 0)) {
				r->last = NETSTRING_EBADLEN;
				goto done;
			}
			if (digits >= ns_ndigits(max_frame)) {
				r->last = NETSTRING_ETOOBIG;
				goto done;
			}
			want = want * 10 + (size_t)(s[p] - '0');
			digits++;
		}
		if (digits == 0) {
			r->last = NETSTRING_EBADLEN;
			goto done;
		}
		if (want > max_frame) {
			r->last = NETSTRING_ETOOBIG;
			goto done;
		}
		if (want == 0 && !allow_empty) {
			r->last = NETSTRING_EEMPTY;
			goto done;
		}
		p++;
		if (n - p < want + 1) {
			r->last = NETSTRING_MORE;
			goto done;
		}
		if (s[p + want] != ',') {
			r->last = NETSTRING_ENOCOMMA;
			goto done;
		}
		if (r->nframes == NS_MAX_FRAMES)
			r->overflow = 1;
		else {
			r->off[r->nframes] = p;
			r->len[r->nframes] = want;
			r->nframes++;
		}
		p += want + 1;
		r->consumed = p;
	}
done:
	if (r->last == NETSTRING_MORE)
		r->finish = r->consumed == n ? NETSTRING_OK : NETSTRING_EEOF;
	else
		r->finish = r->last;
}

static void
ns_same(const struct ns_result *a, const struct ns_result *b,
    const char *what)
{
	if (a->nframes != b->nframes || a->consumed != b->consumed ||
	    a->last != b->last || a->finish != b->finish ||
	    a->overflow != b->overflow ||
	    memcmp(a->off, b->off, a->nframes * sizeof(a->off[0])) != 0 ||
	    memcmp(a->len, b->len, a->nframes * sizeof(a->len[0])) != 0) {
		fprintf(stderr, "fuzz_netstring: %s: %zu/%zu frames, "
		    "consumed %zu/%zu, last %d/%d, finish %d/%d\n", what,
		    a->nframes, b->nframes, a->consumed, b->consumed, a->last,
		    b->last, a->finish, b->finish);
		abort();
	}
}

/* The frames re-encoded, back to back, must be the consumed prefix. */
static void
ns_reencode(const struct ns_result *r, const unsigned char *s)
{
	struct netstring_part	 parts[2];
	unsigned char		*enc;
	size_t			 elen, at = 0, cut;

	if (r->overflow)
		return;
	for (size_t i = 0; i < r->nframes; i++) {
		cut = r->len[i] / 2;
		parts[0].data = s + r->off[i];
		parts[0].len = cut;
		parts[1].data = s + r->off[i] + cut;
		parts[1].len = r->len[i] - cut;
		if ((enc = netstring_encode(parts, 2, &elen)) == NULL)
			ns_abort("netstring_encode failed");
		if (at + elen > r->consumed || memcmp(s + at, enc, elen) != 0)
			ns_abort("re-encoded frame differs from the stream");
		at += elen;
		free(enc);
	}
	if (at != r->consumed)
		ns_abort("re-encoded frames do not cover the consumed bytes");
}

/*
 * A big frame of 64 KiB + 4 * (rest[0] | rest[1] << 8) bytes, its payload
 * the rest of the input repeated, then that rest as a stream of its own
 * (malloc'd, *len bytes; the big frame's end at *end).
 */
static unsigned char *
ns_big(const unsigned char *rest, size_t n, size_t *len, size_t *end)
{
	size_t		 big = 65536 + 4 * ((size_t)rest[0] |
			    (size_t)rest[1] << 8), hlen;
	unsigned char	*buf;
	char		 head[32];

	rest += 2;
	n -= 2;
	hlen = (size_t)snprintf(head, sizeof(head), "%zu:", big);
	if ((buf = malloc(hlen + big + 1 + n)) == NULL)
		ns_abort("out of memory");
	memcpy(buf, head, hlen);
	for (size_t i = 0; i < big; i++)
		buf[hlen + i] = n > 0 ? rest[i % n] : 'x';
	buf[hlen + big] = ',';
	if (n > 0)
		memcpy(buf + hlen + big + 1, rest, n);
	*len = hlen + big + 1 + n;
	*end = hlen + big + 1;
	return buf;
}

/* Both results static: they are large for the stack. */
static struct ns_result ns_a, ns_b, ns_c, ns_ref;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netstring_decoder d;
	const unsigned char	*s;
	unsigned char		*big = NULL;
	size_t			 n, max_frame, maxpiece = 64, align = 0;
	uint32_t		 seed;
	int			 allow_empty;

	if (size < 1)
		return 0;
	max_frame = ns_limits[data[0] & 7];
	allow_empty = (data[0] & 8) != 0;
	seed = 0x9e3779b9U ^ ((uint32_t)data[0] >> 4) ^ (uint32_t)size << 8;
	s = data + 1;
	n = size - 1;
	if ((data[0] & 0xf0) == 0xf0 && n >= 2) {
		s = big = ns_big(s, n, &n, &align);
		maxpiece = 65536;
	}

	netstring_decoder_init(&d, max_frame);
	d.allow_empty = allow_empty;
	ns_whole(&d, s, n, &ns_a);
	/* ENOMEM says nothing of the bytes: nothing to compare. */
	if (ns_a.last == NETSTRING_ENOMEM) {
		netstring_decoder_clear(&d);
		free(big);
		return 0;
	}
	netstring_decoder_clear(&d);
	if (d.max_frame != max_frame || d.allow_empty != allow_empty ||
	    d.error != 0)
		ns_abort("clear lost the settings or kept the error");
	ns_whole(&d, s, n, &ns_c);
	netstring_decoder_clear(&d);

	netstring_decoder_init(&d, max_frame);
	d.allow_empty = allow_empty;
	ns_split(&d, s, n, seed | 1, maxpiece, align, &ns_b);
	netstring_decoder_clear(&d);

	ns_reference(s, n, max_frame, allow_empty, &ns_ref);
	ns_same(&ns_a, &ns_ref, "whole feed vs. reference");
	ns_same(&ns_b, &ns_ref, "split feed vs. reference");
	ns_same(&ns_c, &ns_ref, "feed after clear vs. reference");
	ns_reencode(&ns_a, s);
	free(big);
	return 0;
}
