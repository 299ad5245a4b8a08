/*
 * bench_statuslat.c — how long a running swingsetd takes to answer
 * `status` while something else keeps it busy (bench/snapshot_bench.py).
 * One connection, one thread, no interpreter in the way: a request is
 * sent every INTERVAL_US microseconds whether or not the earlier ones
 * were answered (open-loop: a stall of the daemon counts for every
 * request that arrives during it), and each answer (one line, in order)
 * is timed from its request's sending.  Sending stops when stdin reaches
 * its end; the answers still owed are awaited for up to 10 s.  Then it
 * prints one line per request, the microseconds to its answer, or -1 for
 * one never answered, and exits 0 (1 if an answer was not ok).
 *
 * Usage: bench_statuslat SOCKET INTERVAL_US  (stdin: close it to stop)
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUESTS	(1 << 20)
#define TAIL_WAIT_US	10000000

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un	 sa = { .sun_family = AF_UNIX };
	int			 fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bench_statuslat: socket path too long\n");
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		fprintf(stderr, "bench_statuslat: %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static int
send_request(int fd, long id)
{
	char	 req[64];
	int	 n = snprintf(req, sizeof(req), "{\"id\":%ld,\"op\":\"status\"}\n",
		    id);
	ssize_t	 w;

	for (int off = 0; off < n; off += (int)w) {
		w = write(fd, req + off, (size_t)(n - off));
		if (w == -1 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0) {
			fprintf(stderr, "bench_statuslat: write: %s\n",
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int64_t		*sent, *took, interval, next, deadline = 0;
	long		 nsent = 0, nanswered = 0;
	char		 buf[65536], head[32];
	size_t		 headlen = 0;
	bool		 sending = true, bad = false;
	int		 fd, timeout;
	ssize_t		 n;

	if (argc != 3 || (interval = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: bench_statuslat SOCKET INTERVAL_US\n");
		return 64;
	}
	sent = calloc(MAX_REQUESTS, sizeof(*sent));
	took = calloc(MAX_REQUESTS, sizeof(*took));
	if (sent == NULL || took == NULL || (fd = connect_to(argv[1])) == -1)
		return 1;
	next = now_us();
	while (nanswered < nsent || sending) {
		struct pollfd	 p[2] = { { .fd = fd, .events = POLLIN },
				    { .fd = 0, .events = POLLIN } };
		int64_t		 t = now_us();

		if (sending && t >= next) {
			if (nsent == MAX_REQUESTS || send_request(fd, nsent) ==
			    -1)
				return 1;
			sent[nsent++] = now_us();
			next += interval;
			continue;
		}
		if (!sending && t >= deadline)
			break;
		timeout = (int)(((sending ? next : deadline) - t + 999) / 1000);
		if (poll(p, sending ? 2 : 1, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bench_statuslat: poll: %s\n",
			    strerror(errno));
			return 1;
		}
		if (sending && (p[1].revents & (POLLIN | POLLHUP)) &&
		    (n = read(0, buf, sizeof(buf))) <= 0) {
			sending = false;	/* stdin ended: stop asking */
			deadline = now_us() + TAIL_WAIT_US;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		if ((n = read(fd, buf, sizeof(buf))) <= 0) {
			fprintf(stderr, "bench_statuslat: the daemon closed the "
			    "connection\n");
			break;
		}
		t = now_us();
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (headlen < sizeof(head))
					head[headlen++] = buf[i];
				continue;
			}
			/* {"id":N,"ok":true,…: the answers come in order */
			if (memmem(head, headlen, "\"ok\":true", 9) == NULL)
				bad = true;
			if (nanswered < nsent) {
				took[nanswered] = t - sent[nanswered];
				nanswered++;
			}
			headlen = 0;
		}
	}
	for (long i = 0; i < nsent; i++)
		printf("%lld\n", i < nanswered ? (long long)took[i] : -1LL);
	close(fd);
	free(sent);
	free(took);
	if (bad)
		fprintf(stderr, "bench_statuslat: a status answer was not ok\n");
	return bad ? 1 : 0;
}
