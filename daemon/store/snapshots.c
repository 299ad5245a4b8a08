/*
 * snapshots.c — heap snapshot files under <stateDir>/snapshots, named by
 * the SHA-256 of their bytes.  Owns the directory and its I/O thread
 * (snapio.c): writing a snapshot (temporary name, fsync, rename,
 * directory fsync), checking one before a restore (its size and the hash
 * of all its bytes), and sweeping files nothing names (snapcheck.c has
 * the last two).  Every one of these runs on the I/O thread and reports
 * back through a callback from snapstore_complete(), so the event loop
 * never waits on the disk; the caller only copies bytes into buffers.
 *
 * Why files and not an LMDB table.  A snapshot of even a small vat is
 * about 10 MB, and a big one hundreds.  In LMDB it would go through the
 * open block: the store keeps a redo log of every write of the block in
 * memory (redo.c) and LMDB keeps the dirty pages too, so each
 * snapshot would cost twice its size in memory until the commit, count
 * against LMDB's limit on dirty pages per transaction, grow the map (which
 * never shrinks) and be copied again on every map growth.  It would also
 * be written while the worker streams it, inside the crank, with nowhere
 * to put it but memory.  As a file it is streamed to disk as it comes,
 * costs little memory (at most SNAPSTORE_HIGH bytes in flight), and is
 * deleted for real when it is superseded.  The price is the ordering
 * between the file and the record naming it (an LMDB table would have
 * given that for free), which is kept this way:
 *   1. the file is complete, fsynced, renamed to its hash and the
 *      directory fsynced before the crank that records it commits — and
 *      a fortiori before the block making that record durable (the crank
 *      waits for the committed callback);
 *   2. a superseded file is unlinked only after the block that replaced
 *      its record is committed (daemon/vats/snapshot.c, at the block commit);
 *   3. at start, and after such a commit, files no committed record
 *      names (a block that never committed, a crash between 2's commit
 *      and unlink, temporary files of a crash mid-write) are swept.
 * The I/O thread runs jobs in the order they were asked for, so a sweep
 * asked for at a commit is over before any later snapshot's temporary
 * file exists.  Content addressing makes a rewrite of the same snapshot
 * harmless: the rename replaces a file with identical bytes.
 *
 * A writer's fields are split in two: those above the line in struct
 * snapstore_writer are the loop's, those below the I/O thread's, from the
 * writer's first job to its last (snapio.c has the rules).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon/store/store.h"
#include "daemon/store/store_impl.h"
#include "protocol/log.h"

#define SNAPSTORE_DIR		"snapshots"
#define SNAPSTORE_TMP_PREFIX	"tmp."
#define SNAPSTORE_BUF		(1024 * 1024)	/* bytes per write job */

enum sw_kind { SW_WRITE, SW_COMMIT, SW_ABORT };

/* One job of a writer: bytes to write, or its end. */
struct sw_job {
	struct snapio_job job;
	enum sw_kind	 kind;
	struct snapstore_writer *sw;
	unsigned char	*buf;		/* SW_WRITE: len bytes, owned */
	size_t		 len;
	bool		 oom;		/* SW_COMMIT: the loop lost bytes */
};

struct snapstore_writer {
	struct snapstore *ss;
	const struct snapstore_writer_cb *cb;
	void		*arg;
	char		 tmp[64];	/* temporary name (fixed at begin) */
	/* ---- the loop's ---- */
	struct sw_job	*final;		/* the commit or abort job, ready */
	unsigned char	*buf;		/* bytes not handed over yet */
	size_t		 buflen;
	uint64_t	 size;		/* bytes taken */
	size_t		 backlog;	/* bytes handed over, not yet written */
	bool		 full;		/* write() said so: drained() owed */
	bool		 oom;		/* a buffer or job could not be had */
	bool		 finishing;	/* the commit or abort is submitted */
	bool		 dropped;	/* aborted: no callback any more */
	/* ---- the I/O thread's ---- */
	int		 fd;		/* the temporary file, or -1 */
	EVP_MD_CTX	*md;
	int		 err;		/* first errno, 0 if none */
	const char	*step;		/* what failed */
	int		 unlink_err;	/* an abort's unlink failed */
	char		 hash[SNAPSTORE_HASH_HEXLEN + 1];
};

/* ---- helpers ------------------------------------------------------------ */

static int
fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, e;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	e = errno;
	if (close(fd) == -1 && rc == 0)
		return -1;
	errno = e;
	return rc;
}

static void
hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

int
snapstore_md_finish(EVP_MD_CTX *md, char *out)
{
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0;
	int		 ok = EVP_DigestFinal_ex(md, d, &n) == 1 && n == 32;

	EVP_MD_CTX_free(md);
	if (ok)
		hex(d, n, out);
	return ok ? 0 : -1;
}

EVP_MD_CTX *
snapstore_md_new(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		md = NULL;
	}
	return md;
}

bool
snapstore_is_hash_name(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return i == SNAPSTORE_HASH_HEXLEN;
}

/* ---- open and close ------------------------------------------------------ */

static void
snapstore_wake_none(void *arg)
{
	(void)arg;
}

int
snapstore_open(const char *state_dir, void (*wake)(void *), void *wake_arg,
    struct snapstore **out, char *errbuf, size_t errlen)
{
	struct snapstore	*ss = calloc(1, sizeof(*ss));
	bool			 made = false;

	*out = NULL;
	if (ss == NULL || asprintf(&ss->path, "%s/%s", state_dir,
	    SNAPSTORE_DIR) < 0) {
		free(ss);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	ss->dirfd = -1;
	if (mkdir(ss->path, 0700) == 0)
		made = true;
	else if (errno != EEXIST)
		goto fail;
	/* the new directory's entry must be durable before anything in it */
	if (made && fsync_path(state_dir) == -1)
		goto fail;
	if ((ss->dirfd = open(ss->path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		goto fail;
	if (snapio_start(&ss->io, wake != NULL ? wake : snapstore_wake_none,
	    wake_arg) == -1) {
		snprintf(errbuf, errlen, "%s: cannot start its I/O thread: %s",
		    ss->path, strerror(errno));
		goto fail_msg;
	}
	*out = ss;
	return 0;
fail:
	snprintf(errbuf, errlen, "%s: %s", ss->path, strerror(errno));
fail_msg:
	if (ss->dirfd != -1)
		close(ss->dirfd);
	free(ss->path);
	free(ss);
	return -1;
}

void
snapstore_close(struct snapstore *ss)
{
	if (ss == NULL)
		return;
	ss->closing = true;	/* the last completions free, call no one */
	snapio_stop(ss->io);
	if (close(ss->dirfd) == -1)
		log_warn("snapshot", "%s: close", ss->path);
	free(ss->path);
	free(ss);
}

void
snapstore_complete(struct snapstore *ss)
{
	snapio_complete(ss->io);
}

void
snapstore_drain(struct snapstore *ss)
{
	snapio_drain(ss->io);
}

const char *
snapstore_path(const struct snapstore *ss)
{
	return ss->path;
}

/* ---- writing: the I/O thread's side --------------------------------------- */

static void
sw_failed(struct snapstore_writer *sw, const char *step, int e)
{
	if (sw->err == 0) {
		sw->err = e;
		sw->step = step;
	}
}

/* The temporary file, created by the writer's first job. */
static bool
sw_opened(struct snapstore_writer *sw)
{
	if (sw->fd == -1 && sw->err == 0 && (sw->fd = openat(sw->ss->dirfd,
	    sw->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		sw_failed(sw, "create", errno);
	return sw->err == 0;
}

static void
sw_write(struct snapstore_writer *sw, const unsigned char *p, size_t len)
{
	ssize_t n;

	if (!sw_opened(sw))
		return;
	if (EVP_DigestUpdate(sw->md, p, len) != 1) {
		sw_failed(sw, "digest", ENOMEM);
		return;
	}
	while (len > 0) {
		n = write(sw->fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			sw_failed(sw, "write", n == 0 ? EIO : errno);
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void
sw_commit(struct snapstore_writer *sw, bool oom)
{
	struct snapstore *ss = sw->ss;

	if (oom)
		sw_failed(sw, "buffer", ENOMEM);
	if (sw_opened(sw) && fsync(sw->fd) == -1)
		sw_failed(sw, "fsync", errno);
	if (sw->fd != -1 && close(sw->fd) == -1)
		sw_failed(sw, "close", errno);
	sw->fd = -1;
	if (sw->err == 0) {
		if (snapstore_md_finish(sw->md, sw->hash) == -1)
			sw_failed(sw, "digest", ENOMEM);
		sw->md = NULL;
	}
	if (sw->err == 0 && renameat(ss->dirfd, sw->tmp, ss->dirfd,
	    sw->hash) == -1)
		sw_failed(sw, "rename", errno);
	if (sw->err == 0 && fsync(ss->dirfd) == -1)
		sw_failed(sw, "fsync of the directory", errno);
	/* a temporary file left behind by a failure here is swept later */
	if (sw->err != 0 && unlinkat(ss->dirfd, sw->tmp, 0) == -1 &&
	    errno != ENOENT)
		sw->unlink_err = errno;
}

static void
sw_abort(struct snapstore_writer *sw)
{
	if (sw->fd != -1 && close(sw->fd) == -1)
		sw_failed(sw, "close", errno);
	sw->fd = -1;
	if (unlinkat(sw->ss->dirfd, sw->tmp, 0) == -1 && errno != ENOENT)
		sw->unlink_err = errno;	/* reported by the completion */
}

static void
sw_work(struct snapio_job *job)
{
	struct sw_job *j = (struct sw_job *)job;

	switch (j->kind) {
	case SW_WRITE:
		if (j->sw->err == 0)
			sw_write(j->sw, j->buf, j->len);
		break;
	case SW_COMMIT:
		sw_commit(j->sw, j->oom);
		break;
	case SW_ABORT:
		sw_abort(j->sw);
		break;
	}
}

/* ---- writing: the loop's side --------------------------------------------- */

static void
sw_free(struct snapstore_writer *sw)
{
	EVP_MD_CTX_free(sw->md);
	free(sw->final);
	free(sw->buf);
	free(sw);
}

static void
sw_done(struct snapio_job *job)
{
	struct sw_job		*j = (struct sw_job *)job;
	struct snapstore_writer	*sw = j->sw;
	bool			 quiet = sw->dropped || sw->ss->closing;
	char			 err[512];

	switch (j->kind) {
	case SW_WRITE:
		sw->backlog -= j->len;
		free(j->buf);
		free(j);
		if (sw->full && !quiet && !sw->finishing &&
		    sw->backlog <= SNAPSTORE_LOW) {
			sw->full = false;
			sw->cb->drained(sw->arg);
		}
		return;
	case SW_COMMIT:
		sw->final = NULL;
		free(j);
		if (!quiet && sw->err != 0)
			snprintf(err, sizeof(err), "%s/%s: %s: %s",
			    sw->ss->path, sw->tmp, sw->step,
			    strerror(sw->err));
		if (!quiet)
			sw->cb->committed(sw->arg, sw->err == 0 ? sw->hash :
			    NULL, sw->size, sw->err == 0 ? NULL : err);
		break;
	case SW_ABORT:
		sw->final = NULL;
		free(j);
		if (sw->unlink_err != 0)
			log_warnx("snapshot", "%s/%s: unlink: %s",
			    sw->ss->path, sw->tmp, strerror(sw->unlink_err));
		break;
	}
	sw_free(sw);
}

static struct sw_job *
sw_job_new(struct snapstore_writer *sw, enum sw_kind kind)
{
	struct sw_job *j = calloc(1, sizeof(*j));

	if (j != NULL) {
		j->job.work = sw_work;
		j->job.done = sw_done;
		j->kind = kind;
		j->sw = sw;
	}
	return j;
}

struct snapstore_writer *
snapstore_begin(struct snapstore *ss, const struct snapstore_writer_cb *cb,
    void *arg)
{
	struct snapstore_writer *sw = calloc(1, sizeof(*sw));

	if (sw == NULL)
		return NULL;
	sw->fd = -1;
	if ((sw->md = snapstore_md_new()) == NULL ||
	    (sw->final = sw_job_new(sw, SW_COMMIT)) == NULL) {
		sw_free(sw);
		return NULL;
	}
	sw->ss = ss;
	sw->cb = cb;
	sw->arg = arg;
	snprintf(sw->tmp, sizeof(sw->tmp), SNAPSTORE_TMP_PREFIX "%ld.%u",
	    (long)getpid(), ss->serial++);
	return sw;
}

/* Hand the bytes gathered so far to the I/O thread. */
static void
sw_hand_over(struct snapstore_writer *sw)
{
	struct sw_job *j;

	if (sw->buflen == 0)
		return;
	if ((j = sw_job_new(sw, SW_WRITE)) == NULL) {
		sw->oom = true;
		free(sw->buf);
	} else {
		j->buf = sw->buf;
		j->len = sw->buflen;
		sw->backlog += sw->buflen;
		snapio_submit(sw->ss->io, &j->job);
	}
	sw->buf = NULL;
	sw->buflen = 0;
}

bool
snapstore_write(struct snapstore_writer *sw, const void *bytes, size_t len)
{
	const unsigned char	*p = bytes;
	size_t			 n;

	sw->size += len;
	while (len > 0 && !sw->oom) {
		if (sw->buf == NULL && (sw->buf = malloc(SNAPSTORE_BUF)) ==
		    NULL) {
			sw->oom = true;	/* the commit will fail */
			break;
		}
		n = SNAPSTORE_BUF - sw->buflen < len ? SNAPSTORE_BUF -
		    sw->buflen : len;
		memcpy(sw->buf + sw->buflen, p, n);
		sw->buflen += n;
		p += n;
		len -= n;
		if (sw->buflen == SNAPSTORE_BUF)
			sw_hand_over(sw);
	}
	if (sw->backlog < SNAPSTORE_HIGH)
		return true;
	sw->full = true;
	return false;
}

void
snapstore_commit(struct snapstore_writer *sw)
{
	struct sw_job *j = sw->final;

	sw_hand_over(sw);
	sw->finishing = true;
	j->oom = sw->oom;
	snapio_submit(sw->ss->io, &j->job);
}

void
snapstore_abort(struct snapstore_writer *sw)
{
	if (sw == NULL || sw->dropped)
		return;
	sw->dropped = true;
	if (sw->finishing)
		return;		/* the commit's completion frees it */
	sw->finishing = true;
	free(sw->buf);
	sw->buf = NULL;
	sw->buflen = 0;
	sw->final->kind = SW_ABORT;
	snapio_submit(sw->ss->io, &sw->final->job);
}
