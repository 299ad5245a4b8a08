/*
 * snapcheck.c — reading the snapshot directory, on its I/O thread
 * (snapio.c): checking a snapshot before a worker is restored from it
 * (it exists, has the recorded size, and all its bytes hash to its name),
 * and sweeping the files no record names.  Writing is snapshots.c's.
 *
 * Both run on the I/O thread and report from snapstore_complete() on the
 * loop; the thread formats nothing and logs nothing: a job carries back
 * numbers (an errno, a size, a hash), and its completion turns them into
 * text and log lines.  A job's fields marked "the loop's" are never
 * touched by the thread.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon/store/store.h"
#include "daemon/store/store_impl.h"
#include "protocol/log.h"

#define SNAPSTORE_CHUNK	(256 * 1024)	/* bytes per read when hashing */

/* ---- checking one -------------------------------------------------------- */

enum check_verdict { CHECK_OK, CHECK_NAME, CHECK_MISSING, CHECK_ERRNO,
    CHECK_SIZE, CHECK_HASH };

struct snapstore_check {
	struct snapio_job job;
	struct snapstore *ss;
	char		 hash[SNAPSTORE_HASH_HEXLEN + 1];
	uint64_t	 size;
	void		(*done)(void *, int, const char *);
	void		*arg;
	bool		 cancelled;	/* the loop's */
	/* the thread's result */
	enum check_verdict verdict;
	int		 fd;
	int		 err;		/* CHECK_ERRNO */
	intmax_t	 got_size;	/* CHECK_SIZE */
	char		 got[SNAPSTORE_HASH_HEXLEN + 1];	/* CHECK_HASH */
};

/* Hash fd's bytes into out[65]; -1 with errno. */
static int
hash_fd(int fd, char *out)
{
	EVP_MD_CTX	*md = snapstore_md_new();
	unsigned char	*buf = malloc(SNAPSTORE_CHUNK);
	ssize_t		 n = 0;

	if (md == NULL || buf == NULL) {
		EVP_MD_CTX_free(md);
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		n = read(fd, buf, SNAPSTORE_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || EVP_DigestUpdate(md, buf, (size_t)n) != 1)
			break;
	}
	free(buf);
	if (n != 0) {
		EVP_MD_CTX_free(md);
		if (n > 0)
			errno = ENOMEM;
		return -1;
	}
	return snapstore_md_finish(md, out) == 0 ? 0 : (errno = ENOMEM, -1);
}

static void
check_work(struct snapio_job *job)
{
	struct snapstore_check	*c = (struct snapstore_check *)job;
	struct stat		 sb;

	c->fd = -1;
	if (!snapstore_is_hash_name(c->hash)) {
		c->verdict = CHECK_NAME;
		return;
	}
	if ((c->fd = openat(c->ss->dirfd, c->hash, O_RDONLY | O_CLOEXEC)) ==
	    -1) {
		c->verdict = errno == ENOENT ? CHECK_MISSING : CHECK_ERRNO;
		c->err = errno;
		return;
	}
	if (fstat(c->fd, &sb) == -1 || (S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size == c->size && (hash_fd(c->fd, c->got) == -1 ||
	    lseek(c->fd, 0, SEEK_SET) == -1))) {
		c->verdict = CHECK_ERRNO;
		c->err = errno;
	} else if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != c->size) {
		c->verdict = CHECK_SIZE;	/* not worth hashing */
		c->got_size = (intmax_t)sb.st_size;
	} else if (strcmp(c->got, c->hash) != 0)
		c->verdict = CHECK_HASH;
	else
		return;		/* CHECK_OK, fd open at offset 0 */
	close(c->fd);	/* read-only, and dropped: nothing to lose */
	c->fd = -1;
}

static void
check_done(struct snapio_job *job)
{
	struct snapstore_check	*c = (struct snapstore_check *)job;
	const char		*dir = c->ss->path;
	char			 err[768];

	if (c->cancelled || c->ss->closing) {
		if (c->fd != -1)
			close(c->fd);
		free(c);
		return;
	}
	switch (c->verdict) {
	case CHECK_OK:
		break;
	case CHECK_NAME:
		snprintf(err, sizeof(err), "'%.80s' is not a snapshot name",
		    c->hash);
		break;
	case CHECK_MISSING:
		snprintf(err, sizeof(err), "%s/%s: missing", dir, c->hash);
		break;
	case CHECK_ERRNO:
		snprintf(err, sizeof(err), "%s/%s: %s", dir, c->hash,
		    strerror(c->err));
		break;
	case CHECK_SIZE:
		snprintf(err, sizeof(err), "%s/%s: %jd bytes, expected %"
		    PRIu64, dir, c->hash, c->got_size, c->size);
		break;
	case CHECK_HASH:
		snprintf(err, sizeof(err), "%s/%s: its bytes hash to %s", dir,
		    c->hash, c->got);
		break;
	}
	c->done(c->arg, c->fd, c->verdict == CHECK_OK ? NULL : err);
	free(c);
}

struct snapstore_check *
snapstore_verify(struct snapstore *ss, const char *hash, uint64_t size,
    void (*done)(void *arg, int fd, const char *err), void *arg)
{
	struct snapstore_check *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->job.work = check_work;
	c->job.done = check_done;
	c->ss = ss;
	snprintf(c->hash, sizeof(c->hash), "%s", hash);
	c->size = size;
	c->done = done;
	c->arg = arg;
	snapio_submit(ss->io, &c->job);
	return c;
}

void
snapstore_verify_cancel(struct snapstore_check *c)
{
	if (c != NULL)
		c->cancelled = true;
}

/* ---- sweeping --------------------------------------------------------------- */

/* One file the sweep removed, or failed to. */
struct sweep_gone {
	char		 name[SNAPSTORE_HASH_HEXLEN + 16];
	bool		 named;		/* a hash name (else unfinished) */
	int		 err;		/* unlink's errno, 0 if removed */
};

struct snapstore_sweep {
	struct snapio_job job;
	struct snapstore *ss;
	char		(*keep)[SNAPSTORE_HASH_HEXLEN + 1];
	bool		*seen;		/* seen[i]: keep[i] is there */
	size_t		 n;
	void		(*done)(void *, const bool *, size_t);
	void		*arg;
	/* the thread's result */
	struct sweep_gone *gone;
	size_t		 ngone, capgone;
	int		 list_err;	/* the directory could not be read */
};

static bool
sweep_keeps(struct snapstore_sweep *sw, const char *name)
{
	bool found = false;

	if (!snapstore_is_hash_name(name))
		return false;
	for (size_t i = 0; i < sw->n; i++)
		if (strcmp(sw->keep[i], name) == 0)
			found = sw->seen[i] = true;
	return found;
}

static void
sweep_note(struct snapstore_sweep *sw, const char *name, int err)
{
	struct sweep_gone *g;

	if (sw->ngone == sw->capgone) {
		g = reallocarray(sw->gone, sw->capgone ? sw->capgone * 2 : 8,
		    sizeof(*g));
		if (g == NULL)
			return;		/* the removal goes unlogged */
		sw->gone = g;
		sw->capgone = sw->capgone ? sw->capgone * 2 : 8;
	}
	g = &sw->gone[sw->ngone++];
	snprintf(g->name, sizeof(g->name), "%.*s", (int)sizeof(g->name) - 1,
	    name);
	g->named = snapstore_is_hash_name(name);
	g->err = err;
}

static void
sweep_work(struct snapio_job *job)
{
	struct snapstore_sweep	*sw = (struct snapstore_sweep *)job;
	int			 fd = dup(sw->ss->dirfd);
	DIR			*dir;
	struct dirent		*de;

	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		sw->list_err = errno;
		if (fd != -1)
			close(fd);
		return;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..")
		    == 0 || sweep_keeps(sw, de->d_name))
			continue;
		sweep_note(sw, de->d_name, unlinkat(sw->ss->dirfd, de->d_name,
		    0) == -1 ? errno : 0);
	}
	closedir(dir);
}

static void
sweep_done(struct snapio_job *job)
{
	struct snapstore_sweep	*sw = (struct snapstore_sweep *)job;
	const char		*dir = sw->ss->path;

	if (sw->list_err != 0)
		log_warnx("snapshot", "%s: cannot list: %s", dir,
		    strerror(sw->list_err));
	for (size_t i = 0; i < sw->ngone; i++) {
		struct sweep_gone *g = &sw->gone[i];

		if (g->err != 0)
			log_warnx("snapshot", "%s/%s: unlink: %s", dir,
			    g->name, strerror(g->err));
		else
			log_info("snapshot", "removed %s/%s (%s)", dir, g->name,
			    g->named ? "no record names it" : "unfinished");
	}
	/* always called, so that arg can be freed: seen NULL when there is
	 * no answer (even at snapstore_close()) */
	sw->done(sw->arg, sw->list_err == 0 && !sw->ss->closing ? sw->seen :
	    NULL, sw->n);
	free(sw->gone);
	free(sw->keep);
	free(sw->seen);
	free(sw);
}

int
snapstore_sweep(struct snapstore *ss,
    const char (*keep)[SNAPSTORE_HASH_HEXLEN + 1], size_t n,
    void (*done)(void *arg, const bool *seen, size_t n), void *arg)
{
	struct snapstore_sweep *sw = calloc(1, sizeof(*sw));

	if (sw == NULL || (n > 0 && ((sw->keep = calloc(n,
	    sizeof(*sw->keep))) == NULL || (sw->seen = calloc(n,
	    sizeof(*sw->seen))) == NULL))) {
		if (sw != NULL) {
			free(sw->keep);
			free(sw);
		}
		return -1;
	}
	if (n > 0)
		memcpy(sw->keep, keep, n * sizeof(*keep));
	sw->job.work = sweep_work;
	sw->job.done = sweep_done;
	sw->ss = ss;
	sw->n = n;
	sw->done = done;
	sw->arg = arg;
	snapio_submit(ss->io, &sw->job);
	return 0;
}
