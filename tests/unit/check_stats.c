/*
 * check_stats.c — unit suite for daemon/kernel/stats.c: SwingSet's
 * incStat/decStat semantics (a gauge's Up, Down and Max), the two kv
 * keys written at a crank's commit in SwingSet's key order, an aborted
 * crank leaving the numbers as they were, the numbers read back after a
 * restart (keys SwingSet does not have dropped, damaged ones halting),
 * the creation queue counted as SwingSet's create-vat event, and the
 * syscall counters.  Links stats.o, the store, protocol/log.o; the one
 * kernel function stats.c calls besides (kernel_store_halt) is a stub.
 * Each test works in its own mkdtemp directory, removed at the end.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/kernel/kernel_impl.h"

static char	tdir[64];
static int	halts;

/* The kernel's halt, as stats.c calls it on damaged keys. */
void
kernel_store_halt(struct kernel *k, const char *msg)
{
	(void)k;
	(void)msg;
	halts++;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
dir_setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/check_stats.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	halts = 0;
}

static void
dir_teardown(void)
{
	ck_assert_int_eq(nftw(tdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* A kernel with only what stats.c uses: the store and the queues. */
static struct kernel *
kernel_new(void)
{
	struct store_options	 opt = { 4u << 20, 0, true };
	struct kernel		*k = calloc(1, sizeof(*k));
	char			 err[256];

	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(store_open(tdir, &opt, &k->st, err, sizeof(err)),
	    STORE_OK);
	k->runq.key = "runQueue";
	k->accq.key = "acceptanceQueue";
	k->createq.key = "createQueue";
	return k;
}

static void
kernel_free(struct kernel *k)
{
	store_close(k->st);
	free(k);
}

static long long
stat_of(struct kernel *k, const char *name)
{
	json_t		*o = kernel_stats(k);
	const json_t	*v;
	long long	 n;

	ck_assert_ptr_nonnull(o);
	v = json_object_get(o, name);
	ck_assert_msg(json_is_integer(v), "no statistic %s", name);
	n = json_integer_value(v);
	json_decref(o);
	return n;
}

static void
absent(struct kernel *k, const char *name)
{
	json_t *o = kernel_stats(k);

	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_null(json_object_get(o, name));
	json_decref(o);
}

static void
begin(struct kernel *k)
{
	ck_assert_int_eq(store_crank_begin(k->st), STORE_OK);
}

static void
commit(struct kernel *k)
{
	ck_assert_int_eq(kstat_commit(k), STORE_OK);
}

START_TEST(test_gauge)
{
	struct kernel *k = kernel_new();

	begin(k);
	kstat_add(k, KS_KERNEL_OBJECTS, 1);
	kstat_add(k, KS_KERNEL_OBJECTS, 1);
	kstat_add(k, KS_KERNEL_OBJECTS, -1);
	kstat_add(k, KS_KERNEL_OBJECTS, 3);
	kstat_add(k, KS_KERNEL_OBJECTS, -4);
	kstat_add(k, KS_DISPATCHES, 2);
	kstat_add(k, KS_DISPATCHES, -1);	/* a counter: refused */
	commit(k);
	ck_assert_int_eq(stat_of(k, "kernelObjects"), 0);
	ck_assert_int_eq(stat_of(k, "kernelObjectsUp"), 5);
	ck_assert_int_eq(stat_of(k, "kernelObjectsDown"), 5);
	ck_assert_int_eq(stat_of(k, "kernelObjectsMax"), 4);
	ck_assert_int_eq(stat_of(k, "dispatches"), 2);
	absent(k, "dispatchesUp");
	kernel_free(k);
}
END_TEST

/* The keys' text: SwingSet's JSON.stringify of its stats objects. */
START_TEST(test_keys)
{
	struct kernel	*k = kernel_new();
	char		*v;

	begin(k);
	kstat_queue(k, &k->runq, 1);
	kstat_queue(k, &k->accq, 1);
	kstat_queue(k, &k->accq, -1);
	kstat_add(k, KS_PROMISE_QUEUES_LENGTH, 2);
	kstat_add(k, KS_VATS, 3);
	commit(k);
	v = kv_get(k->st, "kernelStats");
	ck_assert_str_eq(v, "{\"runQueueLength\":1,\"runQueueLengthUp\":1,"
	    "\"runQueueLengthDown\":0,\"runQueueLengthMax\":1,"
	    "\"acceptanceQueueLength\":0,\"acceptanceQueueLengthUp\":1,"
	    "\"acceptanceQueueLengthDown\":1,\"acceptanceQueueLengthMax\":1,"
	    "\"promiseQueuesLength\":2,\"promiseQueuesLengthUp\":2,"
	    "\"promiseQueuesLengthDown\":0,\"promiseQueuesLengthMax\":2}");
	free(v);
	v = kv_get(k->st, "local.kernelStats");
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(strstr(v, "{\"syscalls\":0,\"syscallSend\":0,"));
	ck_assert_ptr_nonnull(strstr(v, ",\"vats\":3,\"vatsUp\":3,"
	    "\"vatsDown\":0,\"vatsMax\":3}"));
	ck_assert_ptr_null(strstr(v, "runQueue"));
	free(v);
	kernel_free(k);
}
END_TEST

START_TEST(test_abort)
{
	struct kernel *k = kernel_new();

	begin(k);
	kstat_add(k, KS_CLIST_ENTRIES, 2);
	commit(k);
	begin(k);
	kstat_add(k, KS_CLIST_ENTRIES, 5);
	kstat_add(k, KS_CLIST_ENTRIES, -1);
	ck_assert_int_eq(stat_of(k, "clistEntries"), 2);  /* committed ones */
	store_crank_abort(k->st);
	kstat_abort(k);
	begin(k);
	kstat_add(k, KS_CLIST_ENTRIES, -1);
	commit(k);
	ck_assert_int_eq(stat_of(k, "clistEntries"), 1);
	ck_assert_int_eq(stat_of(k, "clistEntriesMax"), 2);
	ck_assert_int_eq(stat_of(k, "clistEntriesDown"), 1);
	kernel_free(k);
}
END_TEST

/* A restart reads the numbers back; a key SwingSet has not is dropped. */
START_TEST(test_reload)
{
	struct kernel *k = kernel_new();

	begin(k);
	kstat_add(k, KS_KP_FULFILLED, 4);
	kstat_queue(k, &k->runq, 1);
	commit(k);
	begin(k);
	ck_assert_int_eq(kv_put(k->st, "local.kernelStats",
	    "{\"kpFulfilled\":4,\"kpFulfilledMax\":7,\"gone\":1}"), STORE_OK);
	ck_assert_int_eq(store_crank_commit(k->st), STORE_OK);
	ck_assert_int_eq(store_block_commit(k->st, 1), STORE_OK);
	kernel_free(k);

	k = kernel_new();
	ck_assert_int_eq(stat_of(k, "kpFulfilled"), 4);
	ck_assert_int_eq(stat_of(k, "kpFulfilledMax"), 7);
	ck_assert_int_eq(stat_of(k, "kpFulfilledUp"), 0);
	ck_assert_int_eq(stat_of(k, "runQueueLength"), 1);
	absent(k, "gone");
	ck_assert_int_eq(halts, 0);
	kernel_free(k);
}
END_TEST

START_TEST(test_damaged)
{
	struct kernel *k = kernel_new();

	begin(k);
	ck_assert_int_eq(kv_put(k->st, "kernelStats", "{\"runQueueLength\":"
	    "\"x\"}"), STORE_OK);
	ck_assert_int_eq(store_crank_commit(k->st), STORE_OK);
	begin(k);
	kstat_add(k, KS_VATS, 1);
	ck_assert_int_eq(halts, 1);
	ck_assert_int_ne(store_crank_status(k->st), STORE_OK);
	store_crank_abort(k->st);
	kernel_free(k);

	/* not JSON at all */
	k = kernel_new();
	begin(k);
	ck_assert_int_eq(kv_put(k->st, "local.kernelStats", "{\"vats\":"),
	    STORE_OK);
	ck_assert_int_eq(store_crank_commit(k->st), STORE_OK);
	begin(k);
	kstat_add(k, KS_VATS, 1);
	ck_assert_int_eq(halts, 2);
	store_crank_abort(k->st);
	kernel_free(k);
}
END_TEST

/*
 * A creation request is SwingSet's create-vat event: on the acceptance
 * queue, then through the run-queue; a failed startVat loses the
 * dequeue (SwingSet's rollback).
 */
START_TEST(test_creation)
{
	struct kernel *k = kernel_new();

	begin(k);
	kstat_queue(k, &k->createq, 1);
	kstat_queue(k, &k->createq, 1);
	kstat_queue(k, &k->createq, -1);	/* a pseudo-crank */
	kstat_queue(k, &k->createq, -1);	/* one that failed */
	kstat_creation_failed(k);
	commit(k);
	ck_assert_int_eq(stat_of(k, "acceptanceQueueLength"), 0);
	ck_assert_int_eq(stat_of(k, "acceptanceQueueLengthUp"), 2);
	ck_assert_int_eq(stat_of(k, "acceptanceQueueLengthMax"), 2);
	ck_assert_int_eq(stat_of(k, "runQueueLength"), 1);
	ck_assert_int_eq(stat_of(k, "runQueueLengthUp"), 2);
	ck_assert_int_eq(stat_of(k, "runQueueLengthDown"), 1);
	kernel_free(k);
}
END_TEST

START_TEST(test_syscalls)
{
	struct kernel *k = kernel_new();

	begin(k);
	kstat_syscall(k, "send");
	kstat_syscall(k, "vatstoreGetNextKey");
	kstat_syscall(k, "dropImports");	/* SwingSet counts it nowhere */
	kstat_syscall(k, "nonsense");
	commit(k);
	ck_assert_int_eq(stat_of(k, "syscalls"), 2);
	ck_assert_int_eq(stat_of(k, "syscallSend"), 1);
	ck_assert_int_eq(stat_of(k, "syscallVatstoreGetNextKey"), 1);
	ck_assert_int_eq(stat_of(k, "syscallDropImports"), 0);
	kernel_free(k);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite	*s = suite_create("stats");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_gauge);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_damaged);
	tcase_add_test(tc, test_creation);
	tcase_add_test(tc, test_syscalls);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(stats_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
