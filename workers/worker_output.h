/*
 * worker_output.h — a worker's stdout or stderr, read on the loop and
 * logged line by line as "<label> <stream>: <line>".  Lines longer than
 * WORKER_OUTPUT_MAX_LINE are logged in pieces.  Private to workers/.
 */
#ifndef WORKERS_WORKER_OUTPUT_H
#define WORKERS_WORKER_OUTPUT_H

#include <stddef.h>

#include <ev.h>

#define WORKER_OUTPUT_MAX_LINE	4096

struct worker_output {
	struct ev_loop	*loop;
	ev_io		 io;
	int		 fd;		/* -1 once closed */
	const char	*label;		/* borrowed from the worker */
	const char	*stream;	/* "stdout" or "stderr" */
	char		 line[WORKER_OUTPUT_MAX_LINE + 1];
	size_t		 len;
};

/* Start reading fd (owned from now on).  -1 if fd is -1. */
int	worker_output_init(struct worker_output *o, struct ev_loop *loop,
	    int fd, const char *label, const char *stream);

/* Read what is there now, log it (with any partial last line) and close. */
void	worker_output_drain(struct worker_output *o);

/* Stop and close without reading. */
void	worker_output_clear(struct worker_output *o);

#endif
