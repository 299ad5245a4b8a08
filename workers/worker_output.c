/*
 * worker_output.c — logging what a worker writes on stdout and stderr,
 * one log line per output line, under the worker's label.  The bytes are
 * the worker's, so they are logged as they are, bounded in length; they
 * never reach kernel state.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "protocol/log.h"
#include "workers/worker_output.h"

static void
emit(struct worker_output *o)
{
	o->line[o->len] = '\0';
	log_info("worker", "%s %s: %s", o->label, o->stream, o->line);
	o->len = 0;
}

static void
take(struct worker_output *o, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			emit(o);
			continue;
		}
		o->line[o->len++] = p[i];
		if (o->len == WORKER_OUTPUT_MAX_LINE)
			emit(o);
	}
}

/* Read once; 1 = more may come, 0 = EOF or error (closed). */
static int
read_some(struct worker_output *o)
{
	char	 buf[8192];
	ssize_t	 n = read(o->fd, buf, sizeof(buf));

	if (n > 0) {
		take(o, buf, (size_t)n);
		return 1;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return errno == EINTR;
	if (o->len > 0)
		emit(o);
	worker_output_clear(o);
	return 0;
}

static void
readable_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	read_some(io->data);
}

int
worker_output_init(struct worker_output *o, struct ev_loop *loop, int fd,
    const char *label, const char *stream)
{
	memset(o, 0, sizeof(*o));
	o->loop = loop;
	o->fd = fd;
	o->label = label;
	o->stream = stream;
	if (fd == -1)
		return -1;
	ev_io_init(&o->io, readable_cb, fd, EV_READ);
	o->io.data = o;
	ev_io_start(loop, &o->io);
	return 0;
}

void
worker_output_drain(struct worker_output *o)
{
	int more = 1;

	for (int i = 0; o->fd != -1 && more && i < 64; i++)
		more = read_some(o);
	if (o->fd != -1 && o->len > 0)
		emit(o);
	worker_output_clear(o);
}

void
worker_output_clear(struct worker_output *o)
{
	if (o->fd == -1)
		return;
	if (o->loop != NULL)
		ev_io_stop(o->loop, &o->io);
	close(o->fd);
	o->fd = -1;
}
