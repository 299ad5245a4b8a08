/*
 * client.c — one control connection's life, after control.c admitted it:
 * its buffers (counted against its pool's budget before each growth),
 * reading newline-delimited requests and handing each complete line to
 * ops_dispatch(), queueing and writing replies in request order (a client
 * that does not read them stops being read), the idle timer, the error
 * line that ends a connection (line_too_long, over_budget, idle_timeout),
 * and freeing — only from control.c's prepare hook.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/control_impl.h"
#include "protocol/log.h"

static void	conn_read_cb(struct ev_loop *, ev_io *, int);
static void	conn_write_cb(struct ev_loop *, ev_io *, int);
static void	conn_idle_cb(struct ev_loop *, ev_timer *, int);
static void	conn_process(struct ctl_conn *);
/* The budget conn's buffers count against. */
static size_t *
conn_used(struct ctl_conn *conn)
{
	return &conn->ctl->used[conn->producer ? CTL_POOL_PRODUCER :
	    CTL_POOL_ORDINARY];
}

/* How large one of conn's buffers, now cur bytes, may grow in budget. */
static size_t
conn_room(struct ctl_conn *conn, size_t cur)
{
	size_t others = *conn_used(conn) - cur, budget = conn->ctl->budget;

	return others >= budget ? 0 : budget - others;
}

/*
 * Give one of conn's buffers (*buf of *cap bytes) ncap bytes, 0 freeing
 * it, and count the change against its budget; -1 when out of memory.
 */
static int
conn_resize(struct ctl_conn *conn, char **buf, size_t *cap, size_t ncap)
{
	char *p = NULL;

	if (ncap == 0)
		free(*buf);
	else if ((p = realloc(*buf, ncap)) == NULL)
		return -1;
	*conn_used(conn) = *conn_used(conn) - *cap + ncap;
	*buf = p;
	*cap = ncap;
	return 0;
}

/*
 * Room to read into: the input buffer grows by a quarter, at least a read
 * chunk, up to a whole line plus a chunk and within the budget, so that
 * a partial line holds about what it has sent.  0: there is room;
 * CTL_GROW_FULL: the buffer is full and the budget allows no more; -1:
 * out of memory.
 */
static int
conn_grow_in(struct ctl_conn *conn)
{
	size_t	 limit = conn->ctl->max_line + CTL_READ_CHUNK + 1;
	size_t	 step = conn->incap / 4 > CTL_READ_CHUNK ? conn->incap / 4 :
		    CTL_READ_CHUNK;
	size_t	 cap = conn->incap + step, room = conn_room(conn, conn->incap);

	if (cap > limit)
		cap = limit;	/* a longer line is line_too_long first */
	if (cap > room)
		cap = room;
	if (cap <= conn->incap)
		return conn->inlen < conn->incap ? 0 : CTL_GROW_FULL;
	return conn_resize(conn, &conn->in, &conn->incap, cap);
}

/* ---- admission -------------------------------------------------------- */

struct ctl_conn *
conn_new(struct control *c, int fd, const struct ctl_peer *peer,
    bool producer)
{
	struct ctl_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL)
		return NULL;
	conn->ctl = c;
	conn->fd = fd;
	conn->serial = ++c->next_serial;
	conn->peer = *peer;
	conn->producer = producer;
	conn->active = ev_now(c->d->loop);
	ev_io_init(&conn->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&conn->wio, conn_write_cb, fd, EV_WRITE);
	ev_init(&conn->idle, conn_idle_cb);
	conn->idle.repeat = c->idle_timeout;
	conn->rio.data = conn->wio.data = conn->idle.data = conn;
	TAILQ_INSERT_TAIL(&c->conns, conn, entry);
	c->nclients++;
	ev_io_start(c->d->loop, &conn->rio);
	if (c->idle_timeout > 0)
		ev_timer_again(c->d->loop, &conn->idle);
	log_debug("control", "client %lu: pid %ld, uid %lu, gid %lu%s",
	    conn->serial, peer->pid, peer->uid, peer->gid,
	    producer ? " (producer)" : "");
	return conn;
}

void
conn_kill(struct ctl_conn *conn)
{
	struct ev_loop *loop = conn->ctl->d->loop;

	if (conn->dead)
		return;
	conn->dead = true;
	if (conn->bridge && conn->ctl->d->bridge_peer == conn)
		conn->ctl->d->bridge_peer = NULL;
	ev_io_stop(loop, &conn->rio);
	ev_io_stop(loop, &conn->wio);
	ev_timer_stop(loop, &conn->idle);
}

void
conn_free(struct ctl_conn *conn)
{
	struct control *c = conn->ctl;

	TAILQ_REMOVE(&c->conns, conn, entry);
	c->nclients--;
	if (close(conn->fd) == -1)
		log_debug("control", "client %lu: close: %s", conn->serial,
		    strerror(errno));
	(void)conn_resize(conn, &conn->in, &conn->incap, 0);
	(void)conn_resize(conn, &conn->out, &conn->outcap, 0);
	free(conn);
}

static bool
conn_has_line(const struct ctl_conn *conn)
{
	return conn->inlen > 0 && memchr(conn->in, '\n', conn->inlen) != NULL;
}

/* Progress: the idle timer counts from here. */
static void
conn_touch(struct ctl_conn *conn)
{
	conn->active = ev_now(conn->ctl->d->loop);
}

static void
conn_flush(struct ctl_conn *conn)
{
	struct ev_loop	*loop = conn->ctl->d->loop;
	ssize_t		 n;

	while (conn->outoff < conn->outlen) {
		n = send(conn->fd, conn->out + conn->outoff,
		    conn->outlen - conn->outoff, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			log_debug("control", "client %lu: send: %s",
			    conn->serial, strerror(errno));
			conn_kill(conn);
			return;
		}
		conn->outoff += (size_t)n;
		conn_touch(conn);
	}
	if (conn->outoff == conn->outlen) {
		/* an idle connection holds no buffer */
		conn->outoff = conn->outlen = 0;
		(void)conn_resize(conn, &conn->out, &conn->outcap, 0);
		if (ev_is_active(&conn->wio))
			ev_io_stop(loop, &conn->wio);
		if (conn->close_after ||
		    (conn->eof && !conn->pending && !conn_has_line(conn)))
			conn_kill(conn);
	} else if (!ev_is_active(&conn->wio))
		ev_io_start(loop, &conn->wio);
}

/* Read again only when the reply queue is short and no reply pends. */
static void
conn_read_update(struct ctl_conn *conn)
{
	struct ev_loop	*loop = conn->ctl->d->loop;
	size_t		 queued = conn->outlen - conn->outoff;
	bool		 want = !conn->dead && !conn->eof &&
			    !conn->close_after && !conn->pending &&
			    queued < (ev_is_active(&conn->rio) ?
			    CTL_OUT_HIGH : CTL_OUT_LOW);

	if (want && !ev_is_active(&conn->rio))
		ev_io_start(loop, &conn->rio);
	else if (!want && ev_is_active(&conn->rio))
		ev_io_stop(loop, &conn->rio);
}

/*
 * Replies are queued whatever the budget: the request was carried out
 * and its answer must not be lost.  The budget is checked before a
 * request is taken (conn_process), so it is passed by at most the
 * replies of requests taken while it was not, one per connection.
 */
static int
conn_append_out(struct ctl_conn *conn, const char *buf, size_t len)
{
	size_t	 need = conn->outlen + len, cap;

	if (conn->outoff == conn->outlen) {
		conn->outoff = conn->outlen = 0;
		need = len;
	}
	if (need > conn->outcap) {
		cap = conn->outcap ? conn->outcap : 4096;
		while (cap < need)
			cap *= 2;
		if (conn_resize(conn, &conn->out, &conn->outcap, cap) == -1)
			return -1;
	}
	memcpy(conn->out + conn->outlen, buf, len);
	conn->outlen += len;
	return 0;
}

/*
 * Queue [in] line (len bytes, ending in '\n'; ownership passes here) as the
 * reply to the connection's pending request, then carry on with the
 * connection's next buffered request.
 */
void
control_reply(struct ctl_conn *conn, char *line, size_t len)
{
	conn->pending = false;
	conn_touch(conn);
	if (line == NULL) {
		log_warnx("control", "client %lu: out of memory building a "
		    "reply; closing", conn->serial);
		conn_kill(conn);
	} else if (!conn->dead && conn_append_out(conn, line, len) == -1) {
		log_warnx("control", "client %lu: out of memory queueing a "
		    "reply; closing", conn->serial);
		conn_kill(conn);
	}
	free(line);
	if (conn->dead)
		return;
	/* A reply given later than its request resumes the connection;
	 * one given from inside conn_process() lets that loop go on. */
	if (!conn->processing)
		conn_process(conn);
	if (!conn->dead)
		conn_flush(conn);
}

int
control_push(struct ctl_conn *conn, const char *line, size_t len)
{
	if (conn->dead || conn->close_after)
		return -1;
	if (conn_append_out(conn, line, len) == -1) {
		log_warnx("control", "client %lu: out of memory queueing a "
		    "bridge request; closing", conn->serial);
		conn_kill(conn);
		return -1;
	}
	conn_flush(conn);
	return conn->dead ? -1 : 0;
}

void
control_conn_set_bridge(struct ctl_conn *conn, bool bridge)
{
	conn->bridge = bridge;
}

void
control_close_after_reply(struct ctl_conn *conn)
{
	conn->close_after = true;
}

static void
conn_reply_error(struct ctl_conn *conn, enum ctl_code code, const char *msg)
{
	size_t	 len = 0;
	char	*line = ctl_response_error(NULL, code, msg, &len);

	conn->pending = true;
	control_reply(conn, line, len);
}

/*
 * Refuse the connection with code: drop its unread input, log the peer,
 * answer one error line and close once it is written.  Not while a
 * request is pending (its reply comes first; no caller does).
 */
static void
conn_refuse(struct ctl_conn *conn, enum ctl_code code, const char *msg)
{
	log_warnx("control", "client %lu (pid %ld, uid %lu): %s: %s",
	    conn->serial, conn->peer.pid, conn->peer.uid,
	    ctl_code_name(code), msg);
	conn->inlen = conn->scanned = 0;
	(void)conn_resize(conn, &conn->in, &conn->incap, 0);
	conn->close_after = true;
	conn_reply_error(conn, code, msg);
}

static void
conn_refuse_budget(struct ctl_conn *conn)
{
	char msg[192];

	snprintf(msg, sizeof(msg), "the daemon's buffers for %s clients are "
	    "full (daemon.clientBufferBudget, %zu bytes): request refused; "
	    "try again later", conn->producer ? "producer" : "ordinary",
	    conn->ctl->budget);
	conn_refuse(conn, CTL_E_OVER_BUDGET, msg);
}

/*
 * No request in progress and none completed for idle_timeout: refuse the
 * connection, and close it even if it does not read the error line.
 */
static void
conn_idle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctl_conn	*conn = t->data;
	struct control	*c = conn->ctl;
	ev_tstamp	 left = conn->active + c->idle_timeout - ev_now(loop);
	char		 msg[128];

	(void)revents;
	if (conn->close_after && !conn->pending) {
		conn_kill(conn);	/* refused already, the line unread */
		return;
	}
	if (conn->pending || conn->bridge || left > 0.) {
		t->repeat = conn->pending ? c->idle_timeout : left;
		ev_timer_again(loop, t);
		return;
	}
	snprintf(msg, sizeof(msg), "no complete request in %llu ms "
	    "(daemon.clientIdleTimeoutMs); closing the connection",
	    (unsigned long long)c->cd->client_idle_timeout_ms);
	conn_refuse(conn, CTL_E_IDLE_TIMEOUT, msg);
	conn_kill(conn);
}

static bool
line_is_blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* Drop the first off bytes of input; an emptied buffer is freed. */
static void
conn_consume(struct ctl_conn *conn, size_t off)
{
	if (off > 0) {
		memmove(conn->in, conn->in + off, conn->inlen - off);
		conn->inlen -= off;
	}
	if (conn->inlen == 0)
		(void)conn_resize(conn, &conn->in, &conn->incap, 0);
}

/* What conn_take_lines() stopped at, besides a lack of whole lines. */
enum ctl_take { CTL_TAKE_OK, CTL_TAKE_TOO_LONG, CTL_TAKE_OVER_BUDGET };

/*
 * Take whole lines from the input buffer while no reply is pending.
 * Returns the number of bytes taken; *why says whether the connection
 * must be refused.
 */
static size_t
conn_take_lines(struct ctl_conn *conn, enum ctl_take *why)
{
	struct control	*c = conn->ctl;
	size_t		 off = 0, len;
	char		*nl;

	while (!conn->dead && !conn->pending && !conn->close_after &&
	    conn->outlen - conn->outoff < CTL_OUT_HIGH) {
		nl = memchr(conn->in + off + conn->scanned, '\n',
		    conn->inlen - off - conn->scanned);
		len = nl ? (size_t)(nl - (conn->in + off)) :
		    conn->inlen - off;
		if (len > c->max_line) {
			*why = CTL_TAKE_TOO_LONG;
			break;
		}
		if (nl == NULL) {
			conn->scanned = len;
			break;
		}
		conn->scanned = 0;
		conn_touch(conn);
		if (!line_is_blank(conn->in + off, len)) {
			if (*conn_used(conn) > c->budget) {
				*why = CTL_TAKE_OVER_BUDGET;
				break;
			}
			conn->pending = true;
			ops_dispatch(c->d, conn, conn->in + off, len);
		}
		off += len + 1;
	}
	return off;
}

static void
conn_process(struct ctl_conn *conn)
{
	enum ctl_take	 why = CTL_TAKE_OK;
	char		 msg[128];
	size_t		 off = 0;

	/* With no input buffered this only resumes reading. */
	if (conn->in != NULL) {
		conn->processing = true;
		off = conn_take_lines(conn, &why);
		conn->processing = false;
	}
	if (conn->dead)
		return;
	conn_consume(conn, off);
	if (why == CTL_TAKE_OVER_BUDGET)
		conn_refuse_budget(conn);
	else if (why == CTL_TAKE_TOO_LONG) {
		snprintf(msg, sizeof(msg), "request line longer than %zu "
		    "bytes; closing the connection", conn->ctl->max_line);
		conn_refuse(conn, CTL_E_LINE_TOO_LONG, msg);
	}
	if (conn->dead)
		return;
	conn_flush(conn);
	if (!conn->dead)
		conn_read_update(conn);
}

static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*conn = w->data;
	ssize_t		 n;
	int		 rc = 0;

	(void)loop;
	(void)revents;
	if (conn->incap - conn->inlen < CTL_READ_CHUNK / 2)
		rc = conn_grow_in(conn);
	if (rc == -1) {
		log_warnx("control", "client %lu: out of memory; closing",
		    conn->serial);
		conn_kill(conn);
		return;
	}
	if (rc == CTL_GROW_FULL) {
		conn_refuse_budget(conn);
		return;
	}
	n = read(conn->fd, conn->in + conn->inlen, conn->incap - conn->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n == -1)
			log_debug("control", "client %lu: read: %s",
			    conn->serial, strerror(errno));
		/* A partial last line is dropped: it was never a request. */
		conn->eof = true;
		ev_io_stop(conn->ctl->d->loop, &conn->rio);
		conn_flush(conn);
		return;
	}
	conn->inlen += (size_t)n;
	conn_process(conn);
}

static void
conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn *conn = w->data;

	(void)loop;
	(void)revents;
	conn_flush(conn);
	if (conn->dead)
		return;
	/* Lines left waiting at the high-water mark go on once drained. */
	if (conn->outlen - conn->outoff < CTL_OUT_LOW && conn_has_line(conn))
		conn_process(conn);
	else
		conn_read_update(conn);
}

bool
control_conn_is_producer(const struct ctl_conn *conn)
{
	return conn->producer;
}
