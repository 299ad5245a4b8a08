/*
 * worker_snap.c — one worker's heap snapshots (worker-protocol.md §7):
 * a reader of fd 7, and the `w@7` command, whose final reply is held back
 * until fd 7 has given exactly the byte count the reply announces: the
 * two pipes are independent, so either may finish first.  The bytes go to
 * the owner as they come; what it does with them (content addressing,
 * files) is not known here, but it may ask for a pause while it catches
 * up (worker_snapshot_pause()).  A restore needs nothing here: the
 * snapshot file itself is the worker's fd 8 (spawn.c), which it reads on
 * its own, so no byte of it passes through the daemon's loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/log.h"
#include "workers/worker_impl.h"
#include "workers/worker_snap.h"

#define WORKER_SNAP_MAX	((uint64_t)1 << 31)	/* bytes in one snapshot */

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

void
worker_snapshot_pause(struct worker *w, bool pause)
{
	w->snap_paused = pause;
	/* only while `w@7` still owes bytes: not after snap_finish() */
	worker_snap_out_watch(&w->snap_out, w->snapping && !pause &&
	    w->fault == WORKER_FAULT_NONE && !w->reaped);
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
	w->snap_paused = false;
	w->snap_got = w->snap_want = 0;
	worker_snap_out_watch(&w->snap_out, true);
	return 0;
}
