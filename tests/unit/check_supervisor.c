/*
 * check_supervisor.c — unit suite for workers/supervisor.c, the tagged
 * arrays inside xsnap commands: which upcalls, delivery results and
 * setBundle answers are recognised, and that a tag is the exact string
 * (a NUL inside it is not the end of it).  Links supervisor.o and jansson
 * only.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "workers/supervisor.h"

static enum sup_upcall_kind
upcall(const char *text)
{
	enum sup_upcall_kind	 k;
	json_t			*msg, *body;

	k = sup_parse_upcall((const unsigned char *)text, strlen(text), &msg,
	    &body);
	ck_assert(k != SUP_UPCALL_SYSCALL || body != NULL);
	json_decref(msg);
	return k;
}

static enum sup_delivery_status
delivery(const char *text)
{
	struct sup_delivery	 d;
	enum sup_delivery_status s;

	sup_parse_delivery((const unsigned char *)text, strlen(text), &d);
	s = d.status;
	sup_delivery_clear(&d);
	return s;
}

static int
ready(const char *text)
{
	char	 err[128];

	return sup_parse_ready((const unsigned char *)text, strlen(text), err,
	    sizeof(err));
}

START_TEST(test_upcalls)
{
	ck_assert_int_eq(upcall("[\"syscall\",[\"vatstoreGet\",\"k\"]]"),
	    SUP_UPCALL_SYSCALL);
	ck_assert_int_eq(upcall("[\"sourcedConsole\",\"vat\",\"log\",\"x\"]"),
	    SUP_UPCALL_CONSOLE);
	ck_assert_int_eq(upcall("[\"testLog\",\"x\"]"), SUP_UPCALL_TESTLOG);
	ck_assert_int_eq(upcall("[\"syscall\"]"), SUP_UPCALL_BAD);
	ck_assert_int_eq(upcall("[\"syscall\",1,2]"), SUP_UPCALL_BAD);
	ck_assert_int_eq(upcall("{\"syscall\":1}"), SUP_UPCALL_BAD);
	ck_assert_int_eq(upcall("[\"Syscall\",1]"), SUP_UPCALL_BAD);
	ck_assert_int_eq(upcall("[\"sys"), SUP_UPCALL_BAD);
}
END_TEST

START_TEST(test_deliveries)
{
	ck_assert_int_eq(delivery("[\"ok\",null,null]"), SUP_DELIVERY_OK);
	ck_assert_int_eq(delivery("[\"ok\", {\"a\":1}, null]"),
	    SUP_DELIVERY_OK);
	ck_assert_int_eq(delivery("[\"error\",\"it threw\",null]"),
	    SUP_DELIVERY_ERROR);
	ck_assert_int_eq(delivery("[\"error\",1,null]"), SUP_DELIVERY_BAD);
	ck_assert_int_eq(delivery("[\"ok\",null]"), SUP_DELIVERY_BAD);
	ck_assert_int_eq(ready("[\"dispatchReady\"]"), 0);
	ck_assert_int_eq(ready("[\"dispatchReady\",1]"), -1);
}
END_TEST

/*
 * "syscall\u0000x" is not "syscall": JSON strings may hold NULs (the
 * worker's JSON is loaded with JSON_ALLOW_NUL), and a tag compared as a C
 * string stopped at the first.  (Found by tests/fuzz/fuzz_frame.c;
 * corpus/frame/regress-tag-nul-*.)
 */
START_TEST(test_tag_with_nul_is_not_the_tag)
{
	size_t	 len;
	char	*s;
	json_t	*v = json_loads("[\"ok\\u0000x\",null]", JSON_ALLOW_NUL, NULL);

	ck_assert_int_eq(upcall("[\"syscall\\u0000x\",[\"vatstoreGet\","
	    "\"k\"]]"), SUP_UPCALL_BAD);
	ck_assert_int_eq(upcall("[\"testLog\\u0000\",\"x\"]"), SUP_UPCALL_BAD);
	ck_assert_int_eq(upcall("[\"sourcedConsole\\u0000\"]"),
	    SUP_UPCALL_BAD);
	ck_assert_int_eq(delivery("[\"ok\\u0000\",null,null]"),
	    SUP_DELIVERY_BAD);
	ck_assert_int_eq(delivery("[\"error\\u0000x\",\"m\",null]"),
	    SUP_DELIVERY_BAD);
	ck_assert_int_eq(ready("[\"dispatchReady\\u0000\"]"), -1);
	/* nor is it encoded as "ok" */
	ck_assert_ptr_nonnull(v);
	s = sup_encode(v, &len);
	ck_assert_str_eq(s, "[\"ok\\u0000x\",null]");
	ck_assert_uint_eq(len, strlen(s));
	free(s);
	json_decref(v);
}
END_TEST

START_TEST(test_meter_compute)
{
	const char *m = "{\"currentHeapCount\":1,\"compute\":1729304,"
	    "\"allocate\":2,\"timestamps\":[1.5]}";

	ck_assert_uint_eq(sup_meter_compute(m, strlen(m)), 1729304);
	ck_assert_uint_eq(sup_meter_compute("{}", 2), 0);
	/* JSON white space around the colon (the fuzzer's find) */
	m = "{\"compute\" : 1140,\"x\":1}";
	ck_assert_uint_eq(sup_meter_compute(m, strlen(m)), 1140);
	m = "{\"compute\" x 1140}";
	ck_assert_uint_eq(sup_meter_compute(m, strlen(m)), 0);
	ck_assert_uint_eq(sup_meter_compute(NULL, 0), 0);
}
END_TEST

static Suite *
supervisor_suite(void)
{
	Suite	*s = suite_create("supervisor");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_upcalls);
	tcase_add_test(tc, test_deliveries);
	tcase_add_test(tc, test_tag_with_nul_is_not_the_tag);
	tcase_add_test(tc, test_meter_compute);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(supervisor_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
