/*
 * worker_snap.h — a worker's heap snapshot pipes, on the loop: streaming a
 * snapshot from a file into the worker's fd 8 (`-r @8:…`), and reading
 * what the worker writes to its fd 7 (`w@7`).  Embedded in struct worker
 * (worker_impl.h); the `w@7` command itself is in worker_snap.c too.
 * Private to workers/.
 */
#ifndef WORKERS_WORKER_SNAP_H
#define WORKERS_WORKER_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#define WORKER_SNAP_CHUNK	(64 * 1024)

/* fd 8: the file's bytes, written to the pipe as it drains. */
struct worker_snap_in {
	struct ev_loop	*loop;
	ev_io		 io;
	int		 pipe_fd;	/* our end of fd 8; -1 when done */
	int		 src_fd;	/* the snapshot file; -1 when done */
	const char	*label;		/* borrowed from the worker */
	unsigned char	*buf;		/* WORKER_SNAP_CHUNK bytes */
	size_t		 len, off;	/* unwritten bytes: buf[off..len) */
	uint64_t	 sent;
};

/*
 * Start streaming src_fd (read from its current offset) into pipe_fd.
 * Both are owned from now on, and closed at the end of the file (the
 * worker then sees EOF after the last byte), on an error (logged; the
 * worker then fails to restore and exits), or by worker_snap_in_clear().
 * -1 (both closed) when memory runs out.
 */
int	worker_snap_in_start(struct worker_snap_in *in, struct ev_loop *loop,
	    int pipe_fd, int src_fd, const char *label);
void	worker_snap_in_clear(struct worker_snap_in *in);

/* fd 7: each read handed to a callback. */
struct worker_snap_out {
	struct ev_loop	*loop;
	ev_io		 io;
	int		 fd;		/* our end of fd 7, or -1 */
	/* bytes read (len > 0), end of file (len 0, bytes NULL), or a read
	 * error (len 0, bytes NULL, err = errno) */
	void		(*got)(void *arg, const unsigned char *bytes,
			    size_t len, int err);
	void		*arg;
};

/* Take fd (owned; -1 for a worker without fd 7).  Reading starts with
 * worker_snap_out_watch(…, true). */
void	worker_snap_out_init(struct worker_snap_out *o, struct ev_loop *loop,
	    int fd, void (*got)(void *, const unsigned char *, size_t, int),
	    void *arg);
void	worker_snap_out_watch(struct worker_snap_out *o, bool on);
void	worker_snap_out_clear(struct worker_snap_out *o);

#endif
