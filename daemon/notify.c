/*
 * notify.c — the systemd notification protocol (sd_notify(3)) without
 * libsystemd: one datagram to $NOTIFY_SOCKET, a filesystem path or, with a
 * leading '@', an abstract socket.  No NOTIFY_SOCKET means not under
 * systemd: nothing to do.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "protocol/log.h"

int
notify_systemd(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	size_t			 plen;
	socklen_t		 alen;
	int			 fd, rc = -1;

	if (path == NULL || *path == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path)) {
		log_warnx("notify", "NOTIFY_SOCKET '%s' is not a usable address",
		    path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify", "socket");
		return -1;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, alen) == -1)
		log_warn("notify", "sendto %s", path);
	else
		rc = 0;
	close(fd);
	return rc;
}
