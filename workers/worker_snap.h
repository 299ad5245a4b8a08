/*
 * worker_snap.h — a worker's heap snapshot pipe, on the loop: reading what
 * the worker writes to its fd 7 (`w@7`).  Embedded in struct worker
 * (worker_impl.h); the `w@7` command itself is in worker_snap.c too.  (A
 * restore, `-r @8:…`, gives the worker the snapshot file itself as fd 8:
 * nothing to pump.)  Private to workers/.
 */
#ifndef WORKERS_WORKER_SNAP_H
#define WORKERS_WORKER_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#define WORKER_SNAP_CHUNK	(64 * 1024)

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
