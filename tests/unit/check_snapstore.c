/*
 * check_snapstore.c — unit suite for the heap snapshot files of
 * daemon/store/ (snapshots.c, snapcheck.c, snapio.c): a snapshot written
 * through the I/O thread lands under the SHA-256 of its bytes, durable
 * and complete; a writer fed faster than the disk says so and is told
 * when it drained; an abort leaves no file; a check finds a missing,
 * short or damaged file and hands back a descriptor at offset 0 for a
 * good one; a cancelled check calls no one and leaks no descriptor; the
 * sweep removes what nothing names.  No callback ever comes from inside
 * the call that asked, nor from the I/O thread: only from
 * snapstore_complete().  Each test works in its own mkdtemp directory.
 * Links the store, protocol/log.o and libcrypto; no libev (the wake
 * function writes to a pipe).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon/store/store.h"

#define MiB	((size_t)1 << 20)

static char	 tdir[64];
static int	 wake_pipe[2];
static struct snapstore *ss;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* On the I/O thread: one byte into the pipe (write(2) is thread-safe). */
static void
wake(void *arg)
{
	char c = 'w';

	(void)arg;
	if (write(wake_pipe[1], &c, 1) == -1 && errno != EAGAIN)
		abort();
}

static void
setup(void)
{
	char err[256];

	snprintf(tdir, sizeof(tdir), "/tmp/check_snapstore.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC), 0);
	ck_assert_msg(snapstore_open(tdir, wake, NULL, &ss, err,
	    sizeof(err)) == 0, "%s", err);
}

static void
teardown(void)
{
	snapstore_close(ss);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	nftw(tdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Wait for a wake-up (at most 10 s), then run the callbacks owed. */
static void
pump_once(void)
{
	struct pollfd	 p = { .fd = wake_pipe[0], .events = POLLIN };
	char		 buf[256];

	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
	snapstore_complete(ss);
}

static void
pump_until(const bool *flag)
{
	while (!*flag)
		pump_once();
}

/* The names in the snapshot directory, sorted, joined by spaces. */
static void
listing(char *out, size_t len)
{
	char		 path[128], names[8][80];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof(path), "%s/snapshots", tdir);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL && n < 8)
		if (de->d_name[0] != '.')
			snprintf(names[n++], sizeof(names[0]), "%.79s",
			    de->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]),
	    (int (*)(const void *, const void *))strcmp);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		strncat(out, names[i], len - strlen(out) - 1);
		strncat(out, " ", len - strlen(out) - 1);
	}
}

/* n bytes of a pattern that no two offsets of a short period share. */
static unsigned char *
pattern(size_t n)
{
	unsigned char *p = malloc(n);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 2654435761u) >> 13);
	return p;
}

static void
sha256_hex(const unsigned char *p, size_t n, char out[65])
{
	unsigned char	d[32];
	unsigned int	dn = 0;

	ck_assert_int_eq(EVP_Digest(p, n, d, &dn, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < dn; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* ---- a writer's callbacks ------------------------------------------------ */

struct wr {
	bool	 drained, committed;
	int	 ndrained;
	char	 hash[65];
	uint64_t size;
	char	 err[512];
};

static void
wr_drained(void *arg)
{
	struct wr *w = arg;

	w->drained = true;
	w->ndrained++;
}

static void
wr_committed(void *arg, const char *hash, uint64_t size, const char *err)
{
	struct wr *w = arg;

	w->committed = true;
	w->size = size;
	snprintf(w->hash, sizeof(w->hash), "%s", hash ? hash : "");
	snprintf(w->err, sizeof(w->err), "%s", err ? err : "");
}

static const struct snapstore_writer_cb wr_cb = { wr_drained, wr_committed };

/* Write n bytes of p in 64 kB pieces, waiting whenever the writer is
 * full, as the daemon does with a worker's fd 7; commit; wait. */
static void
write_all(struct wr *w, const unsigned char *p, size_t n)
{
	struct snapstore_writer *sw = snapstore_begin(ss, &wr_cb, w);

	ck_assert_ptr_nonnull(sw);
	for (size_t off = 0; off < n; off += 65536) {
		size_t len = n - off < 65536 ? n - off : 65536;

		if (!snapstore_write(sw, p + off, len)) {
			w->drained = false;
			pump_until(&w->drained);
		}
	}
	snapstore_commit(sw);
	ck_assert(!w->committed);	/* never from inside the call */
	pump_until(&w->committed);
}

/* ---- a check's callback ---------------------------------------------------- */

struct ck {
	bool	 done;
	int	 fd;
	char	 err[768];
};

static void
ck_done(void *arg, int fd, const char *err)
{
	struct ck *c = arg;

	c->done = true;
	c->fd = fd;
	snprintf(c->err, sizeof(c->err), "%s", err ? err : "");
}

static void
check(const char *hash, uint64_t size, struct ck *c)
{
	memset(c, 0, sizeof(*c));
	ck_assert_ptr_nonnull(snapstore_verify(ss, hash, size, ck_done, c));
	ck_assert(!c->done);
	pump_until(&c->done);
}

static int
open_fds(void)
{
	DIR	*d = opendir("/proc/self/fd");
	int	 n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_write_commit_check)
{
	size_t		 n = 20 * MiB + 12345;	/* past SNAPSTORE_HIGH */
	unsigned char	*p = pattern(n), *back = malloc(n);
	char		 want[65], names[512], expect[80];
	struct wr	 w = { 0 };
	struct ck	 c;
	ssize_t		 got;

	sha256_hex(p, n, want);
	write_all(&w, p, n);
	ck_assert_msg(w.err[0] == '\0', "%s", w.err);
	ck_assert_str_eq(w.hash, want);
	ck_assert_uint_eq(w.size, n);
	ck_assert_int_ge(w.ndrained, 1);	/* it did fill up */
	listing(names, sizeof(names));
	snprintf(expect, sizeof(expect), "%s ", want);
	ck_assert_str_eq(names, expect);	/* no temporary file left */

	check(want, n, &c);
	ck_assert_msg(c.fd >= 0, "%s", c.err);
	ck_assert_int_eq(lseek(c.fd, 0, SEEK_CUR), 0);
	ck_assert_int_ne(fcntl(c.fd, F_GETFD) & FD_CLOEXEC, 0);
	got = pread(c.fd, back, n, 0);
	ck_assert_int_eq(got, (ssize_t)n);
	ck_assert_int_eq(memcmp(p, back, n), 0);
	close(c.fd);
	free(p);
	free(back);
}
END_TEST

START_TEST(test_empty_snapshot)
{
	struct wr	w = { 0 };
	char		want[65];

	sha256_hex((const unsigned char *)"", 0, want);
	write_all(&w, (const unsigned char *)"", 0);
	ck_assert_msg(w.err[0] == '\0', "%s", w.err);
	ck_assert_str_eq(w.hash, want);
	ck_assert_uint_eq(w.size, 0);
}
END_TEST

START_TEST(test_full_writer_says_so)
{
	unsigned char		*p = pattern(MiB);
	struct wr		 w = { 0 };
	struct snapstore_writer	*sw = snapstore_begin(ss, &wr_cb, &w);
	int			 falses = 0;

	ck_assert_ptr_nonnull(sw);
	/* without waiting: the bytes are taken, and it asks for a pause */
	for (size_t i = 0; i < SNAPSTORE_HIGH / MiB + 4; i++)
		falses += !snapstore_write(sw, p, MiB);
	ck_assert_int_ge(falses, 1);
	ck_assert(!w.drained);
	pump_until(&w.drained);
	snapstore_commit(sw);
	pump_until(&w.committed);
	ck_assert_msg(w.err[0] == '\0', "%s", w.err);
	ck_assert_uint_eq(w.size, (SNAPSTORE_HIGH / MiB + 4) * MiB);
	free(p);
}
END_TEST

START_TEST(test_abort_leaves_nothing)
{
	unsigned char		*p = pattern(3 * MiB);
	struct wr		 w = { 0 };
	struct snapstore_writer	*sw = snapstore_begin(ss, &wr_cb, &w);
	char			 names[512];

	ck_assert_ptr_nonnull(sw);
	snapstore_write(sw, p, 3 * MiB);
	snapstore_abort(sw);
	snapstore_drain(ss);
	listing(names, sizeof(names));
	ck_assert_str_eq(names, "");
	ck_assert(!w.committed && !w.drained);
	free(p);
}
END_TEST

/* An abort after the commit was asked: no callback; the file, renamed
 * or not, is the sweep's. */
START_TEST(test_abort_while_committing)
{
	unsigned char		*p = pattern(2 * MiB);
	struct wr		 w = { 0 };
	struct snapstore_writer	*sw = snapstore_begin(ss, &wr_cb, &w);

	ck_assert_ptr_nonnull(sw);
	snapstore_write(sw, p, 2 * MiB);
	snapstore_commit(sw);
	snapstore_abort(sw);
	snapstore_drain(ss);
	ck_assert(!w.committed);
	free(p);
}
END_TEST

START_TEST(test_callbacks_only_from_complete)
{
	unsigned char		*p = pattern(MiB);
	struct wr		 w = { 0 };
	struct snapstore_writer	*sw = snapstore_begin(ss, &wr_cb, &w);
	struct pollfd		 pf = { .fd = wake_pipe[0], .events = POLLIN };
	int			 wakes = 0;
	char			 c;

	ck_assert_ptr_nonnull(sw);
	snapstore_write(sw, p, MiB);	/* one full buffer: one job */
	snapstore_commit(sw);		/* and the commit: a second */
	while (wakes < 2) {
		ck_assert_int_eq(poll(&pf, 1, 10000), 1);
		if (read(wake_pipe[0], &c, 1) == 1)
			wakes++;
	}
	usleep(20000);
	ck_assert(!w.committed);	/* done, but the owner has not asked */
	snapstore_complete(ss);
	ck_assert(w.committed);
	ck_assert_msg(w.err[0] == '\0', "%s", w.err);
	free(p);
}
END_TEST

static void
put_file(const char *name, const unsigned char *p, size_t n)
{
	char	path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/snapshots/%s", tdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_check_finds_what_is_wrong)
{
	unsigned char	*p = pattern(100000);
	char		 h[65];
	struct ck	 c;

	sha256_hex(p, 100000, h);
	check(h, 100000, &c);
	ck_assert_int_eq(c.fd, -1);
	ck_assert_ptr_nonnull(strstr(c.err, "missing"));
	put_file(h, p, 99999);			/* short */
	check(h, 100000, &c);
	ck_assert_int_eq(c.fd, -1);
	ck_assert_ptr_nonnull(strstr(c.err, "99999 bytes, expected 100000"));
	p[5000] ^= 1;				/* damaged */
	put_file(h, p, 100000);
	check(h, 100000, &c);
	ck_assert_int_eq(c.fd, -1);
	ck_assert_ptr_nonnull(strstr(c.err, "its bytes hash to"));
	check("../../etc/passwd", 1, &c);
	ck_assert_int_eq(c.fd, -1);
	ck_assert_ptr_nonnull(strstr(c.err, "is not a snapshot name"));
	free(p);
}
END_TEST

START_TEST(test_cancelled_check_calls_no_one)
{
	unsigned char		*p = pattern(MiB);
	char			 h[65];
	struct ck		 c = { 0 };
	struct snapstore_check	*k;
	int			 before;

	sha256_hex(p, MiB, h);
	put_file(h, p, MiB);
	before = open_fds();
	ck_assert_ptr_nonnull(k = snapstore_verify(ss, h, MiB, ck_done, &c));
	snapstore_verify_cancel(k);
	snapstore_drain(ss);
	ck_assert(!c.done);
	ck_assert_int_eq(open_fds(), before);	/* its descriptor closed */
	free(p);
}
END_TEST

struct sweep_result {
	bool	done;
	bool	seen[3];
	size_t	n;
};

static void
swept(void *arg, const bool *seen, size_t n)
{
	struct sweep_result *r = arg;

	r->done = true;
	r->n = n;
	ck_assert_ptr_nonnull(seen);
	memcpy(r->seen, seen, n * sizeof(*seen));
}

START_TEST(test_sweep_keeps_only_what_is_named)
{
	unsigned char		*p = pattern(4096);
	char			 keep[3][SNAPSTORE_HASH_HEXLEN + 1], stray[65],
				 names[512], expect[200];
	struct sweep_result	 r = { 0 };

	sha256_hex(p, 10, keep[0]);
	sha256_hex(p, 20, keep[1]);		/* named, but missing */
	sha256_hex(p, 30, keep[2]);
	put_file(keep[0], p, 10);
	put_file(keep[2], p, 30);
	put_file("tmp.1.0", p, 4096);		/* unfinished */
	sha256_hex(p, 40, stray);
	put_file(stray, p, 40);			/* no record names it */
	ck_assert_int_eq(snapstore_sweep(ss,
	    (const char (*)[SNAPSTORE_HASH_HEXLEN + 1])keep, 3, swept, &r), 0);
	pump_until(&r.done);
	ck_assert_uint_eq(r.n, 3);
	ck_assert(r.seen[0] && !r.seen[1] && r.seen[2]);
	listing(names, sizeof(names));
	if (strcmp(keep[0], keep[2]) < 0)
		snprintf(expect, sizeof(expect), "%s %s ", keep[0], keep[2]);
	else
		snprintf(expect, sizeof(expect), "%s %s ", keep[2], keep[0]);
	ck_assert_str_eq(names, expect);
	free(p);
}
END_TEST

static Suite *
snapstore_suite(void)
{
	Suite	*s = suite_create("snapstore");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_write_commit_check);
	tcase_add_test(tc, test_empty_snapshot);
	tcase_add_test(tc, test_full_writer_says_so);
	tcase_add_test(tc, test_abort_leaves_nothing);
	tcase_add_test(tc, test_abort_while_committing);
	tcase_add_test(tc, test_callbacks_only_from_complete);
	tcase_add_test(tc, test_check_finds_what_is_wrong);
	tcase_add_test(tc, test_cancelled_check_calls_no_one);
	tcase_add_test(tc, test_sweep_keeps_only_what_is_named);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(snapstore_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
