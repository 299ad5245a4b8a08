/*
 * check_smallcaps.c — unit suite for protocol/smallcaps.c: which strings
 * get the '!' escape (exactly those starting with one of !"#$%&'()*+,-,
 * as @endo/marshal writes them), decoding it back, and which values
 * smallcaps_decode_plain() refuses.  Links smallcaps.o and jansson only.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocol/smallcaps.h"

/* smallcaps_string(s, len) is want (wlen bytes). */
static void
encodes_to(const char *s, size_t len, const char *want, size_t wlen)
{
	json_t	*v = smallcaps_string(s, len);

	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(json_string_length(v), wlen);
	ck_assert_mem_eq(json_string_value(v), want, wlen);
	json_decref(v);
}

START_TEST(test_escape_special_starts)
{
	const char	*special = SMALLCAPS_SPECIAL;
	char		 s[3], want[4];

	for (size_t i = 0; special[i] != '\0'; i++) {
		s[0] = special[i];
		s[1] = 'x';
		want[0] = '!';
		memcpy(want + 1, s, 2);
		encodes_to(s, 2, want, 3);
	}
	encodes_to("", 0, "", 0);
	encodes_to("abc", 3, "abc", 3);
	encodes_to(".x", 2, ".x", 2);
	encodes_to("a$0", 3, "a$0", 3);
}
END_TEST

/*
 * A string that starts with a NUL is plain, as @endo/marshal writes it
 * ("\0" is not among the special characters).  strchr() finds the
 * terminator of the special set, so it used to be escaped as "!\0…".
 * (Found by tests/fuzz/fuzz_frame.c; corpus/frame/regress-smallcaps-nul.)
 */
START_TEST(test_leading_nul_not_escaped)
{
	encodes_to("\0abc", 4, "\0abc", 4);
	encodes_to("\0", 1, "\0", 1);
}
END_TEST

START_TEST(test_decode_string)
{
	json_t	*v = json_string("!$0"), *w = json_string("$0");
	json_t	*x = json_string("plain"), *e = json_string("");

	ck_assert_str_eq(smallcaps_decode_string(v), "$0");
	ck_assert_ptr_null(smallcaps_decode_string(w));
	ck_assert_str_eq(smallcaps_decode_string(x), "plain");
	ck_assert_str_eq(smallcaps_decode_string(e), "");
	json_decref(v);
	json_decref(w);
	json_decref(x);
	json_decref(e);
}
END_TEST

START_TEST(test_decode_plain)
{
	json_t	*v = json_loads("[\"!#a\",{\"k\":\"!!\"},1,null]", 0, NULL);
	json_t	*want = json_loads("[\"#a\",{\"k\":\"!\"},1,null]", 0, NULL);
	json_t	*ref = json_loads("[\"$0\"]", 0, NULL);
	json_t	*rec = json_loads("{\"#error\":\"x\"}", 0, NULL);
	json_t	*p = smallcaps_decode_plain(v), *enc;

	ck_assert(json_equal(p, want));
	enc = smallcaps_plain(p);
	ck_assert(json_equal(enc, v));
	ck_assert_ptr_null(smallcaps_decode_plain(ref));
	ck_assert_ptr_null(smallcaps_decode_plain(rec));
	json_decref(enc);
	json_decref(p);
	json_decref(v);
	json_decref(want);
	json_decref(ref);
	json_decref(rec);
}
END_TEST

static Suite *
smallcaps_suite(void)
{
	Suite	*s = suite_create("smallcaps");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_escape_special_starts);
	tcase_add_test(tc, test_leading_nul_not_escaped);
	tcase_add_test(tc, test_decode_string);
	tcase_add_test(tc, test_decode_plain);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(smallcaps_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
