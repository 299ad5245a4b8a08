/*
 * worker_snap.c — one worker's heap snapshots (worker-protocol.md §7):
 * a pump that copies a snapshot file into the worker's fd 8 as fast as
 * the pipe drains (never blocking on the pipe; the file is a local
 * regular file, read a chunk at a time), a reader of fd 7, and the `w@7`
 * command, whose final reply is held back until fd 7 has given exactly
 * the byte count the reply announces: the two pipes are independent, so
 * either may finish first.  The bytes go to the owner as they come; what
 * it does with them (content addressing, files) is not known here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/log.h"
#include "workers/worker_impl.h"
#include "workers/worker_snap.h"

#define WORKER_SNAP_MAX	((uint64_t)1 << 31)	/* bytes in one snapshot */

/* ---- fd 8: file → worker ---------------------------------------------- */

static void
snap_in_close(struct worker_snap_in *in)
{
	if (in->loop != NULL)
		ev_io_stop(in->loop, &in->io);
	if (in->pipe_fd != -1)
		close(in->pipe_fd);
	if (in->src_fd != -1)
		close(in->src_fd);
	in->pipe_fd = in->src_fd = -1;
	free(in->buf);
	in->buf = NULL;
}

/* Refill the buffer from the file: 1 bytes ready, 0 end of file, -1. */
static int
snap_in_fill(struct worker_snap_in *in)
{
	ssize_t n;

	do
		n = read(in->src_fd, in->buf, WORKER_SNAP_CHUNK);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		log_warn("worker", "%s: reading the snapshot to restore",
		    in->label);
		return -1;
	}
	in->off = 0;
	in->len = (size_t)n;
	return n > 0;
}

static void
snap_in_writable_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker_snap_in	*in = io->data;
	ssize_t			 n;
	int			 more;

	(void)loop;
	(void)revents;
	for (;;) {
		if (in->off == in->len && (more = snap_in_fill(in)) <= 0) {
			if (more == 0)
				log_debug("worker", "%s: restore: %llu snapshot "
				    "bytes sent", in->label,
				    (unsigned long long)in->sent);
			snap_in_close(in);	/* EOF tells the worker */
			return;
		}
		n = write(in->pipe_fd, in->buf + in->off, in->len - in->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* EPIPE: the worker is gone; its exit says why */
			log_debug("worker", "%s: snapshot pipe: %s", in->label,
			    n == 0 ? "short write" : strerror(errno));
			snap_in_close(in);
			return;
		}
		in->off += (size_t)n;
		in->sent += (uint64_t)n;
	}
}

int
worker_snap_in_start(struct worker_snap_in *in, struct ev_loop *loop,
    int pipe_fd, int src_fd, const char *label)
{
	memset(in, 0, sizeof(*in));
	in->pipe_fd = pipe_fd;
	in->src_fd = src_fd;
	in->label = label;
	if ((in->buf = malloc(WORKER_SNAP_CHUNK)) == NULL) {
		snap_in_close(in);
		return -1;
	}
	in->loop = loop;
	ev_io_init(&in->io, snap_in_writable_cb, pipe_fd, EV_WRITE);
	in->io.data = in;
	ev_io_start(loop, &in->io);
	return 0;
}

void
worker_snap_in_clear(struct worker_snap_in *in)
{
	snap_in_close(in);
}

/* ---- fd 7: worker → kernel -------------------------------------------- */

static void
snap_out_readable_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker_snap_out	*o = io->data;
	unsigned char		 buf[WORKER_SNAP_CHUNK];
	ssize_t			 n;

	(void)revents;
	n = read(o->fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ev_io_stop(loop, io);
		o->got(o->arg, NULL, 0, n == 0 ? 0 : errno);
		return;
	}
	o->got(o->arg, buf, (size_t)n, 0);
}

void
worker_snap_out_init(struct worker_snap_out *o, struct ev_loop *loop, int fd,
    void (*got)(void *, const unsigned char *, size_t, int), void *arg)
{
	memset(o, 0, sizeof(*o));
	o->loop = loop;
	o->fd = fd;
	o->got = got;
	o->arg = arg;
	ev_io_init(&o->io, snap_out_readable_cb, fd, EV_READ);
	o->io.data = o;
}

void
worker_snap_out_watch(struct worker_snap_out *o, bool on)
{
	if (o->fd == -1)
		return;
	if (on)
		ev_io_start(o->loop, &o->io);
	else
		ev_io_stop(o->loop, &o->io);
}

void
worker_snap_out_clear(struct worker_snap_out *o)
{
	if (o->loop != NULL)
		ev_io_stop(o->loop, &o->io);
	if (o->fd != -1)
		close(o->fd);
	o->fd = -1;
}

/* ---- `w@7` ---------------------------------------------------------------- */

static void
snap_finish(struct worker *w)
{
	unsigned char	*f = w->snap_reply;
	size_t		 len = w->snap_reply_len;

	w->snapping = false;
	w->snap_reply = NULL;
	worker_snap_out_watch(&w->snap_out, false);
	worker_deliver_reply(w, f, len);
	free(f);
}

/* The byte count after the meter's 0x01: 1 to 19 digits. */
static int
snap_count(const unsigned char *f, size_t len, uint64_t *n)
{
	const unsigned char *p = f + 1 < f + len ? memchr(f + 1, 0x01,
	    len - 1) : NULL;
	size_t		     i, digits;

	if (p == NULL)
		return -1;
	digits = len - (size_t)(++p - f);
	if (digits == 0 || digits > 19)
		return -1;
	for (i = 0, *n = 0; i < digits; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*n = *n * 10 + (uint64_t)(p[i] - '0');
	}
	return 0;
}

/* The final reply to `w@7`: hold it until fd 7 has given its count. */
void
worker_snap_reply(struct worker *w, const unsigned char *f, size_t len)
{
	if (f[0] == '!') {
		w->snapping = false;
		worker_snap_out_watch(&w->snap_out, false);
		worker_deliver_reply(w, f, len);
		return;
	}
	if (snap_count(f, len, &w->snap_want) == -1) {
		worker_fail(w, WORKER_FAULT_PROTOCOL, "answered a snapshot "
		    "without its byte count");
		return;
	}
	if (w->snap_got > w->snap_want) {
		worker_fail(w, WORKER_FAULT_PROTOCOL, "wrote %llu snapshot "
		    "bytes but announced %llu", (unsigned long long)
		    w->snap_got, (unsigned long long)w->snap_want);
		return;
	}
	if ((w->snap_reply = malloc(len)) == NULL) {
		worker_fail(w, WORKER_FAULT_IO, "out of memory");
		return;
	}
	memcpy(w->snap_reply, f, len);
	w->snap_reply_len = len;
	if (w->snap_got == w->snap_want)
		snap_finish(w);
}

/* Bytes from fd 7, its end, or a read error. */
void
worker_snap_got(void *arg, const unsigned char *bytes, size_t len, int err)
{
	struct worker *w = arg;

	w->depth++;
	if (len == 0)
		worker_fail(w, WORKER_FAULT_IO, "snapshot pipe: %s", err ?
		    strerror(err) : "closed");
	else if (!w->snapping)
		worker_fail(w, WORKER_FAULT_PROTOCOL, "wrote %zu bytes on its "
		    "snapshot pipe unasked", len);
	else if (w->snap_reply != NULL && w->snap_got + len > w->snap_want)
		worker_fail(w, WORKER_FAULT_PROTOCOL, "wrote more snapshot "
		    "bytes than the %llu it announced",
		    (unsigned long long)w->snap_want);
	else if (w->snap_got + len > WORKER_SNAP_MAX)
		/* xsnap announces the size with %d: more is a broken worker,
		 * which must not fill the disk */
		worker_fail(w, WORKER_FAULT_PROTOCOL, "wrote more than %llu "
		    "snapshot bytes", (unsigned long long)WORKER_SNAP_MAX);
	else {
		w->snap_got += len;
		if (!w->released && w->cb->snapshot_data != NULL)
			w->cb->snapshot_data(w, w->arg, bytes, len);
		if (w->fault == WORKER_FAULT_NONE && w->snap_reply != NULL &&
		    w->snap_got == w->snap_want)
			snap_finish(w);
	}
	w->depth--;
	worker_settle(w);
}

int
worker_snapshot(struct worker *w)
{
	if (w->snap_out.fd == -1) {
		errno = ENOTSUP;
		return -1;
	}
	if (worker_command(w, 'w', "@7", 2) == -1)
		return -1;
	w->snapping = true;
	w->snap_got = w->snap_want = 0;
	worker_snap_out_watch(&w->snap_out, true);
	return 0;
}
