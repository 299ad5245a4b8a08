/*
 * check_worker.c — the kernel side of a worker against real processes:
 * what a spawned worker inherits (descriptors, environment), exec
 * failures (reported from the loop, as a fault, never by blocking on the
 * child's exec), framing and protocol faults, exit classification,
 * deadlines, orderly stop, and heap snapshots (a file given as fd 8;
 * `w@7` read from fd 7 up to the announced count).  Small /bin/sh scripts play the worker here; the
 * native test worker is exercised in check_vatworker.c.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/log.h"
#include "workers/worker.h"

struct probe {
	int		 replies, upcalls, faults;
	enum worker_fault fault;
	char		 why[256];
	char		 result[256];
	struct worker	*w;
	bool		 answer_upcalls;
	bool		 answer_later;	/* pause the deadline, answer in 0.6 s */
	ev_timer	 later;
	size_t		 snap_bytes;	/* read from fd 7 */
	size_t		 snap_at_reply;	/* …when the reply came */
	bool		 snap_ok;	/* every byte was 'x' */
};

static void
probe_upcall(struct worker *w, void *arg, const unsigned char *m, size_t n)
{
	struct probe *p = arg;

	(void)m;
	(void)n;
	p->upcalls++;
	if (p->answer_upcalls)
		ck_assert_int_eq(worker_answer(w, "[\"ok\"]", 6), 0);
	if (p->answer_later) {
		worker_deadline_pause(w, true);
		ev_timer_start(ev_default_loop(0), &p->later);
	}
}

/* The later answer: the deadline runs again, with what was left. */
static void
probe_later_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct probe *p = t->data;

	(void)loop;
	(void)revents;
	worker_deadline_pause(p->w, false);
	ck_assert_int_eq(worker_answer(p->w, "[\"ok\"]", 6), 0);
}

static void
probe_reply(struct worker *w, void *arg, const struct worker_reply *r)
{
	struct probe *p = arg;

	(void)w;
	p->replies++;
	p->snap_at_reply = p->snap_bytes;
	snprintf(p->result, sizeof(p->result), "%c%.*s", r->ok ? '.' : '!',
	    (int)r->resultlen, (const char *)r->result);
}

static void
probe_fault(struct worker *w, void *arg, enum worker_fault f, const char *why)
{
	struct probe *p = arg;

	(void)w;
	p->faults++;
	p->fault = f;
	snprintf(p->why, sizeof(p->why), "%s", why);
}

static void
probe_snapshot(struct worker *w, void *arg, const unsigned char *b, size_t n)
{
	struct probe *p = arg;

	(void)w;
	if (p->snap_bytes == 0)
		p->snap_ok = true;
	for (size_t i = 0; i < n; i++)
		p->snap_ok = p->snap_ok && b[i] == 'x';
	p->snap_bytes += n;
}

static const struct worker_callbacks probe_cb = {
	.upcall = probe_upcall,
	.reply = probe_reply,
	.fault = probe_fault,
	.snapshot_data = probe_snapshot,
};

static void
timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until *flag becomes nonzero or 10 s pass. */
static void
run_until(int *flag)
{
	struct ev_loop	*loop = ev_default_loop(0);
	ev_timer	 guard;
	double		 start = ev_now(loop);

	ev_timer_init(&guard, timeout_cb, 0.01, 0.01);
	ev_timer_start(loop, &guard);
	while (*flag == 0 && ev_now(loop) - start < 10.0) {
		ev_run(loop, EVRUN_ONCE);
		ev_now_update(loop);
	}
	ev_timer_stop(loop, &guard);
	ck_assert_msg(*flag != 0, "timed out waiting");
}

static void	wait_zombies(void);

/* A /bin/sh worker; spec_in (may be NULL) adds the snapshot options. */
static struct worker *
spawn_sh_with(struct probe *p, const char *script, const char *arg1,
    double tmo, const struct worker_spec *spec_in)
{
	const char		*argv[] = { "/bin/sh", "-c", script, "sh", arg1,
				    NULL };
	struct worker_spec	 spec = { .label = "t1:test" };
	char			 err[256];

	if (spec_in != NULL)
		spec = *spec_in;
	spec.argv = argv;
	spec.max_frame = 1 << 20;
	spec.timeout = tmo;
	memset(p, 0, sizeof(*p));
	ck_assert_msg(worker_spawn(ev_default_loop(0), &spec, &probe_cb, p,
	    &p->w, err, sizeof(err)) == 0, "%s", err);
	return p->w;
}

static struct worker *
spawn_sh(struct probe *p, const char *script, const char *arg1, double tmo)
{
	return spawn_sh_with(p, script, arg1, tmo, NULL);
}

/* The descriptors and environment of a live process, from /proc. */
static void
proc_fds(pid_t pid, char *out, size_t outlen)
{
	char		 cmd[128];
	FILE		*p;
	size_t		 n;

	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | sort -n | tr '\\n' ' '",
	    (int)pid);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	pclose(p);
}

START_TEST(test_inherits_only_protocol_fds_and_scrubbed_env)
{
	const char		*argv[] = { "/bin/sleep", "30", NULL };
	struct worker_spec	 spec = { .argv = argv, .label = "t1:sleep",
				    .max_frame = 1 << 20 };
	struct probe		 p = { 0 };
	char			 err[256], fds[256], path[64];
	FILE			*f;
	size_t			 n;

	setenv("SWINGSET_SECRET", "leak", 1);
	ck_assert_msg(worker_spawn(ev_default_loop(0), &spec, &probe_cb, &p,
	    &p.w, err, sizeof(err)) == 0, "%s", err);
	usleep(100000);		/* let the dynamic loader finish */
	proc_fds(worker_pid(p.w), fds, sizeof(fds));
	ck_assert_str_eq(fds, "0 1 2 3 4 ");
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)worker_pid(p.w));
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(err, 1, sizeof(err) - 1, f);
	fclose(f);
	err[n] = '\0';		/* the first variable, NUL-separated */
	ck_assert_str_eq(err, "PATH=/usr/local/bin:/usr/bin:/bin");
	ck_assert_ptr_null(memmem(err, n, "SWINGSET_SECRET", 15));
	worker_kill(p.w);
	while (worker_zombies() > 0)
		ev_run(ev_default_loop(0), EVRUN_ONCE);
}
END_TEST

/*
 * A program that cannot be executed: worker_spawn() does not wait for the
 * child's exec (that would block the loop); it returns the worker, and
 * the failure comes later, from the loop, as the worker's fault.
 */
START_TEST(test_exec_failure_is_reported)
{
	const char		*argv[] = { "/nonexistent/worker", NULL };
	struct worker_spec	 spec = { .argv = argv, .label = "t2:",
				    .max_frame = 1 << 20 };
	struct probe		 p = { 0 };
	char			 err[256];

	ck_assert_msg(worker_spawn(ev_default_loop(0), &spec, &probe_cb, &p,
	    &p.w, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(p.w);
	ck_assert_int_eq(p.faults, 0);		/* not from inside the call */
	run_until(&p.faults);
	ck_assert_int_eq(p.faults, 1);
	ck_assert_int_eq(p.fault, WORKER_FAULT_EXEC);
	ck_assert(!worker_fault_is_vat(p.fault));
	ck_assert_str_eq(p.why, "cannot execute /nonexistent/worker: "
	    "No such file or directory");
	worker_kill(p.w);
	wait_zombies();
}
END_TEST

/* The owner talks to it at once, as a vat worker does (its boot
 * commands): the command pipe breaks when the child exits, but the fault
 * reported is still the cause, the exec. */
START_TEST(test_exec_failure_wins_over_a_broken_pipe)
{
	const char		*argv[] = { "/nonexistent/worker", NULL };
	struct worker_spec	 spec = { .argv = argv, .label = "t2:",
				    .max_frame = 1 << 20 };
	struct probe		 p = { 0 };
	char			 err[256];

	ck_assert_msg(worker_spawn(ev_default_loop(0), &spec, &probe_cb, &p,
	    &p.w, err, sizeof(err)) == 0, "%s", err);
	usleep(100000);			/* the child has exited by now */
	(void)worker_command(p.w, 'e', "1", 1);
	run_until(&p.faults);
	ck_assert_int_eq(p.fault, WORKER_FAULT_EXEC);
	ck_assert_str_eq(p.why, "cannot execute /nonexistent/worker: "
	    "No such file or directory");
	ck_assert_int_eq(p.replies, 0);
	worker_kill(p.w);
	wait_zombies();
}
END_TEST

/*
 * The exec verdict must survive any descriptor numbers: with the low
 * descriptors closed in the parent, the pipes (the status pipe among them)
 * land on numbers the child's targets (0-4, 7, 8) reuse.  Loop i closes
 * 0..i; with fd 7 asked for too, the status pipe meets each target in
 * turn.  The loop runs until the fault with those descriptors still
 * closed (no assertion then: Check's own are among them); they are put
 * back once the worker is freed.  The loop's own descriptors are made
 * first, above them all.
 */
#define LOWFDS	9
#define HIGHFD	64

static struct ev_loop *
loop_above(int high)
{
	int	 ph[HIGHFD], n = 0, fd;
	struct ev_loop *loop;

	while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1 &&
	    fd < high && n < HIGHFD)
		ph[n++] = fd;
	if (fd >= high)
		close(fd);
	loop = ev_default_loop(0);	/* its epoll and signal fds: high */
	while (n > 0)
		close(ph[--n]);
	return loop;
}

START_TEST(test_exec_failure_reported_with_low_fds_closed)
{
	const char		*argv[] = { "/nonexistent/worker", NULL };
	struct worker_spec	 spec = { .argv = argv, .label = "t2:",
				    .max_frame = 1 << 20, .snap_out = true };
	struct probe		 p = { 0 };
	struct ev_loop		*loop = loop_above(HIGHFD);
	char			 err[256];
	int			 saved[LOWFDS], rc;
	double			 start = ev_now(loop);

	for (int fd = 0; fd < LOWFDS; fd++) {
		saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, HIGHFD);
		if (fd <= _i)
			close(fd);
	}
	rc = worker_spawn(loop, &spec, &probe_cb, &p, &p.w, err, sizeof(err));
	while (rc == 0 && p.faults == 0 && ev_now(loop) - start < 10.0) {
		ev_run(loop, EVRUN_ONCE);
		ev_now_update(loop);
	}
	if (rc == 0) {
		worker_kill(p.w);
		while (worker_zombies() > 0)
			ev_run(loop, EVRUN_ONCE);
	}
	for (int fd = 0; fd < LOWFDS; fd++) {
		if (fd <= _i)
			close(fd);	/* whatever the spawn left there */
		if (saved[fd] != -1 && (dup2(saved[fd], fd) == -1 ||
		    close(saved[fd]) == -1))
			_exit(99);
	}
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_msg(p.faults == 1 && p.fault == WORKER_FAULT_EXEC,
	    "exec failure reported as %s (%s) with fds 0..%d closed",
	    worker_fault_name(p.fault), p.why, _i);
	ck_assert_str_eq(p.why, "cannot execute /nonexistent/worker: "
	    "No such file or directory");
}
END_TEST

START_TEST(test_upcalls_then_reply)
{
	struct probe p;

	spawn_sh(&p, "head -c 4 <&3 >/dev/null; printf '3:?ab,' >&4; "
	    "head -c 9 <&3 >/dev/null; printf '6:.{}\\001ok,' >&4; cat <&3",
	    NULL, 0);
	p.answer_upcalls = true;
	ck_assert_int_eq(worker_command(p.w, 'x', NULL, 0), 0);
	ck_assert_int_eq(worker_command(p.w, 'y', NULL, 0), -1);
	run_until(&p.replies);
	ck_assert_int_eq(p.upcalls, 1);
	ck_assert_str_eq(p.result, ".ok");
	ck_assert(!worker_busy(p.w));
	worker_stop(p.w, 1.0);
	while (worker_zombies() > 0)
		ev_run(ev_default_loop(0), EVRUN_ONCE);
}
END_TEST

/* An upcall answered after more than the command's timeout, the
 * deadline paused meanwhile: no fault (the bridge's callOutbound). */
START_TEST(test_upcall_answered_later_pauses_the_deadline)
{
	struct probe p;

	spawn_sh(&p, "head -c 4 <&3 >/dev/null; printf '3:?ab,' >&4; "
	    "head -c 9 <&3 >/dev/null; printf '6:.{}\\001ok,' >&4; cat <&3",
	    NULL, 0.3);
	p.answer_later = true;
	ev_timer_init(&p.later, probe_later_cb, 0.6, 0.);
	p.later.data = &p;
	ck_assert_int_eq(worker_command(p.w, 'x', NULL, 0), 0);
	run_until(&p.replies);
	ck_assert_int_eq(p.faults, 0);
	ck_assert_int_eq(p.upcalls, 1);
	ck_assert_str_eq(p.result, ".ok");
	worker_stop(p.w, 1.0);
	while (worker_zombies() > 0)
		ev_run(ev_default_loop(0), EVRUN_ONCE);
}
END_TEST

/* Each broken worker and the fault it must be classified as. */
static const struct {
	const char		*script;
	enum worker_fault	 fault;
	double			 timeout;
} broken[] = {
	{ "head -c 4 <&3 >/dev/null; printf 'x:.,' >&4; sleep 5",
	    WORKER_FAULT_PROTOCOL, 0 },
	{ "head -c 4 <&3 >/dev/null; printf '2:.a;' >&4; sleep 5",
	    WORKER_FAULT_PROTOCOL, 0 },
	{ "head -c 4 <&3 >/dev/null; printf '1:Z,' >&4; sleep 5",
	    WORKER_FAULT_PROTOCOL, 0 },
	{ "printf '1:.,' >&4; sleep 5", WORKER_FAULT_PROTOCOL, 0 },
	{ "head -c 4 <&3 >/dev/null; exit 17", WORKER_FAULT_VAT_COMPUTE, 0 },
	{ "head -c 4 <&3 >/dev/null; exit 11", WORKER_FAULT_VAT_MEMORY, 0 },
	{ "head -c 4 <&3 >/dev/null; exit 12", WORKER_FAULT_VAT_STACK, 0 },
	{ "head -c 4 <&3 >/dev/null; exit 2", WORKER_FAULT_EXIT, 0 },
	{ "head -c 4 <&3 >/dev/null; kill -9 $$", WORKER_FAULT_SIGNAL, 0 },
	{ "head -c 4 <&3 >/dev/null; sleep 5", WORKER_FAULT_TIMEOUT, 0.2 },
	/* a frame over max_frame is the vat's (issue 11 defect 11) */
	{ "printf '99999999:' >&4; sleep 5", WORKER_FAULT_VAT_FRAME, 0 },
};

START_TEST(test_fault_classification)
{
	struct probe p;

	spawn_sh(&p, broken[_i].script, NULL, broken[_i].timeout);
	if (strstr(broken[_i].script, "head") != NULL ||
	    strstr(broken[_i].script, "9999") != NULL)
		ck_assert_int_eq(worker_command(p.w, 'e', NULL, 0), 0);
	run_until(&p.faults);
	ck_assert_msg(p.fault == broken[_i].fault, "case %d: got %s (%s)",
	    _i, worker_fault_name(p.fault), p.why);
	ck_assert_int_eq(p.replies, 0);
	ck_assert_int_eq(worker_fault_is_vat(p.fault),
	    (p.fault >= WORKER_FAULT_VAT_COMPUTE &&
	    p.fault <= WORKER_FAULT_VAT_STACK) ||
	    p.fault == WORKER_FAULT_VAT_FRAME);
	worker_stop(p.w, 0);
	ck_assert_int_eq((int)worker_zombies(), 0);
}
END_TEST

START_TEST(test_stop_idle_worker_exits_cleanly)
{
	struct probe p;

	/* cat exits when fd 3 reaches EOF after 'q' */
	spawn_sh(&p, "cat <&3 >/dev/null", NULL, 0);
	worker_stop(p.w, 2.0);
	ck_assert_int_eq((int)worker_zombies(), 1);
	while (worker_zombies() > 0)
		ev_run(ev_default_loop(0), EVRUN_ONCE);
	ck_assert_int_eq(p.faults, 0);	/* released: no callbacks */
}
END_TEST

START_TEST(test_stop_hung_worker_is_killed)
{
	struct probe p;

	spawn_sh(&p, "trap '' TERM; exec sleep 30", NULL, 0);
	worker_stop(p.w, 0.2);
	while (worker_zombies() > 0)
		ev_run(ev_default_loop(0), EVRUN_ONCE);
}
END_TEST

/* ---- heap snapshot pipes ---------------------------------------------- */

static void
wait_zombies(void)
{
	while (worker_zombies() > 0)
		ev_run(ev_default_loop(0), EVRUN_ONCE);
}

/* A temporary file of n bytes 'x' (unlinked), open for reading. */
static int
x_file(size_t n, char *path, size_t pathlen)
{
	FILE	*f;
	int	 fd;

	snprintf(path, pathlen, "/tmp/check_worker.%d.snap", (int)getpid());
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (size_t i = 0; i < n; i++)
		ck_assert_int_ne(fputc('x', f), EOF);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_ge(fd = open(path, O_RDONLY | O_CLOEXEC), 0);
	return fd;
}

/* The descriptors a worker spawned with spec gets. */
static void
assert_fds(const struct worker_spec *spec, const char *want)
{
	struct probe	 p;
	char		 fds[256];

	spawn_sh_with(&p, "exec sleep 30", NULL, 0, spec);
	usleep(100000);
	proc_fds(worker_pid(p.w), fds, sizeof(fds));
	ck_assert_str_eq(fds, want);
	worker_kill(p.w);
	wait_zombies();
}

START_TEST(test_snapshot_fds_only_when_asked)
{
	char			 path[64];
	struct worker_spec	 spec = { .label = "t1:snap", .snap_out = true,
				    .restore = true };

	spec.restore_fd = x_file(10, path, sizeof(path));
	assert_fds(&spec, "0 1 2 3 4 7 8 ");
	spec.restore = false;
	assert_fds(&spec, "0 1 2 3 4 7 ");
	unlink(path);
}
END_TEST

/* 300 kB (several pipe buffers) arrive on fd 8, then EOF; the worker
 * compares them with the file and says so in its reply to R. */
START_TEST(test_restore_streams_the_file_into_fd8)
{
	char			 path[64];
	struct worker_spec	 spec = { .label = "t1:restore",
				    .restore = true };
	struct probe		 p;

	spec.restore_fd = x_file(300000, path, sizeof(path));
	spawn_sh_with(&p, "cat <&8 >\"$1.got\"; head -c 4 <&3 >/dev/null; "
	    "if cmp -s \"$1\" \"$1.got\"; then r=same; else r=diff; fi; "
	    "printf '5:.%s,' $r >&4; cat <&3 >/dev/null", path, 5.0, &spec);
	ck_assert_int_eq(worker_command(p.w, 'R', NULL, 0), 0);
	run_until(&p.replies);
	ck_assert_str_eq(p.result, ".same");
	worker_stop(p.w, 1.0);
	wait_zombies();
	unlink(path);
	strcat(path, ".got");
	unlink(path);
}
END_TEST

/* The reply comes first, the 300 kB after it: the reply is held until
 * fd 7 has given all of them. */
START_TEST(test_snapshot_reply_waits_for_fd7)
{
	struct worker_spec	 spec = { .label = "t1:w", .snap_out = true };
	struct probe		 p;

	spawn_sh_with(&p, "head -c 6 <&3 >/dev/null; "
	    "printf '10:.{}\001300000,' >&4; "
	    "head -c 300000 /dev/zero | tr '\\0' x >&7; cat <&3 >/dev/null",
	    NULL, 5.0, &spec);
	ck_assert_int_eq(worker_snapshot(p.w), 0);
	run_until(&p.replies);
	ck_assert_str_eq(p.result, ".300000");
	ck_assert_int_eq(p.snap_at_reply, 300000);
	ck_assert(p.snap_ok);
	ck_assert(!worker_busy(p.w));
	worker_stop(p.w, 1.0);
	wait_zombies();
}
END_TEST

/* More bytes on fd 7 than the reply announces, or no count at all. */
static const char *const snap_broken[] = {
	"head -c 6 <&3 >/dev/null; printf '6:.{}\00110,' >&4; "
	    "printf 'xxxxxxxxxxxxxxxxxxxx' >&7; sleep 5",
	"head -c 6 <&3 >/dev/null; printf 'xxxxxxxxxxxxxxxxxxxx' >&7; "
	    "sleep 0.3; printf '6:.{}\00110,' >&4; sleep 5",
	"head -c 6 <&3 >/dev/null; printf '4:.{}\001,' >&4; sleep 5",
};

START_TEST(test_snapshot_count_mismatch_is_a_protocol_fault)
{
	struct worker_spec	 spec = { .label = "t1:w", .snap_out = true };
	struct probe		 p;

	spawn_sh_with(&p, snap_broken[_i], NULL, 5.0, &spec);
	ck_assert_int_eq(worker_snapshot(p.w), 0);
	run_until(&p.faults);
	ck_assert_msg(p.fault == WORKER_FAULT_PROTOCOL, "case %d: %s (%s)",
	    _i, worker_fault_name(p.fault), p.why);
	ck_assert_int_eq(p.replies, 0);
	worker_stop(p.w, 0);
	wait_zombies();
}
END_TEST

START_TEST(test_snapshot_needs_fd7)
{
	struct probe p;

	spawn_sh(&p, "cat <&3 >/dev/null", NULL, 0);
	ck_assert_int_eq(worker_snapshot(p.w), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	worker_stop(p.w, 1.0);
	wait_zombies();
}
END_TEST

static Suite *
worker_suite(void)
{
	Suite	*s = suite_create("worker");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_inherits_only_protocol_fds_and_scrubbed_env);
	tcase_add_test(tc, test_exec_failure_is_reported);
	tcase_add_test(tc, test_exec_failure_wins_over_a_broken_pipe);
	tcase_add_loop_test(tc, test_exec_failure_reported_with_low_fds_closed,
	    0, LOWFDS);
	tcase_add_test(tc, test_upcalls_then_reply);
	tcase_add_test(tc, test_upcall_answered_later_pauses_the_deadline);
	tcase_add_loop_test(tc, test_fault_classification, 0,
	    (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(tc, test_stop_idle_worker_exits_cleanly);
	tcase_add_test(tc, test_stop_hung_worker_is_killed);
	tcase_add_test(tc, test_snapshot_fds_only_when_asked);
	tcase_add_test(tc, test_restore_streams_the_file_into_fd8);
	tcase_add_test(tc, test_snapshot_reply_waits_for_fd7);
	tcase_add_loop_test(tc, test_snapshot_count_mismatch_is_a_protocol_fault,
	    0, (int)(sizeof(snap_broken) / sizeof(snap_broken[0])));
	tcase_add_test(tc, test_snapshot_needs_fd7);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(worker_suite());
	int	 failed;

	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LVL_WARN, "check_worker");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
