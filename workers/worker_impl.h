/*
 * worker_impl.h — struct worker, shared by the files of one worker's
 * implementation: worker.c (process, commands, replies, exit) and
 * worker_snap.c (heap snapshot pipes and `w@7`).  Private to workers/.
 */
#ifndef WORKERS_WORKER_IMPL_H
#define WORKERS_WORKER_IMPL_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "protocol/netstring.h"
#include "workers/worker.h"
#include "workers/worker_output.h"
#include "workers/worker_snap.h"

struct worker {
	LIST_ENTRY(worker) entry;	/* on the released list */
	struct ev_loop	*loop;
	char		*label;
	char		*prog;		/* argv[0], for "cannot execute" */
	pid_t		 pid;
	int		 status_fd;	/* the exec verdict, until read; -1 */
	ev_io		 status_r;
	int		 cmd_fd, rep_fd;
	ev_io		 cmd_w, rep_r;
	ev_child	 child;
	ev_timer	 deadline;	/* command timeout, or kill grace */
	double		 timeout;
	double		 left;		/* deadline left while paused, or
					   -1 when not paused */
	struct netstring_decoder dec;
	unsigned char	*out;		/* queued bytes for fd 3 */
	size_t		 outlen, outoff, outcap;
	struct worker_output stdout_log, stderr_log;
	struct worker_snap_out snap_out; /* fd 7 */
	bool		 snapping;	/* `w@7` in flight */
	bool		 snap_paused;	/* the owner asked to stop reading */
	uint64_t	 snap_got;	/* bytes read from fd 7 for it */
	uint64_t	 snap_want;	/* the count its reply announced */
	unsigned char	*snap_reply;	/* that reply, held until snap_got
					   reaches snap_want */
	size_t		 snap_reply_len;
	const struct worker_callbacks *cb;
	void		*arg;
	bool		 busy;		/* a command is in flight */
	bool		 upcall;	/* an upcall awaits its answer */
	bool		 reaped;
	bool		 released;	/* the owner let go */
	bool		 close_cmd;	/* close fd 3 once flushed */
	bool		 eof;		/* fd 4 reached end of file */
	int		 depth;		/* callbacks on the stack */
	enum worker_fault fault;	/* first trouble seen, if any */
	char		*why;		/* its description */
	int		 status;	/* wait status once reaped */
};

/* worker.c */
void	worker_fail(struct worker *w, enum worker_fault f, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
void	worker_settle(struct worker *w);
void	worker_deliver_reply(struct worker *w, const unsigned char *f,
	    size_t len);

/* worker_snap.c */
void	worker_snap_reply(struct worker *w, const unsigned char *f,
	    size_t len);
void	worker_snap_got(void *arg, const unsigned char *bytes, size_t len,
	    int err);

#endif
