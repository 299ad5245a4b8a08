/*
 * spawn.h — starting a worker process with exactly the descriptors the
 * protocol gives it: 0 = /dev/null, 1 = stdout pipe, 2 = stderr pipe,
 * 3 = commands (kernel → worker), 4 = replies (worker → kernel), and
 * nothing else.  Private to workers/.
 */
#ifndef WORKERS_SPAWN_H
#define WORKERS_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct spawn_result {
	pid_t	pid;
	int	cmd_fd;		/* our end of fd 3: write commands here */
	int	rep_fd;		/* our end of fd 4: read replies here */
	int	out_fd;		/* the child's stdout */
	int	err_fd;		/* the child's stderr */
};

/*
 * Fork and exec argv[0] (a path) with argv.  Our four ends are
 * non-blocking and close-on-exec.  Returns 0, or -1 with a message in
 * errbuf; an exec failure is reported here (not as a child exit), with the
 * child already reaped.
 */
int	spawn_process(const char *const *argv, struct spawn_result *res,
	    char *errbuf, size_t errlen);

#endif
