/*
 * spawn.c — fork and exec a worker with the protocol's descriptors and
 * nothing else: the child moves its ends to 0–4 (and 7, the heap snapshot
 * pipe, and 8, the snapshot to restore from, when asked), marks every
 * other descriptor close-on-exec, restores default signal handling and
 * the signal mask, starts its own session and execs with a scrubbed
 * environment.  An exec failure comes back through a close-on-exec status
 * pipe, whose read end the caller gets: it is not read here, since
 * waiting for the child to reach its exec would block the caller's loop
 * (a slow disk, a loaded machine).  The caller reads it when it becomes
 * readable: spawn_verdict().
 */
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers/spawn.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#endif

/* Variables a worker may see.  Sanitizer settings pass through so that a
 * sanitized test worker reports the way the tests expect. */
static const char *const env_passed[] = {
	"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", NULL
};

/* The status pipe comes first, so that with low descriptors free it is the
 * one on a target's number: check_worker.c proves child_exec copes. */
enum { P_STATUS, P_CMD, P_REP, P_OUT, P_ERR, P_SNAPOUT, P_COUNT };

/* The child's descriptors: where each comes from, which number it gets. */
#define SPAWN_MAX_FDS	7
#define SPAWN_ABOVE	10	/* above every target: where the child first
				   moves its sources and the status pipe */
struct fd_map {
	int	src[SPAWN_MAX_FDS];
	int	dst[SPAWN_MAX_FDS];
	int	n;
};

static void
close_pair(int p[2])
{
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* NULL-terminated environment: PATH plus the passed variables. */
static char **
make_env(void)
{
	char	**env = calloc(sizeof(env_passed) / sizeof(env_passed[0]) + 1,
		    sizeof(char *));
	size_t	  n = 0;
	char	 *v;

	if (env == NULL)
		return NULL;
	env[n++] = strdup("PATH=/usr/local/bin:/usr/bin:/bin");
	for (const char *const *k = env_passed; *k != NULL; k++)
		if ((v = getenv(*k)) != NULL &&
		    asprintf(&env[n], "%s=%s", *k, v) >= 0)
			n++;
	return env;
}

static void
free_env(char **env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

static void
cloexec_from(int lowfd)
{
	long max;

	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U,
	    CLOSE_RANGE_CLOEXEC) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	for (int fd = lowfd; fd < (max > 0 ? max : 1024); fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * In the child: only async-signal-safe calls from here on.  The status
 * pipe and every source are first moved above the targets (so no dup2
 * clobbers one of them: a status pipe on, say, fd 1 would be closed by
 * the dup2 onto 1, and the parent would read EOF, "it ran", for a failed
 * exec), then the sources are put in place; the targets above 4 lose
 * close-on-exec last, after everything from 5 up got it.
 */
static void __attribute__((noreturn))
child_exec(const struct fd_map *m, int status_fd, const char *const *argv,
    char **env)
{
	struct sigaction sa;
	sigset_t	 all;
	int		 moved[SPAWN_MAX_FDS], fd, err;

	/* On failure here status_fd is still the parent's pipe. */
	if ((fd = fcntl(status_fd, F_DUPFD_CLOEXEC, SPAWN_ABOVE)) == -1)
		goto fail;
	status_fd = fd;
	for (int i = 0; i < m->n; i++)
		if ((moved[i] = fcntl(m->src[i], F_DUPFD_CLOEXEC,
		    SPAWN_ABOVE)) == -1)
			goto fail;
	for (int i = 0; i < m->n; i++)
		if (dup2(moved[i], m->dst[i]) == -1)
			goto fail;
	cloexec_from(5);
	for (int i = 0; i < m->n; i++)
		if (m->dst[i] >= 5 && fcntl(m->dst[i], F_SETFD, 0) == -1)
			goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (setsid() == -1)
		goto fail;
	{
		/* execve's prototype predates const; it does not write. */
		union { const char *const *c; char *const *m; } av = { argv };
		execve(argv[0], av.m, env);
	}
fail:
	err = errno;
	if (write(status_fd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int
spawn_verdict(int status_fd, int *err)
{
	ssize_t	 n;
	int	 e = 0;

	do
		n = read(status_fd, &e, sizeof(e));
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return SPAWN_PENDING;
	if (n == 0)
		return SPAWN_EXECUTED;
	*err = n == (ssize_t)sizeof(e) ? e : n == -1 ? errno : EPROTO;
	return SPAWN_FAILED;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Which pipes this spawn needs: the snapshot pipe only on request. */
static bool
pipe_wanted(int i, const struct spawn_options *opt)
{
	if (i == P_SNAPOUT)
		return opt != NULL && opt->snap_out;
	return true;
}

static int
open_pipes(int p[P_COUNT][2], const struct spawn_options *opt, int *devnull,
    char *errbuf, size_t errlen)
{
	for (int i = 0; i < P_COUNT; i++) {
		if (pipe_wanted(i, opt) && pipe2(p[i], O_CLOEXEC) == -1) {
			snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
			return -1;
		}
	}
	/* Our ends only: each end of a pipe is its own open file
	 * description, so the child's ends stay blocking. */
	if (set_nonblock(p[P_STATUS][0]) == -1 ||
	    set_nonblock(p[P_CMD][1]) == -1 || set_nonblock(p[P_REP][0]) ==
	    -1 || set_nonblock(p[P_OUT][0]) == -1 ||
	    set_nonblock(p[P_ERR][0]) == -1 || (p[P_SNAPOUT][0] != -1 &&
	    set_nonblock(p[P_SNAPOUT][0]) == -1)) {
		snprintf(errbuf, errlen, "fcntl: %s", strerror(errno));
		return -1;
	}
	if ((*devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(errbuf, errlen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The child's ends, by the number each gets. */
static void
child_fds(int p[P_COUNT][2], int devnull, int snap_in, struct fd_map *m)
{
	const int src[] = { devnull, p[P_OUT][1], p[P_ERR][1], p[P_CMD][0],
	    p[P_REP][1], p[P_SNAPOUT][1], snap_in };
	const int dst[] = { 0, 1, 2, 3, 4, 7, 8 };

	m->n = 0;
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		if (src[i] == -1)
			continue;
		m->src[m->n] = src[i];
		m->dst[m->n++] = dst[i];
	}
}

int
spawn_process(const char *const *argv, const struct spawn_options *opt,
    struct spawn_result *res, char *errbuf, size_t errlen)
{
	int		 p[P_COUNT][2], devnull = -1, rc = -1;
	char		**env = make_env();
	struct fd_map	 m;
	pid_t		 pid;

	for (int i = 0; i < P_COUNT; i++)
		p[i][0] = p[i][1] = -1;
	if (env == NULL || env[0] == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	if (open_pipes(p, opt, &devnull, errbuf, errlen) == -1)
		goto out;
	child_fds(p, devnull, opt != NULL ? opt->snap_in_fd : -1, &m);
	if ((pid = fork()) == -1) {
		snprintf(errbuf, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(&m, p[P_STATUS][1], argv, env);
	res->pid = pid;
	res->status_fd = p[P_STATUS][0];
	res->cmd_fd = p[P_CMD][1];
	res->rep_fd = p[P_REP][0];
	res->out_fd = p[P_OUT][0];
	res->err_fd = p[P_ERR][0];
	res->snap_out_fd = p[P_SNAPOUT][0];
	p[P_STATUS][0] = p[P_CMD][1] = p[P_REP][0] = p[P_OUT][0] =
	    p[P_ERR][0] = p[P_SNAPOUT][0] = -1;
	rc = 0;
out:
	for (int i = 0; i < P_COUNT; i++)
		close_pair(p[i]);
	if (devnull != -1)
		close(devnull);
	free_env(env);
	return rc;
}
