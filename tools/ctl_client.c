/*
 * ctl_client.c — swingctl's side of the control socket.  Blocking I/O with
 * poll(2) timeouts: one request out, one line back, matched by id — or an
 * error with a null id: the daemon refusing the connection (denied,
 * too_many_clients, …), which it may have closed before our request.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/control_msg.h"
#include "tools/ctl_client.h"

#define CTL_CLIENT_MAX_REPLY	(256 * 1024 * 1024)

int
ctl_client_connect(struct ctl_client *c, const char *path, char *errbuf,
    size_t errlen)
{
	struct sockaddr_un sun;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->next_id = 1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(errbuf, errlen, "socket path too long: %s", path);
		return CTL_CLIENT_NODAEMON;
	}
	strcpy(sun.sun_path, path);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		return CTL_CLIENT_EIO;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(errbuf, errlen, "no swingsetd answers on %s: %s",
		    path, strerror(errno));
		close(c->fd);
		c->fd = -1;
		return CTL_CLIENT_NODAEMON;
	}
	return CTL_CLIENT_OK;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until buf holds a '\n'; returns the line length or -1. */
static long
read_line(struct ctl_client *c, int timeout_ms, char *errbuf, size_t errlen)
{
	struct pollfd	 pfd = { .fd = c->fd, .events = POLLIN };
	char		*nl, *p;
	ssize_t		 n;
	int		 rc;

	while ((nl = c->len ? memchr(c->buf, '\n', c->len) : NULL) == NULL) {
		if (c->cap - c->len < 4096) {
			if (c->cap >= CTL_CLIENT_MAX_REPLY) {
				snprintf(errbuf, errlen, "reply too long");
				return -1;
			}
			p = realloc(c->buf, c->cap ? c->cap * 2 : 65536);
			if (p == NULL) {
				snprintf(errbuf, errlen, "out of memory");
				return -1;
			}
			c->buf = p;
			c->cap = c->cap ? c->cap * 2 : 65536;
		}
		rc = poll(&pfd, 1, timeout_ms);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == 0) {
			snprintf(errbuf, errlen, "no reply within %d ms",
			    timeout_ms);
			return -1;
		}
		if (rc < 0) {
			snprintf(errbuf, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(errbuf, errlen, "the daemon closed the "
			    "connection before replying");
			return -1;
		}
		c->len += (size_t)n;
	}
	return (long)(nl - c->buf);
}

int
ctl_client_call(struct ctl_client *c, const char *op, json_t *fields,
    int timeout_ms, json_t **resp, char *errbuf, size_t errlen)
{
	json_t		*id = json_integer(c->next_id++);
	json_error_t	 jerr;
	size_t		 len;
	char		*req = ctl_request_build(id, op, fields, &len);
	long		 n;
	int		 rc = CTL_CLIENT_EIO, send_errno = 0;

	*resp = NULL;
	if (req == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	/* On a refused connection the send may fail: read its error line. */
	if (write_all(c->fd, req, len) == -1)
		send_errno = errno;
	if ((n = read_line(c, timeout_ms, errbuf, errlen)) < 0) {
		if (send_errno != 0)
			snprintf(errbuf, errlen, "send: %s",
			    strerror(send_errno));
		goto out;
	}
	*resp = json_loadb(c->buf, (size_t)n, 0, &jerr);
	memmove(c->buf, c->buf + n + 1, c->len - (size_t)n - 1);
	c->len -= (size_t)n + 1;
	rc = CTL_CLIENT_EPROTO;
	if (*resp == NULL || !json_is_object(*resp) ||
	    !json_is_boolean(json_object_get(*resp, "ok")) ||
	    (!json_equal(json_object_get(*resp, "id"), id) &&
	    !(json_is_null(json_object_get(*resp, "id")) &&
	    json_is_false(json_object_get(*resp, "ok"))))) {
		snprintf(errbuf, errlen, "the daemon's reply is not a response "
		    "to this request%s%s", *resp ? "" : ": ",
		    *resp ? "" : jerr.text);
		json_decref(*resp);
		*resp = NULL;
		goto out;
	}
	rc = CTL_CLIENT_OK;
out:
	free(req);
	json_decref(id);
	return rc;
}

void
ctl_client_close(struct ctl_client *c)
{
	if (c->fd != -1)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
