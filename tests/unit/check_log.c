/*
 * check_log.c — unit suite for protocol/log.c: the line format, control
 * characters escaped, and the queued mode: with stderr a pipe nobody
 * reads, log calls return at once, lines past the queue's bounds are
 * dropped and counted, and once the pipe is read the kept lines come out
 * whole and in order, with "N log lines dropped" warnings accounting for
 * every dropped one.  Each test runs in its own process (Check's fork
 * mode), its stderr replaced by a pipe.  Links protocol/log.o only.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol/log.h"

static int	 err_pipe[2];	/* [0]: what the logger wrote to stderr */

static void
setup(void)
{
	ck_assert_int_eq(pipe2(err_pipe, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(err_pipe[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(dup2(err_pipe[1], STDERR_FILENO), STDERR_FILENO);
	log_init(LOG_LVL_INFO, "check_log");
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Everything the logger wrote, read until it has been quiet for 300 ms
 * (malloc'd, NUL-terminated). */
static char *
read_all(void)
{
	size_t	 len = 0, cap = 1 << 20;
	char	*buf = malloc(cap);
	double	 quiet = now();
	ssize_t	 n;

	ck_assert_ptr_nonnull(buf);
	while (now() - quiet < 0.3) {
		if (len + 65536 + 1 > cap) {
			cap *= 2;
			ck_assert_ptr_nonnull(buf = realloc(buf, cap));
		}
		n = read(err_pipe[0], buf + len, 65536);
		if (n > 0) {
			len += (size_t)n;
			quiet = now();
		} else {
			ck_assert(n == -1 && errno == EAGAIN);
			usleep(1000);
		}
	}
	buf[len] = '\0';
	return buf;
}

START_TEST(test_line_format_and_escapes)
{
	regex_t	 re;
	char	*out;

	log_info("unit", "hello %s\x1b[2J\nforged", "world");
	out = read_all();
	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}"
	    "\\.[0-9]{3}Z info unit: hello world\\\\x1b\\[2J\\\\x0aforged\n$",
	    REG_EXTENDED), 0);
	ck_assert_msg(regexec(&re, out, 0, NULL, 0) == 0, "%s", out);
	regfree(&re);
	free(out);
}
END_TEST

/* The queue, its bounds, the count, the warnings, the order. */
START_TEST(test_queue_drops_and_counts_rather_than_waits)
{
	const int	 n = 3 * LOG_QUEUE_LINES;
	double		 t0;
	char		*out, *p;
	unsigned long	 said = 0, next = 0, got;
	uint64_t	 dropped;

	ck_assert_int_eq(log_async_start(), 0);
	t0 = now();
	for (int i = 0; i < n; i++)
		log_info("unit", "line %d of the flood, padding padding", i);
	/* a pipe holds 64 kB: the rest waited in the queue, or was dropped */
	ck_assert_msg(now() - t0 < 2.0, "logging took %.2f s", now() - t0);
	dropped = log_dropped();
	ck_assert_uint_gt(dropped, 0);
	ck_assert_uint_lt(dropped, (uint64_t)n);
	out = read_all();		/* writing resumes */
	log_async_stop(5.0);
	/* every line whole; kept lines in order; gaps announced */
	for (p = out; *p != '\0'; p = strchr(p, '\n') + 1) {
		ck_assert_ptr_nonnull(strchr(p, '\n'));
		if (sscanf(strchr(p, ' ') + 1, "warn log: %lu log lines "
		    "dropped", &got) == 1) {
			said += got;
			next += got;
			continue;
		}
		ck_assert_msg(sscanf(strchr(p, ' ') + 1, "info unit: line %lu "
		    "of the flood", &got) == 1, "%.*s", (int)(strchr(p, '\n') -
		    p), p);
		ck_assert_uint_eq(got, next);
		next++;
	}
	ck_assert_uint_eq(next, (unsigned long)n);
	ck_assert_uint_eq(said, dropped);
	ck_assert_uint_eq(log_dropped(), dropped);
	free(out);
}
END_TEST

/* Nothing lost when stderr keeps up; synchronous again after stop. */
START_TEST(test_queue_flushes_on_stop)
{
	char	*out;
	int	 lines = 0;

	ck_assert_int_eq(log_async_start(), 0);
	for (int i = 0; i < 100; i++)
		log_warnx("unit", "queued %d", i);
	log_async_stop(5.0);
	log_info("unit", "after the stop");
	out = read_all();
	for (char *p = out; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	ck_assert_int_eq(lines, 101);
	ck_assert_uint_eq(log_dropped(), 0);
	ck_assert_ptr_nonnull(strstr(out, "warn unit: queued 99\n"));
	ck_assert_ptr_nonnull(strstr(out, "info unit: after the stop\n"));
	free(out);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_line_format_and_escapes);
	tcase_add_test(tc, test_queue_drops_and_counts_rather_than_waits);
	tcase_add_test(tc, test_queue_flushes_on_stop);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(log_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
