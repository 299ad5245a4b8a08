/*
 * netstring.h — the netstring codec used on worker pipes (fd 3 / fd 4).
 *
 * A netstring is `<decimal length>:<length bytes>,`.  The decoder is pure:
 * bytes in, whole frames out; no descriptors, no event loop.  It may be fed
 * any split of the stream, down to one byte at a time, and keeps its state
 * across calls.  It never allocates more than the configured maximum frame
 * size (checked against the announced length *before* allocating).
 *
 * Ownership: a decoder owns its buffer; a frame handed out by
 * netstring_decoder_next() is borrowed and valid until the next call to
 * netstring_decoder_feed(), netstring_decoder_next() or
 * netstring_decoder_clear() on that decoder.
 */
#ifndef PROTOCOL_NETSTRING_H
#define PROTOCOL_NETSTRING_H

#include <stddef.h>

/* Result codes.  Every error is final for the decoder: once it reports one,
 * it keeps reporting the same one until netstring_decoder_clear(). */
enum netstring_rc {
	NETSTRING_OK = 0,	/* a frame was produced */
	NETSTRING_MORE = 1,	/* no whole frame buffered yet: feed more */
	NETSTRING_EBADLEN = -1,	/* empty length, a non-digit before ':',
				   or a leading zero in a multi-digit
				   length */
	NETSTRING_ENOCOMMA = -2,/* the byte after the payload is not ',' */
	NETSTRING_ETOOBIG = -3,	/* announced length exceeds max_frame
				   (also: more digits than max_frame has,
				   refused before the ':') */
	NETSTRING_EEOF = -4,	/* end of stream inside a frame */
	NETSTRING_EEMPTY = -5,	/* `0:,` — an empty payload is not allowed
				   on worker pipes (worker-protocol.md §2) */
	NETSTRING_ENOMEM = -6,	/* allocation failed */
};

struct netstring_decoder {
	size_t	 max_frame;	/* largest payload accepted, in bytes */
	int	 allow_empty;	/* nonzero: `0:,` is a valid empty frame */
	int	 error;		/* sticky enum netstring_rc error, or 0 */
	/* private below */
	int	 state;		/* NS_LEN (reading the prefix) or NS_DATA */
	size_t	 want;		/* announced payload length (so far) */
	size_t	 lendigits;	/* digits seen in the current prefix */
	unsigned char *in;	/* fed bytes; the current frame starts at inoff */
	size_t	 inoff;		/* first unconsumed byte of in */
	size_t	 inlen;		/* bytes of in that hold data */
	size_t	 incap;		/* allocated size of in */
};

/* Initialise [out] d with the given limit.  Cannot fail. */
void	netstring_decoder_init(struct netstring_decoder *d, size_t max_frame);

/* Release everything d owns; d may be initialised again afterwards. */
void	netstring_decoder_clear(struct netstring_decoder *d);

/*
 * Append [in] len bytes of stream to the decoder (copied).  Returns
 * NETSTRING_OK, or NETSTRING_ENOMEM, or the decoder's sticky error.
 * Parsing happens in netstring_decoder_next().
 */
int	netstring_decoder_feed(struct netstring_decoder *d, const void *buf,
	    size_t len);

/*
 * Take the next whole frame.  On NETSTRING_OK, [out] *frame and *len
 * describe the payload (borrowed, see above; *frame is also NUL-terminated
 * one byte past *len for convenience).  NETSTRING_MORE means feed more.
 * Any negative value is a sticky error.
 */
int	netstring_decoder_next(struct netstring_decoder *d,
	    const unsigned char **frame, size_t *len);

/*
 * The stream ended.  Returns NETSTRING_OK when the decoder sits exactly on
 * a frame boundary with nothing buffered, NETSTRING_EEOF otherwise (or the
 * sticky error).
 */
int	netstring_decoder_finish(struct netstring_decoder *d);

/* A static English description of rc, e.g. "missing ',' after payload". */
const char *netstring_strerror(int rc);

/*
 * Encode a frame whose payload is the concatenation of parts[0..n-1]
 * (so a one-byte tag and a JSON body need no copy by the caller).
 * Returns a malloc'd buffer that the caller frees, with its size in
 * [out] *outlen, or NULL with errno = ENOMEM.
 */
struct netstring_part {
	const void *data;
	size_t	    len;
};
unsigned char *netstring_encode(const struct netstring_part *parts, size_t n,
	    size_t *outlen);

#endif
