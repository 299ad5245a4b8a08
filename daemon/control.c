/*
 * control.c — the control socket, end to end: check for a live daemon,
 * bind with mode 0660, accept, read newline-delimited requests, hand each
 * line to ops_dispatch(), queue and write replies, close.  It owns every
 * client connection and its buffers; it does not know what the ops mean.
 *
 * Rules a client cannot break: a line longer than max_line gets a
 * "line_too_long" error and the connection is closed after it; a client
 * that does not read its replies stops being read (backpressure) instead
 * of growing the daemon; replies go out in request order, because a
 * connection's next line is not looked at while a reply is pending.
 * Connections are freed only from the loop's prepare hook, never inside a
 * callback chain that may still touch them.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "protocol/log.h"

#define CTL_READ_CHUNK	(64 * 1024)
#define CTL_OUT_HIGH	(4 * 1024 * 1024)  /* stop reading above this */
#define CTL_OUT_LOW	(1 * 1024 * 1024)  /* resume below this */

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn) entry;
	struct control	*ctl;
	int		 fd;
	unsigned long	 serial;	/* for log lines */
	ev_io		 rio, wio;
	char		*in;		/* unprocessed input */
	size_t		 inlen, incap;
	size_t		 scanned;	/* in[0..scanned) holds no '\n' */
	char		*out;		/* queued output */
	size_t		 outlen, outoff, outcap;
	bool		 pending;	/* a request awaits its reply */
	bool		 close_after;	/* close once output is flushed */
	bool		 eof;		/* peer finished sending */
	bool		 dead;		/* reap in the prepare hook */
	bool		 processing;	/* inside conn_process() */
};

struct control {
	struct daemon	*d;
	int		 fd;
	char		*path;
	ev_io		 lio;
	ev_timer	 retry;		/* re-arm accept after EMFILE */
	bool		 starved;	/* out of descriptors: not accepting */
	ev_prepare	 reaper;
	size_t		 max_line, max_clients, nclients;
	unsigned long	 next_serial;
	TAILQ_HEAD(, ctl_conn) conns;
};

static void	conn_read_cb(struct ev_loop *, ev_io *, int);
static void	conn_write_cb(struct ev_loop *, ev_io *, int);
static void	conn_process(struct ctl_conn *);

static int
control_sockaddr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

/*
 * Is a daemon answering on path?  1: yes; 0: no (a stale socket file was
 * removed, or there was none); -1 with errno: the path is unusable.
 */
int
control_check(const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	int			 fd, rc;

	if (lstat(path, &sb) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(sb.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	if (control_sockaddr(path, &sun) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0)
		return 1;
	if (errno != ECONNREFUSED && errno != ENOENT)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	log_info("control", "removed stale socket %s", path);
	return 0;
}

static void
control_listen_update(struct control *c)
{
	bool want = c->fd != -1 && !c->d->stopping && !c->starved &&
	    c->nclients < c->max_clients;

	if (want && !ev_is_active(&c->lio))
		ev_io_start(c->d->loop, &c->lio);
	else if (!want && ev_is_active(&c->lio))
		ev_io_stop(c->d->loop, &c->lio);
}

static struct ctl_conn *
conn_new(struct control *c, int fd)
{
	struct ctl_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL)
		return NULL;
	conn->ctl = c;
	conn->fd = fd;
	conn->serial = ++c->next_serial;
	ev_io_init(&conn->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&conn->wio, conn_write_cb, fd, EV_WRITE);
	conn->rio.data = conn->wio.data = conn;
	TAILQ_INSERT_TAIL(&c->conns, conn, entry);
	c->nclients++;
	ev_io_start(c->d->loop, &conn->rio);
	return conn;
}

static void
conn_kill(struct ctl_conn *conn)
{
	struct ev_loop *loop = conn->ctl->d->loop;

	if (conn->dead)
		return;
	conn->dead = true;
	ev_io_stop(loop, &conn->rio);
	ev_io_stop(loop, &conn->wio);
}

static void
conn_free(struct ctl_conn *conn)
{
	struct control *c = conn->ctl;

	TAILQ_REMOVE(&c->conns, conn, entry);
	c->nclients--;
	close(conn->fd);
	free(conn->in);
	free(conn->out);
	free(conn);
}

static void
control_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct control *c = t->data;

	(void)loop;
	(void)revents;
	c->starved = false;
	control_listen_update(c);
}

/*
 * Out of descriptors: the pending connection stays in the backlog, and a
 * level-triggered watcher would fire again at once, so stop accepting for
 * a moment instead of spinning (and say so once per episode).
 */
static void
control_starve(struct control *c)
{
	if (!c->starved)
		log_warn("control", "accept: not accepting clients for 1 s");
	c->starved = true;
	ev_timer_stop(c->d->loop, &c->retry);
	ev_timer_set(&c->retry, 1.0, 0.);
	ev_timer_start(c->d->loop, &c->retry);
	control_listen_update(c);
}

static void
control_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control	*c = w->data;
	int		 fd;

	(void)loop;
	(void)revents;
	while (c->nclients < c->max_clients) {
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				control_starve(c);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("control", "accept");
			break;
		}
		if (conn_new(c, fd) == NULL) {
			log_warnx("control", "out of memory: dropping client");
			close(fd);
		}
	}
	control_listen_update(c);
}

/* The prepare hook: free dead connections; finish a pending stop. */
static void
control_reap_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct control	*c = w->data;
	struct ctl_conn	*conn, *next;

	(void)revents;
	for (conn = TAILQ_FIRST(&c->conns); conn != NULL; conn = next) {
		next = TAILQ_NEXT(conn, entry);
		if (conn->dead && !conn->pending)
			conn_free(conn);
	}
	control_listen_update(c);
	if (c->d->stopping && control_idle(c))
		ev_break(loop, EVBREAK_ALL);
}

struct control *
control_init(struct daemon *d, const char *path, size_t max_line,
    size_t max_clients)
{
	struct sockaddr_un	 sun;
	struct control		*c;
	mode_t			 old;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->d = d;
	c->fd = -1;
	c->max_line = max_line;
	c->max_clients = max_clients;
	TAILQ_INIT(&c->conns);
	if ((c->path = strdup(path)) == NULL ||
	    control_sockaddr(path, &sun) == -1)
		goto fail;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		goto fail;
	old = umask(0117);
	if (bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		goto fail;
	}
	umask(old);
	if (chmod(path, 0660) == -1 || listen(c->fd, SOMAXCONN) == -1)
		goto fail;
	ev_io_init(&c->lio, control_accept_cb, c->fd, EV_READ);
	c->lio.data = c;
	ev_timer_init(&c->retry, control_retry_cb, 1.0, 0.);
	c->retry.data = c;
	ev_prepare_init(&c->reaper, control_reap_cb);
	c->reaper.data = c;
	ev_prepare_start(d->loop, &c->reaper);
	control_listen_update(c);
	return c;
fail:
	log_warn("control", "listen on %s", path);
	if (c->fd != -1)
		close(c->fd);
	free(c->path);
	free(c);
	return NULL;
}

/* Stop accepting and remove the socket file; clients keep being served
 * until their replies are flushed. */
void
control_shutdown(struct control *c)
{
	if (c->fd == -1)
		return;
	if (ev_is_active(&c->lio))
		ev_io_stop(c->d->loop, &c->lio);
	close(c->fd);
	c->fd = -1;
	if (unlink(c->path) == -1 && errno != ENOENT)
		log_warn("control", "unlink %s", c->path);
}

void
control_free(struct control *c)
{
	struct ctl_conn *conn;

	if (c == NULL)
		return;
	control_shutdown(c);
	ev_timer_stop(c->d->loop, &c->retry);
	while ((conn = TAILQ_FIRST(&c->conns)) != NULL) {
		conn_kill(conn);
		conn_free(conn);
	}
	ev_prepare_stop(c->d->loop, &c->reaper);
	free(c->path);
	free(c);
}

size_t
control_client_count(const struct control *c)
{
	return c->nclients;
}

/* No connection has a reply pending or output left to write. */
bool
control_idle(const struct control *c)
{
	const struct ctl_conn *conn;

	TAILQ_FOREACH(conn, &c->conns, entry)
		if (!conn->dead && (conn->pending || conn->outoff < conn->outlen))
			return false;
	return true;
}

static bool
conn_has_line(const struct ctl_conn *conn)
{
	return conn->inlen > 0 && memchr(conn->in, '\n', conn->inlen) != NULL;
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
	}
	if (conn->outoff == conn->outlen) {
		conn->outoff = conn->outlen = 0;
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

static int
conn_append_out(struct ctl_conn *conn, const char *buf, size_t len)
{
	size_t	 need = conn->outlen + len, cap;
	char	*p;

	if (conn->outoff == conn->outlen) {
		conn->outoff = conn->outlen = 0;
		need = len;
	}
	if (need > conn->outcap) {
		cap = conn->outcap ? conn->outcap : 4096;
		while (cap < need)
			cap *= 2;
		if ((p = realloc(conn->out, cap)) == NULL)
			return -1;
		conn->out = p;
		conn->outcap = cap;
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

static bool
line_is_blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* Take whole lines from the input buffer while no reply is pending. */
static void
conn_process(struct ctl_conn *conn)
{
	struct control	*c = conn->ctl;
	size_t		 off = 0, len;
	char		*nl, msg[128];

	if (conn->in == NULL)
		return;
	conn->processing = true;
	while (!conn->dead && !conn->pending && !conn->close_after &&
	    conn->outlen - conn->outoff < CTL_OUT_HIGH) {
		nl = memchr(conn->in + off + conn->scanned, '\n',
		    conn->inlen - off - conn->scanned);
		if (nl == NULL) {
			conn->scanned = conn->inlen - off;
			if (conn->scanned > c->max_line)
				goto too_long;
			break;
		}
		len = (size_t)(nl - (conn->in + off));
		conn->scanned = 0;
		if (len > c->max_line)
			goto too_long;
		if (!line_is_blank(conn->in + off, len)) {
			conn->pending = true;
			ops_dispatch(c->d, conn, conn->in + off, len);
		}
		off += len + 1;
	}
	goto out;
too_long:
	snprintf(msg, sizeof(msg), "request line longer than %zu bytes; "
	    "closing the connection", c->max_line);
	log_warnx("control", "client %lu: %s", conn->serial, msg);
	conn->inlen = off = 0;
	conn->close_after = true;
	conn_reply_error(conn, CTL_E_LINE_TOO_LONG, msg);
out:
	conn->processing = false;
	if (off > 0) {
		memmove(conn->in, conn->in + off, conn->inlen - off);
		conn->inlen -= off;
	}
	if (conn->inlen == 0 && conn->incap > CTL_READ_CHUNK) {
		/* one long line must not pin its buffer for good */
		free(conn->in);
		conn->in = NULL;
		conn->incap = 0;
	}
	if (conn->dead)
		return;
	conn_flush(conn);
	if (!conn->dead)
		conn_read_update(conn);
}

static int
conn_grow_in(struct ctl_conn *conn)
{
	size_t	 limit = conn->ctl->max_line + CTL_READ_CHUNK + 1;
	size_t	 cap = conn->incap ? conn->incap * 2 : CTL_READ_CHUNK;
	char	*p;

	if (cap > limit)
		cap = limit;
	if (cap <= conn->incap)
		return 0;
	if ((p = realloc(conn->in, cap)) == NULL)
		return -1;
	conn->in = p;
	conn->incap = cap;
	return 0;
}

static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*conn = w->data;
	ssize_t		 n;

	(void)loop;
	(void)revents;
	if (conn->incap - conn->inlen < CTL_READ_CHUNK / 2 &&
	    conn_grow_in(conn) == -1) {
		log_warnx("control", "client %lu: out of memory; closing",
		    conn->serial);
		conn_kill(conn);
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
