/*
 * snapshots.c — heap snapshot files under <stateDir>/snapshots, named by
 * the SHA-256 of their bytes.  Owns the directory: writing a snapshot
 * (temporary name, fsync, rename, directory fsync), opening one for a
 * restore after checking its hash, and sweeping files nothing names.
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
 * costs no memory, and is deleted for real when it is superseded.  The
 * price is the ordering between the file and the record naming it (an
 * LMDB table would have given that for free), which is kept this way:
 *   1. the file is complete, fsynced, renamed to its hash and the
 *      directory fsynced before the crank that records it commits — and
 *      a fortiori before the block making that record durable;
 *   2. a superseded file is unlinked only after the block that replaced
 *      its record is committed (daemon/vats/snapshot.c, at the block commit);
 *   3. at start, and after such a commit, files no committed record
 *      names (a block that never committed, a crash between 2's commit
 *      and unlink, temporary files of a crash mid-write) are swept.
 * Content addressing makes a rewrite of the same snapshot harmless: the
 * rename replaces a file with identical bytes.
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
#include "protocol/log.h"

#define SNAPSTORE_DIR		"snapshots"
#define SNAPSTORE_TMP_PREFIX	"tmp."
#define SNAPSTORE_CHUNK		(256 * 1024)

struct snapstore {
	char		*path;		/* <stateDir>/snapshots */
	int		 dirfd;
	unsigned	 serial;	/* temporary names */
};

struct snapstore_writer {
	struct snapstore *ss;
	char		 tmp[64];	/* temporary name in the directory */
	int		 fd;
	EVP_MD_CTX	*md;
	uint64_t	 size;
	int		 err;		/* first errno, 0 if none */
};

/* ---- helpers ------------------------------------------------------------ */

static int
fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
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

/* The final hex digest of md (which is freed) into out[65]; -1 on error. */
static int
md_finish(EVP_MD_CTX *md, char *out)
{
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0;
	int		 ok = EVP_DigestFinal_ex(md, d, &n) == 1 && n == 32;

	EVP_MD_CTX_free(md);
	if (ok)
		hex(d, n, out);
	return ok ? 0 : -1;
}

static EVP_MD_CTX *
md_new(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		md = NULL;
	}
	return md;
}

static bool
is_hash_name(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return i == SNAPSTORE_HASH_HEXLEN;
}

/* ---- open and close ------------------------------------------------------ */

int
snapstore_open(const char *state_dir, struct snapstore **out, char *errbuf,
    size_t errlen)
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
	*out = ss;
	return 0;
fail:
	snprintf(errbuf, errlen, "%s: %s", ss->path, strerror(errno));
	free(ss->path);
	free(ss);
	return -1;
}

void
snapstore_close(struct snapstore *ss)
{
	if (ss == NULL)
		return;
	close(ss->dirfd);
	free(ss->path);
	free(ss);
}

const char *
snapstore_path(const struct snapstore *ss)
{
	return ss->path;
}

/* ---- writing ---------------------------------------------------------------- */

struct snapstore_writer *
snapstore_begin(struct snapstore *ss, char *errbuf, size_t errlen)
{
	struct snapstore_writer *sw = calloc(1, sizeof(*sw));

	if (sw == NULL || (sw->md = md_new()) == NULL) {
		free(sw);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	sw->ss = ss;
	snprintf(sw->tmp, sizeof(sw->tmp), SNAPSTORE_TMP_PREFIX "%ld.%u",
	    (long)getpid(), ss->serial++);
	sw->fd = openat(ss->dirfd, sw->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	if (sw->fd == -1) {
		snprintf(errbuf, errlen, "%s/%s: %s", ss->path, sw->tmp,
		    strerror(errno));
		EVP_MD_CTX_free(sw->md);
		free(sw);
		return NULL;
	}
	return sw;
}

void
snapstore_write(struct snapstore_writer *sw, const void *bytes, size_t len)
{
	const unsigned char	*p = bytes;
	ssize_t			 n;

	sw->size += len;
	if (sw->err != 0)
		return;
	if (EVP_DigestUpdate(sw->md, bytes, len) != 1) {
		sw->err = ENOMEM;
		return;
	}
	while (len > 0) {
		n = write(sw->fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			sw->err = n == 0 ? EIO : errno;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void
writer_free(struct snapstore_writer *sw, bool unlink_tmp)
{
	if (sw->fd != -1)
		close(sw->fd);
	if (unlink_tmp && unlinkat(sw->ss->dirfd, sw->tmp, 0) == -1 &&
	    errno != ENOENT)
		log_warn("snapshot", "%s/%s: unlink", sw->ss->path, sw->tmp);
	EVP_MD_CTX_free(sw->md);
	free(sw);
}

void
snapstore_abort(struct snapstore_writer *sw)
{
	if (sw != NULL)
		writer_free(sw, true);
}

/* Record the first failure of a commit step. */
static void
step_failed(int *err, const char **step, const char *what, int e)
{
	if (*err == 0) {
		*err = e;
		*step = what;
	}
}

int
snapstore_commit(struct snapstore_writer *sw, char *hash, uint64_t *size,
    char *errbuf, size_t errlen)
{
	struct snapstore	*ss = sw->ss;
	const char		*step = "write";
	int			 err = sw->err, rc;

	*size = sw->size;
	if (err == 0 && fsync(sw->fd) == -1)
		step_failed(&err, &step, "fsync", errno);
	if (close(sw->fd) == -1)
		step_failed(&err, &step, "close", errno);
	sw->fd = -1;
	if (err == 0) {
		rc = md_finish(sw->md, hash);
		sw->md = NULL;
		if (rc == -1)
			step_failed(&err, &step, "digest", ENOMEM);
	}
	if (err == 0 && renameat(ss->dirfd, sw->tmp, ss->dirfd, hash) == -1)
		step_failed(&err, &step, "rename", errno);
	if (err == 0 && fsync(ss->dirfd) == -1)
		step_failed(&err, &step, "fsync of the directory", errno);
	if (err != 0)
		snprintf(errbuf, errlen, "%s/%s: %s: %s", ss->path, sw->tmp,
		    step, strerror(err));
	writer_free(sw, err != 0);
	return err == 0 ? 0 : -1;
}

/* ---- reading ---------------------------------------------------------------- */

/* Hash fd's bytes into out[65]; -1 with errno. */
static int
hash_fd(int fd, char *out)
{
	EVP_MD_CTX	*md = md_new();
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
	return md_finish(md, out) == 0 ? 0 : (errno = ENOMEM, -1);
}

int
snapstore_open_verified(struct snapstore *ss, const char *hash,
    uint64_t size, int *fd, char *errbuf, size_t errlen)
{
	struct stat	 sb;
	char		 got[SNAPSTORE_HASH_HEXLEN + 1];

	*fd = -1;
	if (!is_hash_name(hash)) {
		snprintf(errbuf, errlen, "'%.80s' is not a snapshot name", hash);
		return -1;
	}
	if ((*fd = openat(ss->dirfd, hash, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(errbuf, errlen, "%s/%s: %s", ss->path, hash,
		    errno == ENOENT ? "missing" : strerror(errno));
		return -1;
	}
	if (fstat(*fd, &sb) == -1 || hash_fd(*fd, got) == -1 ||
	    lseek(*fd, 0, SEEK_SET) == -1)
		snprintf(errbuf, errlen, "%s/%s: %s", ss->path, hash,
		    strerror(errno));
	else if ((uint64_t)sb.st_size != size)
		snprintf(errbuf, errlen, "%s/%s: %jd bytes, expected %" PRIu64,
		    ss->path, hash, (intmax_t)sb.st_size, size);
	else if (strcmp(got, hash) != 0)
		snprintf(errbuf, errlen, "%s/%s: its bytes hash to %s",
		    ss->path, hash, got);
	else
		return 0;
	close(*fd);
	*fd = -1;
	return -1;
}

/* ---- sweeping ---------------------------------------------------------------- */

int
snapstore_sweep(struct snapstore *ss, bool (*keep)(void *, const char *),
    void *arg)
{
	int		 fd = dup(ss->dirfd), removed = 0;
	DIR		*dir;
	struct dirent	*de;

	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		log_warn("snapshot", "%s: cannot list", ss->path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..")
		    == 0 || (is_hash_name(de->d_name) &&
		    keep(arg, de->d_name)))
			continue;
		if (unlinkat(ss->dirfd, de->d_name, 0) == -1) {
			log_warn("snapshot", "%s/%s: unlink", ss->path,
			    de->d_name);
			continue;
		}
		log_info("snapshot", "removed %s/%s (%s)", ss->path,
		    de->d_name, is_hash_name(de->d_name) ? "no record names "
		    "it" : "unfinished");
		removed++;
	}
	closedir(dir);
	return removed;
}
