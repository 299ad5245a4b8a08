/*
 * worker.c — one worker process as the kernel sees it at the xsnap layer:
 * the command/reply conversation on fds 3/4, the per-command deadline, the
 * exit classification, and the worker's life after its owner lets go.
 *
 * State: a worker is idle, or has one command in flight (optionally with
 * an upcall awaiting its answer); it becomes *failed* at the first sign of
 * trouble (bad frame, pipe error, deadline) and is killed then; its owner
 * hears about it once, when the process has been reaped, so that the
 * exit status can decide between the vat's fault and this machine's.
 * Released workers (worker_stop/worker_kill) stay on a list until reaped.
 * Heap snapshots (fd 7, fd 8 and the `w@7` command) are worker_snap.c's.
 */
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/log.h"
#include "protocol/netstring.h"
#include "workers/spawn.h"
#include "workers/worker.h"
#include "workers/worker_impl.h"
#include "workers/worker_output.h"

#define WORKER_READ_CHUNK	(64 * 1024)
#define WORKER_EOF_GRACE	5.0	/* seconds from EOF on fd 4 to a kill */


static LIST_HEAD(, worker) released = LIST_HEAD_INITIALIZER(released);
static size_t nreleased;

static void	cmd_writable_cb(struct ev_loop *, ev_io *, int);
static void	rep_readable_cb(struct ev_loop *, ev_io *, int);
static void	child_cb(struct ev_loop *, ev_child *, int);
static void	deadline_cb(struct ev_loop *, ev_timer *, int);

bool
worker_fault_is_vat(enum worker_fault f)
{
	return f == WORKER_FAULT_VAT_COMPUTE || f == WORKER_FAULT_VAT_MEMORY ||
	    f == WORKER_FAULT_VAT_STACK || f == WORKER_FAULT_VAT_FRAME;
}

const char *
worker_fault_name(enum worker_fault f)
{
	static const char *const names[] = {
		"none", "exited", "too much computation", "not enough memory",
		"stack overflow", "exited abnormally", "killed by a signal",
		"protocol error", "timed out", "pipe error",
		"frame too large", "cannot execute",
	};

	return (size_t)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

/* Turn a wait status into a fault (xsnap's exit codes, §6). */
static enum worker_fault
classify_status(int status)
{
	if (WIFSIGNALED(status))
		return WORKER_FAULT_SIGNAL;
	switch (WEXITSTATUS(status)) {
	case 0:  return WORKER_FAULT_EXIT_CLEAN;
	case 11: return WORKER_FAULT_VAT_MEMORY;
	case 12: return WORKER_FAULT_VAT_STACK;
	case 17: return WORKER_FAULT_VAT_COMPUTE;
	default: return WORKER_FAULT_EXIT;
	}
}

static void
worker_free(struct worker *w)
{
	if (w->released) {
		LIST_REMOVE(w, entry);
		nreleased--;
	}
	ev_io_stop(w->loop, &w->status_r);
	ev_io_stop(w->loop, &w->cmd_w);
	ev_io_stop(w->loop, &w->rep_r);
	ev_timer_stop(w->loop, &w->deadline);
	ev_child_stop(w->loop, &w->child);
	if (w->status_fd != -1)
		close(w->status_fd);
	if (w->cmd_fd != -1)
		close(w->cmd_fd);
	if (w->rep_fd != -1)
		close(w->rep_fd);
	worker_output_clear(&w->stdout_log);
	worker_output_clear(&w->stderr_log);
	worker_snap_out_clear(&w->snap_out);
	free(w->snap_reply);
	netstring_decoder_clear(&w->dec);
	free(w->out);
	free(w->why);
	free(w->label);
	free(w->prog);
	free(w);
}

/* Free a released, reaped worker once no callback of ours is running. */
void
worker_settle(struct worker *w)
{
	if (w->released && w->reaped && w->depth == 0)
		worker_free(w);
}

/* First trouble: remember why, stop talking, kill the process.  The owner
 * hears of it when the process is reaped. */
void
worker_fail(struct worker *w, enum worker_fault f, const char *fmt, ...)
{
	va_list ap;

	if (w->fault == WORKER_FAULT_NONE) {
		w->fault = f;
		va_start(ap, fmt);
		if (vasprintf(&w->why, fmt, ap) < 0)
			w->why = NULL;
		va_end(ap);
		log_warnx("worker", "%s: %s", w->label, w->why ? w->why :
		    worker_fault_name(f));
	}
	ev_io_stop(w->loop, &w->cmd_w);
	ev_io_stop(w->loop, &w->rep_r);
	ev_timer_stop(w->loop, &w->deadline);
	worker_snap_out_watch(&w->snap_out, false);
	if (!w->reaped && kill(w->pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("worker", "%s: kill %d", w->label, (int)w->pid);
}

/*
 * The exec verdict (spawn.c), once it can be read without waiting: end of
 * file, the program runs; an errno, it never did.  That is the worker's
 * first fault whatever was noticed before (its command pipe breaking as
 * the child exited, say): it is the cause.
 */
static void
take_verdict(struct worker *w)
{
	int err = 0, v;

	if (w->status_fd == -1 || (v = spawn_verdict(w->status_fd, &err)) ==
	    SPAWN_PENDING)
		return;
	ev_io_stop(w->loop, &w->status_r);
	if (close(w->status_fd) == -1)
		log_warn("worker", "%s: closing its exec status pipe", w->label);
	w->status_fd = -1;
	if (v == SPAWN_EXECUTED)
		return;
	if (w->fault != WORKER_FAULT_NONE) {
		free(w->why);
		w->why = NULL;
		w->fault = WORKER_FAULT_NONE;
	}
	worker_fail(w, WORKER_FAULT_EXEC, "cannot execute %s: %s", w->prog,
	    strerror(err));
}

static void
status_readable_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = io->data;

	(void)loop;
	(void)revents;
	w->depth++;
	take_verdict(w);
	w->depth--;
	worker_settle(w);
}

static void
child_cb(struct ev_loop *loop, ev_child *c, int revents)
{
	struct worker	*w = c->data;
	enum worker_fault f;
	char		 desc[64];

	(void)revents;
	ev_child_stop(loop, c);
	take_verdict(w);	/* the child is gone: it can be read now */
	w->reaped = true;
	w->status = c->rstatus;
	worker_output_drain(&w->stdout_log);
	worker_output_drain(&w->stderr_log);
	ev_timer_stop(loop, &w->deadline);
	ev_io_stop(loop, &w->status_r);
	ev_io_stop(loop, &w->cmd_w);
	ev_io_stop(loop, &w->rep_r);
	worker_snap_out_watch(&w->snap_out, false);
	f = w->fault != WORKER_FAULT_NONE ? w->fault : classify_status(w->status);
	if (WIFSIGNALED(w->status))
		snprintf(desc, sizeof(desc), "killed by signal %d",
		    WTERMSIG(w->status));
	else
		snprintf(desc, sizeof(desc), "exited with status %d",
		    WEXITSTATUS(w->status));
	log_info("worker", "%s: pid %d %s", w->label, (int)w->pid, desc);
	if (!w->released && w->cb->fault != NULL) {
		w->depth++;
		w->cb->fault(w, w->arg, f, w->why ? w->why : desc);
		w->depth--;
	}
	worker_settle(w);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;

	(void)loop;
	(void)revents;
	if (w->eof)
		worker_fail(w, WORKER_FAULT_IO, "closed its reply pipe but "
		    "did not exit");
	else if (w->released)
		worker_fail(w, WORKER_FAULT_TIMEOUT, "did not exit in time");
	else if (w->busy)
		worker_fail(w, WORKER_FAULT_TIMEOUT, "command took longer "
		    "than %.1f s", w->timeout);
	else
		worker_fail(w, WORKER_FAULT_TIMEOUT, "did not exit in time");
}

static int
worker_setup(struct worker *w, const struct worker_spec *spec,
    const struct spawn_result *sr)
{
	w->pid = sr->pid;
	w->status_fd = sr->status_fd;
	w->cmd_fd = sr->cmd_fd;
	w->rep_fd = sr->rep_fd;
	w->timeout = spec->timeout;
	w->left = -1;
	netstring_decoder_init(&w->dec, spec->max_frame);
	ev_io_init(&w->status_r, status_readable_cb, w->status_fd, EV_READ);
	ev_io_init(&w->cmd_w, cmd_writable_cb, w->cmd_fd, EV_WRITE);
	ev_io_init(&w->rep_r, rep_readable_cb, w->rep_fd, EV_READ);
	ev_child_init(&w->child, child_cb, w->pid, 0);
	ev_timer_init(&w->deadline, deadline_cb, 0., 0.);
	w->status_r.data = w->cmd_w.data = w->rep_r.data = w->child.data =
	    w->deadline.data = w;
	ev_child_start(w->loop, &w->child);
	ev_io_start(w->loop, &w->status_r);
	ev_io_start(w->loop, &w->rep_r);
	worker_snap_out_init(&w->snap_out, w->loop, sr->snap_out_fd,
	    worker_snap_got, w);
	/* every fd has its owner in w before anything can fail: the
	 * caller's worker_kill() then closes them all */
	w->stdout_log.fd = sr->out_fd;
	w->stderr_log.fd = sr->err_fd;
	if (worker_output_init(&w->stdout_log, w->loop, sr->out_fd, w->label,
	    "stdout") == -1 || worker_output_init(&w->stderr_log, w->loop,
	    sr->err_fd, w->label, "stderr") == -1)
		return -1;
	return 0;
}

int
worker_spawn(struct ev_loop *loop, const struct worker_spec *spec,
    const struct worker_callbacks *cb, void *arg, struct worker **out,
    char *errbuf, size_t errlen)
{
	struct spawn_options	 so = { spec->snap_out, spec->restore ?
				    spec->restore_fd : -1 };
	struct spawn_result	 sr;
	struct worker		*w;
	int			 rc = -1;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->label = strdup(spec->label)) == NULL ||
	    (w->prog = strdup(spec->argv[0])) == NULL)
		snprintf(errbuf, errlen, "out of memory");
	else {
		w->loop = loop;
		w->cb = cb;
		w->arg = arg;
		w->status_fd = w->cmd_fd = w->rep_fd = -1;
		w->stdout_log.fd = w->stderr_log.fd = w->snap_out.fd = -1;
		rc = spawn_process(spec->argv, &so, &sr, errbuf, errlen);
	}
	/* the child has its own copy as fd 8 (or never will) */
	if (spec->restore && close(spec->restore_fd) == -1)
		log_warn("worker", "%s: closing the snapshot", spec->label);
	if (rc == -1) {
		if (w != NULL) {
			free(w->label);
			free(w->prog);
		}
		free(w);
		return -1;
	}
	if (worker_setup(w, spec, &sr) == -1) {
		snprintf(errbuf, errlen, "out of memory");
		worker_kill(w);
		return -1;
	}
	log_debug("worker", "%s: spawned %s as pid %d", w->label,
	    spec->argv[0], (int)w->pid);
	*out = w;
	return 0;
}

static void
flush_out(struct worker *w)
{
	ssize_t n;

	while (w->outoff < w->outlen) {
		n = write(w->cmd_fd, w->out + w->outoff, w->outlen - w->outoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			worker_fail(w, WORKER_FAULT_IO, "command pipe: %s",
			    n == 0 ? "short write" : strerror(errno));
			return;
		}
		w->outoff += (size_t)n;
	}
	if (w->outoff < w->outlen) {
		ev_io_start(w->loop, &w->cmd_w);
		return;
	}
	w->outoff = w->outlen = 0;
	ev_io_stop(w->loop, &w->cmd_w);
	if (w->close_cmd && w->cmd_fd != -1) {
		close(w->cmd_fd);
		w->cmd_fd = -1;
	}
}

static void
cmd_writable_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	flush_out(io->data);
}

/* Queue one frame: netstring of tag + payload. */
static int
queue_frame(struct worker *w, char tag, const void *payload, size_t len)
{
	struct netstring_part	 parts[2] = {
		{ &tag, 1 }, { payload, len }
	};
	size_t			 flen;
	unsigned char		*frame = netstring_encode(parts, 2, &flen);
	unsigned char		*p;

	if (frame == NULL)
		return -1;
	if (w->outlen + flen > w->outcap) {
		p = realloc(w->out, w->outlen + flen);
		if (p == NULL) {
			free(frame);
			return -1;
		}
		w->out = p;
		w->outcap = w->outlen + flen;
	}
	memcpy(w->out + w->outlen, frame, flen);
	w->outlen += flen;
	free(frame);
	flush_out(w);
	return 0;
}

int
worker_command(struct worker *w, char tag, const void *payload, size_t len)
{
	if (w->fault != WORKER_FAULT_NONE || w->reaped || w->cmd_fd == -1) {
		errno = EPIPE;
		return -1;
	}
	if (w->busy) {
		errno = EBUSY;
		return -1;
	}
	if (queue_frame(w, tag, payload, len) == -1) {
		errno = ENOMEM;
		return -1;
	}
	w->busy = true;
	if (w->timeout > 0) {
		ev_timer_set(&w->deadline, w->timeout, 0.);
		ev_timer_start(w->loop, &w->deadline);
	}
	return 0;
}

int
worker_answer(struct worker *w, const void *payload, size_t len)
{
	if (!w->upcall) {
		errno = EPROTO;
		return -1;
	}
	w->upcall = false;
	if (w->fault != WORKER_FAULT_NONE)
		return 0;	/* it is being killed; nobody listens */
	if (queue_frame(w, '/', payload, len) == -1) {
		worker_fail(w, WORKER_FAULT_IO, "out of memory answering");
		return -1;
	}
	return 0;
}

void
worker_deadline_pause(struct worker *w, bool pause)
{
	if (w->timeout <= 0 || !w->busy)
		return;
	if (pause && w->left < 0) {
		w->left = ev_timer_remaining(w->loop, &w->deadline);
		ev_timer_stop(w->loop, &w->deadline);
	} else if (!pause && w->left >= 0) {
		ev_timer_set(&w->deadline, w->left > 0 ? w->left : 0.001, 0.);
		ev_timer_start(w->loop, &w->deadline);
		w->left = -1;
	}
}

/* A '.' reply: meter JSON up to the first 0x01, result after it. */
void
worker_deliver_reply(struct worker *w, const unsigned char *f, size_t len)
{
	struct worker_reply	 r = { .ok = f[0] == '.' };
	const unsigned char	*sep = NULL;

	if (r.ok)
		sep = memchr(f + 1, 0x01, len - 1);
	if (sep != NULL) {
		r.meter = (const char *)f + 1;
		r.meterlen = (size_t)(sep - (f + 1));
		r.result = sep + 1;
		r.resultlen = len - (size_t)(sep + 1 - f);
	} else {
		r.result = f + 1;
		r.resultlen = len - 1;
	}
	w->busy = false;
	ev_timer_stop(w->loop, &w->deadline);
	if (!w->released)
		w->cb->reply(w, w->arg, &r);
}

static void
handle_frame(struct worker *w, const unsigned char *f, size_t len)
{
	if (w->snap_reply != NULL) {
		worker_fail(w, WORKER_FAULT_PROTOCOL, "sent a frame after its "
		    "snapshot's reply");
		return;
	}
	if (!w->busy) {
		worker_fail(w, WORKER_FAULT_PROTOCOL, "sent a %zu-byte frame "
		    "with no command in flight", len);
		return;
	}
	switch (f[0]) {
	case '?':
		if (w->upcall) {
			worker_fail(w, WORKER_FAULT_PROTOCOL, "sent an upcall "
			    "before its previous one was answered");
			return;
		}
		w->upcall = true;
		if (!w->released)
			w->cb->upcall(w, w->arg, f + 1, len - 1);
		break;
	case '.':
	case '!':
		if (w->upcall) {
			worker_fail(w, WORKER_FAULT_PROTOCOL, "replied with "
			    "an upcall unanswered");
			return;
		}
		if (w->snapping)
			worker_snap_reply(w, f, len);
		else
			worker_deliver_reply(w, f, len);
		break;
	default:
		worker_fail(w, WORKER_FAULT_PROTOCOL, "sent a frame with "
		    "unknown tag 0x%02x", f[0]);
	}
}

/*
 * The reply pipe's framing broke.  A frame announced over max_frame is the
 * vat's own doing (its code decided what to send, and every node refuses
 * the same frame), so it is a vat fault; any other framing error is a
 * protocol fault of the worker, this machine's.
 */
static void
reply_pipe_failed(struct worker *w, int rc)
{
	if (rc == NETSTRING_ETOOBIG)
		worker_fail(w, WORKER_FAULT_VAT_FRAME, "sent a frame over the "
		    "maxFrame limit of %zu bytes", w->dec.max_frame);
	else
		worker_fail(w, WORKER_FAULT_PROTOCOL, "reply pipe: %s",
		    netstring_strerror(rc));
}

static void
take_frames(struct worker *w)
{
	const unsigned char	*f;
	size_t			 len;
	int			 rc;

	while (w->fault == WORKER_FAULT_NONE && !w->released) {
		rc = netstring_decoder_next(&w->dec, &f, &len);
		if (rc == NETSTRING_MORE)
			return;
		if (rc != NETSTRING_OK) {
			reply_pipe_failed(w, rc);
			return;
		}
		handle_frame(w, f, len);
	}
}

static void
rep_readable_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker	*w = io->data;
	unsigned char	 buf[WORKER_READ_CHUNK];
	ssize_t		 n;

	(void)revents;
	n = read(w->rep_fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	w->depth++;
	if (n <= 0) {
		/* EOF: the exit status, not the EOF, says whose fault it is;
		 * give the process a moment to be reaped. */
		ev_io_stop(loop, io);
		if (n == -1)
			worker_fail(w, WORKER_FAULT_IO, "reply pipe: %s",
			    strerror(errno));
		else if (!w->reaped) {
			w->eof = true;
			ev_timer_stop(loop, &w->deadline);
			ev_timer_set(&w->deadline, WORKER_EOF_GRACE, 0.);
			ev_timer_start(loop, &w->deadline);
		}
	} else if (netstring_decoder_feed(&w->dec, buf, (size_t)n) !=
	    NETSTRING_OK)
		reply_pipe_failed(w, w->dec.error ? w->dec.error :
		    NETSTRING_ENOMEM);
	else
		take_frames(w);
	w->depth--;
	worker_settle(w);
}

static void
worker_release(struct worker *w)
{
	if (w->released)
		return;
	w->released = true;
	LIST_INSERT_HEAD(&released, w, entry);
	nreleased++;
}

void
worker_stop(struct worker *w, double grace)
{
	worker_release(w);
	if (w->reaped) {
		worker_settle(w);
		return;
	}
	if (w->busy || w->fault != WORKER_FAULT_NONE || w->cmd_fd == -1) {
		worker_fail(w, WORKER_FAULT_EXIT_CLEAN, "stopped mid-command");
		return;
	}
	w->close_cmd = true;
	if (queue_frame(w, 'q', NULL, 0) == -1) {
		worker_fail(w, WORKER_FAULT_IO, "out of memory stopping");
		return;
	}
	ev_timer_stop(w->loop, &w->deadline);
	ev_timer_set(&w->deadline, grace > 0 ? grace : 0.001, 0.);
	ev_timer_start(w->loop, &w->deadline);
}

void
worker_kill(struct worker *w)
{
	worker_release(w);
	if (w->reaped)
		worker_settle(w);
	else
		worker_fail(w, WORKER_FAULT_SIGNAL, "killed by the kernel");
}

pid_t
worker_pid(const struct worker *w)
{
	return w->pid;
}

bool
worker_busy(const struct worker *w)
{
	return w->busy;
}

size_t
worker_zombies(void)
{
	return nreleased;
}
