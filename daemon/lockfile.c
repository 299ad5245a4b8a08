/*
 * lockfile.c — one daemon per state directory.  The lock is flock(2) on
 * <state>/LOCK, held for the daemon's life and dropped by the kernel when
 * the process dies (also on kill -9), so a stale file never blocks a
 * restart.  The file holds the holder's pid, for the error message only.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"

static void
lockfile_holder(int fd, char *pid, size_t len)
{
	ssize_t n = pread(fd, pid, len - 1, 0);

	if (n <= 0)
		n = 0;
	pid[n] = '\0';
	pid[strcspn(pid, "\n")] = '\0';
	if (pid[0] == '\0')
		snprintf(pid, len, "unknown");
}

/* Returns the locked descriptor, LOCKFILE_INUSE when another process holds
 * the lock, or LOCKFILE_ERROR; errbuf says which and why. */
int
lockfile_acquire(const char *dir, char *errbuf, size_t errlen)
{
	char	*path = NULL, pid[32], line[32];
	int	 fd = -1, n, rc = LOCKFILE_ERROR;

	if (asprintf(&path, "%s/LOCK", dir) < 0) {
		snprintf(errbuf, errlen, "out of memory");
		return LOCKFILE_ERROR;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			rc = LOCKFILE_INUSE;
			lockfile_holder(fd, pid, sizeof(pid));
			snprintf(errbuf, errlen, "state directory %s is in use "
			    "by another swingsetd (pid %s)", dir, pid);
		} else
			snprintf(errbuf, errlen, "flock %s: %s", path,
			    strerror(errno));
		goto fail;
	}
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, line, (size_t)n, 0) != n) {
		snprintf(errbuf, errlen, "write %s: %s", path, strerror(errno));
		goto fail;
	}
	free(path);
	return fd;
fail:
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

void
lockfile_release(int fd)
{
	if (fd != -1)
		close(fd);
}
