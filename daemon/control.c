/*
 * control.c — the control socket, end to end: check for a live daemon,
 * bind with mode 0660, accept and admit, read newline-delimited requests,
 * hand each line to ops_dispatch(), queue and write replies, close.  It
 * owns every client connection, its buffers and its idle timer; it does
 * not know what the ops mean.
 *
 * Rules a client cannot break: a peer whose uid (or primary gid) the
 * configuration does not allow gets "denied" and is closed at accept; an
 * ordinary client finding maxClients slots in use gets
 * "too_many_clients", while reservedClients more slots stay for peers in
 * producerUids; a line longer than max_line gets "line_too_long"; the
 * buffers of all ordinary clients together (partial requests and queued
 * replies) stay within clientBufferBudget, the producers' within as much
 * again, and a request that would pass it gets "over_budget"; a
 * connection with no request in progress that completes no request for
 * clientIdleTimeoutMs gets "idle_timeout".  Each of these closes the
 * connection after its error line.  A client that does not read its
 * replies stops being read (backpressure) instead of growing the daemon;
 * replies go out in request order, because a connection's next line is
 * not looked at while a reply is pending.  Connections are freed only
 * from the loop's prepare hook, never inside a callback chain that may
 * still touch them.
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

#include "daemon/daemon.h"
#include "protocol/log.h"

#define CTL_READ_CHUNK	(64 * 1024)
#define CTL_OUT_HIGH	(4 * 1024 * 1024)  /* stop reading above this */
#define CTL_OUT_LOW	(1 * 1024 * 1024)  /* resume below this */
#define CTL_GROW_FULL	1	/* conn_grow_in: the budget allows no more */

/* Buffer budgets: ordinary clients share one, producers another. */
enum { CTL_POOL_ORDINARY, CTL_POOL_PRODUCER, CTL_NPOOLS };

struct ctl_peer {		/* from SO_PEERCRED at accept */
	long		 pid;
	unsigned long	 uid, gid;
};

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn) entry;
	struct control	*ctl;
	int		 fd;
	unsigned long	 serial;	/* for log lines */
	struct ctl_peer	 peer;
	bool		 producer;	/* peer uid in producerUids */
	ev_io		 rio, wio;
	ev_timer	 idle;		/* fires idle_timeout after progress */
	ev_tstamp	 active;	/* last progress: a complete line, a
					   reply queued, reply bytes sent */
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
	const struct config_daemon *cd;	/* the peer lists; outlives us */
	int		 fd;
	char		*path;
	ev_io		 lio;
	ev_timer	 retry;		/* re-arm accept after EMFILE */
	bool		 starved;	/* out of descriptors: not accepting */
	ev_prepare	 reaper;
	size_t		 max_line, max_clients, nclients;
	size_t		 reserved;	/* slots past max_clients, producers
					   only */
	size_t		 budget;	/* bytes, per pool */
	size_t		 used[CTL_NPOOLS]; /* buffer bytes allocated */
	ev_tstamp	 idle_timeout;	/* seconds; 0: never */
	unsigned long	 next_serial;
	TAILQ_HEAD(, ctl_conn) conns;
};

static void	conn_read_cb(struct ev_loop *, ev_io *, int);
static void	conn_write_cb(struct ev_loop *, ev_io *, int);
static void	conn_idle_cb(struct ev_loop *, ev_timer *, int);
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
	    c->nclients < c->max_clients + c->reserved;

	if (want && !ev_is_active(&c->lio))
		ev_io_start(c->d->loop, &c->lio);
	else if (!want && ev_is_active(&c->lio))
		ev_io_stop(c->d->loop, &c->lio);
}

/* ---- buffers and their budget ----------------------------------------- */

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

static bool
ids_have(const struct config_ids *ids, unsigned long id)
{
	for (size_t i = 0; i < ids->n; i++)
		if (ids->v[i] == id)
			return true;
	return false;
}

/*
 * Refuse a connection that has no slot: one error line, sent only if the
 * socket takes it at once (it is empty, so it does), then close.
 */
static void
control_refuse_fd(int fd, const struct ctl_peer *p, enum ctl_code code,
    const char *msg)
{
	size_t	 len = 0;
	char	*line = ctl_response_error(NULL, code, msg, &len);

	log_warnx("control", "refused a client (pid %ld, uid %lu, gid %lu): "
	    "%s: %s", p->pid, p->uid, p->gid, ctl_code_name(code), msg);
	if (line != NULL && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT)
	    == -1)
		log_debug("control", "refused client: send: %s",
		    strerror(errno));
	free(line);
	if (close(fd) == -1)
		log_debug("control", "refused client: close: %s",
		    strerror(errno));
}

static struct ctl_conn *
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

/*
 * Who is it, may it connect, and is there a slot for it?  Producers (uid
 * in producerUids) may also take the reserved slots past maxClients; the
 * accept loop stops at maxClients + reservedClients.
 */
static void
control_admit(struct control *c, int fd)
{
	struct ucred	 cr;
	socklen_t	 crlen = sizeof(cr);
	struct ctl_peer	 p = { -1, (unsigned long)-1, (unsigned long)-1 };
	bool		 producer;
	char		 msg[192];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1) {
		log_warn("control", "SO_PEERCRED");
		control_refuse_fd(fd, &p, CTL_E_DENIED, "who you are is unknown");
		return;
	}
	p.pid = (long)cr.pid;
	p.uid = (unsigned long)cr.uid;
	p.gid = (unsigned long)cr.gid;
	producer = ids_have(&c->cd->producer_uids, p.uid);
	if (!producer && !ids_have(&c->cd->allowed_uids, p.uid) &&
	    !ids_have(&c->cd->allowed_gids, p.gid)) {
		snprintf(msg, sizeof(msg), "uid %lu, gid %lu may not use this "
		    "socket (daemon.allowedUids, allowedGids, producerUids)",
		    p.uid, p.gid);
		control_refuse_fd(fd, &p, CTL_E_DENIED, msg);
	} else if (!producer && c->nclients >= c->max_clients) {
		snprintf(msg, sizeof(msg), "all %zu client slots are in use "
		    "(daemon.maxClients); try again later", c->max_clients);
		control_refuse_fd(fd, &p, CTL_E_TOO_MANY_CLIENTS, msg);
	} else if (conn_new(c, fd, &p, producer) == NULL) {
		log_warnx("control", "out of memory: dropping client");
		if (close(fd) == -1)
			log_debug("control", "close: %s", strerror(errno));
	}
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
	ev_timer_stop(loop, &conn->idle);
}

static void
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
	while (c->nclients < c->max_clients + c->reserved) {
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
		control_admit(c, fd);
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

/*
 * max_line and max_clients as given (main fits the latter to the
 * descriptor limit); the other limits and the peer lists are read from
 * d->cfg->daemon, which must outlive the control socket.
 */
struct control *
control_init(struct daemon *d, const char *path, size_t max_line,
    size_t max_clients)
{
	const struct config_daemon *cd = &d->cfg->daemon;
	struct sockaddr_un	 sun;
	struct control		*c;
	mode_t			 old;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->d = d;
	c->cd = cd;
	c->fd = -1;
	c->max_line = max_line;
	c->max_clients = max_clients;
	c->reserved = cd->reserved_clients;
	c->budget = cd->client_buffer_budget;
	c->idle_timeout = (ev_tstamp)cd->client_idle_timeout_ms / 1000.;
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
	if (conn->pending || left > 0.) {
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
