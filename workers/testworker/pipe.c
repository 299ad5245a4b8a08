/*
 * pipe.c — the worker's two pipes: netstring frames in on fd 3, out on
 * fd 4, and the upcall round trip `?` + JSON → `/` + JSON
 * (worker-protocol.md §1.3, §2, §4.3).
 *
 * Blocking I/O: the worker does one thing at a time, as xsnap does.
 * Framing errors and EOF inside a frame end the process with exit 2 and
 * a line on stderr; EOF on a frame boundary is reported to the caller
 * (the command loop exits 0 there).  What the frames mean is not known
 * here, except that an upcall's answer must start with `/`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/netstring.h"
#include "workers/testworker/testworker.h"

#define PIPE_IN		3
#define PIPE_OUT	4
#define PIPE_MAXFRAME	999999999	/* xsnap reads at most 9 digits */
#define PIPE_CHUNK	65536

static struct netstring_decoder	pipe_in;
static unsigned char		pipe_buf[PIPE_CHUNK];	/* read(2) lands here */

static int	pipe_fill(void);
static int	pipe_write_all(const unsigned char *, size_t);

int
pipe_init(void)
{
	if (fcntl(PIPE_IN, F_GETFD) == -1 || fcntl(PIPE_OUT, F_GETFD) == -1)
		return -1;
	netstring_decoder_init(&pipe_in, PIPE_MAXFRAME);
	return 0;
}

void
pipe_clear(void)
{
	netstring_decoder_clear(&pipe_in);
}

/* One read(2) into the decoder: 1 fed, 0 EOF. */
static int
pipe_fill(void)
{
	ssize_t		 n;
	int		 rc;

	do
		n = read(PIPE_IN, pipe_buf, sizeof(pipe_buf));
	while (n == -1 && errno == EINTR);
	if (n == -1)
		tw_fatal(TW_EXIT_IO, "read fd %d: %s", PIPE_IN,
		    strerror(errno));
	if (n == 0)
		return 0;
	rc = netstring_decoder_feed(&pipe_in, pipe_buf, (size_t)n);
	if (rc != NETSTRING_OK)
		tw_fatal(TW_EXIT_IO, "netstring: %s", netstring_strerror(rc));
	return 1;
}

/*
 * The next frame from fd 3: 1 with [out] *frame, *len (borrowed until the
 * next call), or 0 when the stream ended cleanly between frames.
 */
int
pipe_read(const unsigned char **frame, size_t *len)
{
	int	 rc;

	for (;;) {
		rc = netstring_decoder_next(&pipe_in, frame, len);
		if (rc == NETSTRING_OK)
			return 1;
		if (rc != NETSTRING_MORE)
			tw_fatal(TW_EXIT_IO, "netstring: %s",
			    netstring_strerror(rc));
		if (pipe_fill() == 0)
			break;
	}
	rc = netstring_decoder_finish(&pipe_in);
	if (rc != NETSTRING_OK)
		tw_fatal(TW_EXIT_IO, "netstring: %s", netstring_strerror(rc));
	return 0;
}

static int
pipe_write_all(const unsigned char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(PIPE_OUT, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write one frame: tag, then a, then b (either may be empty). */
int
pipe_write(char tag, const void *a, size_t alen, const void *b, size_t blen)
{
	struct netstring_part	 parts[4];
	unsigned char		*buf;
	size_t			 len, n = 0;
	int			 rc;

	parts[n].data = &tag;
	parts[n++].len = 1;
	if (alen > 0) {
		parts[n].data = a;
		parts[n++].len = alen;
	}
	/* The meter and its result are separated by one 0x01 byte. */
	if (b != NULL) {
		parts[n].data = "\001";
		parts[n++].len = 1;
		parts[n].data = b;
		parts[n++].len = blen;
	}
	if ((buf = netstring_encode(parts, n, &len)) == NULL)
		return -1;
	rc = pipe_write_all(buf, len);
	free(buf);
	return rc;
}

/*
 * Send `?` + JSON(msg) and wait for the kernel's `/` answer, parsed
 * into [out] *answer (JSON null when empty).  Returns 0, or -1 with
 * *answer NULL when the answer is not a `/` message or not JSON (the
 * vat sees an exception, as with issueCommand).  I/O failures exit 2.
 */
int
pipe_upcall(json_t *msg, json_t **answer)
{
	const unsigned char	*frame;
	char			*text;
	size_t			 len;

	*answer = NULL;
	meter_add(10);
	if ((text = json_dumps(msg, TW_JSON_FLAGS)) == NULL)
		tw_fatal(TW_EXIT_IO, "cannot encode an upcall");
	if (pipe_write('?', text, strlen(text), NULL, 0) == -1)
		tw_fatal(TW_EXIT_IO, "write fd %d: %s", PIPE_OUT,
		    strerror(errno));
	free(text);
	if (pipe_read(&frame, &len) == 0)
		tw_fatal(TW_EXIT_IO, "Got EOF on netstring read."
		    " Has parent died?");
	if (frame[0] != '/')
		return -1;
	if (len == 1)
		*answer = json_null();
	else
		*answer = json_loadb((const char *)frame + 1, len - 1,
		    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	return *answer == NULL ? -1 : 0;
}
