/*
 * spawn.h — starting a worker process with exactly the descriptors the
 * protocol gives it: 0 = /dev/null, 1 = stdout pipe, 2 = stderr pipe,
 * 3 = commands (kernel → worker), 4 = replies (worker → kernel), and, on
 * request, the heap snapshot pipe 7 (worker → kernel, for `w@7`) and a
 * snapshot to restore from on 8 (a file the caller opened, for
 * `-r @8:…`); nothing else.  Private to workers/.
 */
#ifndef WORKERS_SPAWN_H
#define WORKERS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The optional descriptors. */
struct spawn_options {
	bool	snap_out;	/* fd 7: a pipe the worker writes snapshots to */
	int	snap_in_fd;	/* becomes fd 8 (the caller keeps its own
				   copy), or -1 */
};

struct spawn_result {
	pid_t	pid;
	int	status_fd;	/* the exec verdict: spawn_verdict() */
	int	cmd_fd;		/* our end of fd 3: write commands here */
	int	rep_fd;		/* our end of fd 4: read replies here */
	int	out_fd;		/* the child's stdout */
	int	err_fd;		/* the child's stderr */
	int	snap_out_fd;	/* our (read) end of fd 7, or -1 */
};

/*
 * Fork and exec argv[0] (a path) with argv and the descriptors opt asks
 * for (NULL: only 0–4).  Our ends, status_fd among them, are non-blocking
 * and close-on-exec, and ours to close.  Returns 0 once the child is
 * forked, without waiting for its exec; -1 with a message in errbuf when
 * it cannot be (pipes, fork).
 */
int	spawn_process(const char *const *argv, const struct spawn_options *opt,
	    struct spawn_result *res, char *errbuf, size_t errlen);

/*
 * Read the exec verdict from status_fd (non-blocking): SPAWN_PENDING (not
 * yet: wait until it is readable), SPAWN_EXECUTED (end of file: the
 * program runs), or SPAWN_FAILED with *err the exec's errno (EPROTO for a
 * garbled verdict).  The child of a failed exec exits 127.
 */
#define SPAWN_PENDING	0
#define SPAWN_EXECUTED	1
#define SPAWN_FAILED	2
int	spawn_verdict(int status_fd, int *err);

#endif
