/*
 * control.c — the control socket: check for a live daemon, bind with
 * mode 0660, accept and admit (the peer check, the slots), and free the
 * connections from the loop's prepare hook; each admitted connection's
 * life — buffers, requests, replies, its idle timer — is client.c's.
 * Neither knows what the ops mean (ops.c does).
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

#include "daemon/control_impl.h"
#include "protocol/log.h"

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
