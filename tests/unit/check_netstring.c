/*
 * check_netstring.c — unit suite for protocol/netstring.c: round trips,
 * every split of a stream, each error code, the size limit, end of
 * stream, binary payloads and a large frame.  Links netstring.o only.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/netstring.h"

#define MAX_FRAME	12000000

/* Frames decoded so far, re-encoded back to back, plus a count. */
struct sink {
	unsigned char	*buf;
	size_t		 len, cap;
	size_t		 frames;
};

static void
sink_add(struct sink *s, const unsigned char *frame, size_t len)
{
	struct netstring_part part = { frame, len };
	unsigned char	*enc, *p;
	size_t		 elen;

	ck_assert_uint_eq(frame[len], '\0');
	enc = netstring_encode(&part, 1, &elen);
	ck_assert_ptr_nonnull(enc);
	if (s->len + elen > s->cap) {
		s->cap = (s->len + elen) * 2;
		p = realloc(s->buf, s->cap);
		ck_assert_ptr_nonnull(p);
		s->buf = p;
	}
	memcpy(s->buf + s->len, enc, elen);
	s->len += elen;
	s->frames++;
	free(enc);
}

/* Take every whole frame; return the first non-OK code (MORE or error). */
static int
drain(struct netstring_decoder *d, struct sink *s)
{
	const unsigned char *frame;
	size_t		 len;
	int		 rc;

	while ((rc = netstring_decoder_next(d, &frame, &len)) ==
	    NETSTRING_OK)
		sink_add(s, frame, len);
	return rc;
}

static void
feed_drain(struct netstring_decoder *d, struct sink *s, const void *buf,
    size_t len)
{
	ck_assert_int_eq(netstring_decoder_feed(d, buf, len), NETSTRING_OK);
	ck_assert_int_eq(drain(d, s), NETSTRING_MORE);
}

/* Several frames: tags, JSON, NUL, ',', ':', digits, 0xff. */
static const unsigned char stream[] =
    "1:R,"
    "12:/[\"ok\",null],"
    "5:\0,\0:,,"
    "10:0123456789,"
    "3:\xff\xfe\x01,"
    "1:,,"
    "32:?[\"syscall\",[\"subscribe\",\"p+5\"]],";
#define STREAM_LEN	(sizeof(stream) - 1)
#define STREAM_FRAMES	7

static void
check_stream(struct sink *s)
{
	ck_assert_uint_eq(s->frames, STREAM_FRAMES);
	ck_assert_uint_eq(s->len, STREAM_LEN);
	ck_assert_mem_eq(s->buf, stream, STREAM_LEN);
}

START_TEST(test_encode_exact)
{
	struct netstring_part parts[] = {
		{ "e", 1 }, { NULL, 0 }, { "[1,2]", 5 },
	};
	unsigned char	*out;
	size_t		 len;

	out = netstring_encode(parts, 3, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(len, 9);
	ck_assert_mem_eq(out, "6:e[1,2],", 9);
	free(out);

	out = netstring_encode(NULL, 0, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(out, "0:,", 3);
	free(out);
}
END_TEST

START_TEST(test_round_trip)
{
	struct netstring_decoder d;
	struct netstring_part parts[2] = { { "?", 1 }, { "a\0,b", 4 } };
	const unsigned char *frame;
	unsigned char	*enc;
	size_t		 elen, len;

	netstring_decoder_init(&d, MAX_FRAME);
	enc = netstring_encode(parts, 2, &elen);
	ck_assert_ptr_nonnull(enc);
	ck_assert_int_eq(netstring_decoder_feed(&d, enc, elen), NETSTRING_OK);
	ck_assert_int_eq(netstring_decoder_next(&d, &frame, &len),
	    NETSTRING_OK);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(frame, "?a\0,b", 5);
	ck_assert_uint_eq(frame[5], '\0');
	ck_assert_int_eq(netstring_decoder_next(&d, &frame, &len),
	    NETSTRING_MORE);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	free(enc);
	netstring_decoder_clear(&d);
}
END_TEST

START_TEST(test_whole_stream)
{
	struct netstring_decoder d;
	struct sink	 s = { 0 };

	netstring_decoder_init(&d, MAX_FRAME);
	feed_drain(&d, &s, stream, STREAM_LEN);
	check_stream(&s);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	netstring_decoder_clear(&d);
	free(s.buf);
}
END_TEST

/* Split the stream once at every position. */
START_TEST(test_split_every_boundary)
{
	struct netstring_decoder d;
	struct sink	 s;
	size_t		 i;

	for (i = 0; i <= STREAM_LEN; i++) {
		memset(&s, 0, sizeof(s));
		netstring_decoder_init(&d, MAX_FRAME);
		feed_drain(&d, &s, stream, i);
		feed_drain(&d, &s, stream + i, STREAM_LEN - i);
		check_stream(&s);
		ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
		netstring_decoder_clear(&d);
		free(s.buf);
	}
}
END_TEST

/* Split the stream in three at every pair of positions. */
START_TEST(test_split_every_pair)
{
	struct netstring_decoder d;
	struct sink	 s;
	size_t		 i, j;

	for (i = 0; i <= STREAM_LEN; i++) {
		for (j = i; j <= STREAM_LEN; j++) {
			memset(&s, 0, sizeof(s));
			netstring_decoder_init(&d, MAX_FRAME);
			feed_drain(&d, &s, stream, i);
			feed_drain(&d, &s, stream + i, j - i);
			feed_drain(&d, &s, stream + j, STREAM_LEN - j);
			check_stream(&s);
			ck_assert_int_eq(netstring_decoder_finish(&d),
			    NETSTRING_OK);
			netstring_decoder_clear(&d);
			free(s.buf);
		}
	}
}
END_TEST

START_TEST(test_one_byte_at_a_time)
{
	struct netstring_decoder d;
	struct sink	 s = { 0 };
	size_t		 i;

	netstring_decoder_init(&d, MAX_FRAME);
	for (i = 0; i < STREAM_LEN; i++)
		feed_drain(&d, &s, stream + i, 1);
	check_stream(&s);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	netstring_decoder_clear(&d);
	free(s.buf);
}
END_TEST

/* Feeding without draining in between still yields every frame. */
START_TEST(test_feed_without_next)
{
	struct netstring_decoder d;
	struct sink	 s = { 0 };
	size_t		 i;

	netstring_decoder_init(&d, MAX_FRAME);
	for (i = 0; i < STREAM_LEN; i++)
		ck_assert_int_eq(netstring_decoder_feed(&d, stream + i, 1),
		    NETSTRING_OK);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_EEOF);
	netstring_decoder_clear(&d);

	netstring_decoder_init(&d, MAX_FRAME);
	for (i = 0; i < STREAM_LEN; i++)
		ck_assert_int_eq(netstring_decoder_feed(&d, stream + i, 1),
		    NETSTRING_OK);
	ck_assert_int_eq(drain(&d, &s), NETSTRING_MORE);
	check_stream(&s);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	netstring_decoder_clear(&d);
	free(s.buf);
}
END_TEST

/* Feed input, expect rc from next(), and that the error is sticky. */
static void
expect_error(size_t max, int allow_empty, const char *in, int rc)
{
	struct netstring_decoder d;
	const unsigned char *frame;
	size_t		 len;
	int		 got;

	netstring_decoder_init(&d, max);
	d.allow_empty = allow_empty;
	ck_assert_int_eq(netstring_decoder_feed(&d, in, strlen(in)),
	    NETSTRING_OK);
	while ((got = netstring_decoder_next(&d, &frame, &len)) ==
	    NETSTRING_OK)
		;
	ck_assert_msg(got == rc, "input \"%s\": got %d (%s), want %d (%s)",
	    in, got, netstring_strerror(got), rc, netstring_strerror(rc));
	ck_assert_int_eq(d.error, rc);
	ck_assert_int_eq(netstring_decoder_next(&d, &frame, &len), rc);
	ck_assert_int_eq(netstring_decoder_feed(&d, "1:a,", 4), rc);
	ck_assert_int_eq(netstring_decoder_finish(&d), rc);
	netstring_decoder_clear(&d);
}

START_TEST(test_bad_length)
{
	expect_error(MAX_FRAME, 0, ":", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 0, ":a,", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 0, "x:", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 0, "1x:a,", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 0, "-1:a,", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 0, "+1:a,", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 0, " 1:a,", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 0, "1 :a,", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 0, "01:a,", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 1, "00:,", NETSTRING_EBADLEN);
	/* A good frame first, then garbage: the error still shows. */
	expect_error(MAX_FRAME, 0, "1:a,x", NETSTRING_EBADLEN);
	/* 12 000 000 has 8 digits; a 9th is an oversize frame, refused
	 * before any ':'; a run of zeros is still a bad prefix. */
	expect_error(MAX_FRAME, 0, "100000000", NETSTRING_ETOOBIG);
	expect_error(MAX_FRAME, 0, "000000000000000000000000", NETSTRING_EBADLEN);
	expect_error(MAX_FRAME, 0, "99999999999999999999999999999",
	    NETSTRING_ETOOBIG);
}
END_TEST

START_TEST(test_no_comma)
{
	expect_error(MAX_FRAME, 0, "3:abcd", NETSTRING_ENOCOMMA);
	expect_error(MAX_FRAME, 0, "3:abc;", NETSTRING_ENOCOMMA);
	expect_error(MAX_FRAME, 0, "1:a,2:bc\n", NETSTRING_ENOCOMMA);
	expect_error(MAX_FRAME, 1, "0:x", NETSTRING_ENOCOMMA);
}
END_TEST

START_TEST(test_empty_payload)
{
	struct netstring_decoder d;
	const unsigned char *frame;
	size_t		 len = 99;

	expect_error(MAX_FRAME, 0, "0:,", NETSTRING_EEMPTY);
	expect_error(MAX_FRAME, 0, "1:a,0:,", NETSTRING_EEMPTY);

	netstring_decoder_init(&d, MAX_FRAME);
	d.allow_empty = 1;
	ck_assert_int_eq(netstring_decoder_feed(&d, "0:,1:b,", 7),
	    NETSTRING_OK);
	ck_assert_int_eq(netstring_decoder_next(&d, &frame, &len),
	    NETSTRING_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(frame[0], '\0');
	ck_assert_int_eq(netstring_decoder_next(&d, &frame, &len),
	    NETSTRING_OK);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(frame[0], 'b');
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	netstring_decoder_clear(&d);
}
END_TEST

START_TEST(test_max_boundary)
{
	struct netstring_decoder d;
	struct netstring_part part;
	const unsigned char *frame;
	unsigned char	*payload, *enc;
	size_t		 elen, len;

	payload = malloc(1001);
	ck_assert_ptr_nonnull(payload);
	memset(payload, 'x', 1001);

	/* Exactly max: accepted. */
	part.data = payload;
	part.len = 1000;
	enc = netstring_encode(&part, 1, &elen);
	ck_assert_ptr_nonnull(enc);
	netstring_decoder_init(&d, 1000);
	ck_assert_int_eq(netstring_decoder_feed(&d, enc, elen), NETSTRING_OK);
	ck_assert_int_eq(netstring_decoder_next(&d, &frame, &len),
	    NETSTRING_OK);
	ck_assert_uint_eq(len, 1000);
	ck_assert_mem_eq(frame, payload, 1000);
	netstring_decoder_clear(&d);
	free(enc);

	/* max + 1: refused at the ':', before any payload arrives. */
	expect_error(1000, 0, "1001:", NETSTRING_ETOOBIG);
	expect_error(1000, 0, "9999:", NETSTRING_ETOOBIG);
	expect_error(1000, 0, "10000", NETSTRING_ETOOBIG);
	expect_error(0, 0, "1:", NETSTRING_ETOOBIG);
	expect_error(0, 1, "0:,1:", NETSTRING_ETOOBIG);
	free(payload);
}
END_TEST

/* A huge announced length is refused without allocating for it. */
START_TEST(test_too_big_no_alloc)
{
	struct netstring_decoder d;
	const unsigned char *frame;
	size_t		 len;

	netstring_decoder_init(&d, MAX_FRAME);
	ck_assert_int_eq(netstring_decoder_feed(&d, "99999999:", 9),
	    NETSTRING_OK);
	ck_assert_int_eq(netstring_decoder_next(&d, &frame, &len),
	    NETSTRING_ETOOBIG);
	ck_assert_uint_lt(d.incap, 65536);
	netstring_decoder_clear(&d);

	netstring_decoder_init(&d, SIZE_MAX);
	ck_assert_int_eq(netstring_decoder_feed(&d, "99999999999999999999:",
	    21), NETSTRING_OK);
	ck_assert_int_eq(netstring_decoder_next(&d, &frame, &len),
	    NETSTRING_ETOOBIG);
	ck_assert_uint_lt(d.incap, 65536);
	netstring_decoder_clear(&d);
}
END_TEST

START_TEST(test_finish)
{
	struct netstring_decoder d;
	struct sink	 s = { 0 };

	/* Nothing at all. */
	netstring_decoder_init(&d, MAX_FRAME);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	netstring_decoder_clear(&d);

	/* On a boundary. */
	netstring_decoder_init(&d, MAX_FRAME);
	feed_drain(&d, &s, "1:a,2:bc,", 9);
	ck_assert_uint_eq(s.frames, 2);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	netstring_decoder_clear(&d);

	/* Inside a prefix, a payload, before the ','. */
	netstring_decoder_init(&d, MAX_FRAME);
	feed_drain(&d, &s, "1:a,2", 5);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_EEOF);
	ck_assert_int_eq(d.error, NETSTRING_EEOF);
	netstring_decoder_clear(&d);
	ck_assert_int_eq(d.error, 0);

	netstring_decoder_init(&d, MAX_FRAME);
	feed_drain(&d, &s, "2:", 2);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_EEOF);
	netstring_decoder_clear(&d);

	netstring_decoder_init(&d, MAX_FRAME);
	feed_drain(&d, &s, "2:b", 3);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_EEOF);
	netstring_decoder_clear(&d);

	netstring_decoder_init(&d, MAX_FRAME);
	feed_drain(&d, &s, "2:bc", 4);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_EEOF);
	netstring_decoder_clear(&d);
	free(s.buf);
}
END_TEST

/* clear() resets a failed decoder, keeping its settings. */
START_TEST(test_clear_resets)
{
	struct netstring_decoder d;
	struct sink	 s = { 0 };

	netstring_decoder_init(&d, 10);
	d.allow_empty = 1;
	ck_assert_int_eq(netstring_decoder_feed(&d, "x", 1), NETSTRING_OK);
	ck_assert_int_eq(drain(&d, &s), NETSTRING_EBADLEN);
	netstring_decoder_clear(&d);
	ck_assert_uint_eq(d.max_frame, 10);
	ck_assert_int_eq(d.allow_empty, 1);
	feed_drain(&d, &s, "0:,", 3);
	ck_assert_uint_eq(s.frames, 1);
	netstring_decoder_clear(&d);
	free(s.buf);
}
END_TEST

START_TEST(test_strerror)
{
	static const int codes[] = {
		NETSTRING_EBADLEN, NETSTRING_ENOCOMMA, NETSTRING_ETOOBIG,
		NETSTRING_EEOF, NETSTRING_EEMPTY, NETSTRING_ENOMEM,
	};
	size_t	 i, j;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_ptr_nonnull(netstring_strerror(codes[i]));
		for (j = 0; j < i; j++)
			ck_assert_str_ne(netstring_strerror(codes[i]),
			    netstring_strerror(codes[j]));
	}
	ck_assert_str_eq(netstring_strerror(NETSTRING_ENOCOMMA),
	    "missing ',' after payload");
	ck_assert_ptr_nonnull(netstring_strerror(12345));
}
END_TEST

/* Feed buf in chunk-sized reads, draining after each, into s. */
static void
feed_chunks(struct netstring_decoder *d, struct sink *s,
    const unsigned char *buf, size_t len, size_t chunk)
{
	size_t	 off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		feed_drain(d, s, buf + off, n);
	}
}

START_TEST(test_large_frame)
{
	struct netstring_decoder d;
	struct netstring_part parts[2];
	struct sink	 s = { 0 };
	unsigned char	*payload, *enc, *stream2;
	size_t		 plen = 5 * 1024 * 1024 + 7, elen, i;

	payload = malloc(plen);
	ck_assert_ptr_nonnull(payload);
	for (i = 0; i < plen; i++)
		payload[i] = (unsigned char)(i * 131 + (i >> 13));
	parts[0].data = "e";
	parts[0].len = 1;
	parts[1].data = payload;
	parts[1].len = plen;
	enc = netstring_encode(parts, 2, &elen);
	ck_assert_ptr_nonnull(enc);

	/* Small frames, the big one, small frames; read in 64 KiB chunks. */
	stream2 = malloc(2 * STREAM_LEN + elen);
	ck_assert_ptr_nonnull(stream2);
	memcpy(stream2, stream, STREAM_LEN);
	memcpy(stream2 + STREAM_LEN, enc, elen);
	memcpy(stream2 + STREAM_LEN + elen, stream, STREAM_LEN);

	netstring_decoder_init(&d, MAX_FRAME);
	feed_chunks(&d, &s, stream2, 2 * STREAM_LEN + elen, 65536);
	ck_assert_uint_eq(s.frames, 2 * STREAM_FRAMES + 1);
	ck_assert_uint_eq(s.len, 2 * STREAM_LEN + elen);
	ck_assert(memcmp(s.buf, stream2, s.len) == 0);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	netstring_decoder_clear(&d);

	/* The same, in odd-sized reads. */
	s.len = s.frames = 0;
	netstring_decoder_init(&d, MAX_FRAME);
	feed_chunks(&d, &s, stream2, 2 * STREAM_LEN + elen, 4093);
	ck_assert_uint_eq(s.frames, 2 * STREAM_FRAMES + 1);
	ck_assert(memcmp(s.buf, stream2, s.len) == 0);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	netstring_decoder_clear(&d);

	free(stream2);
	free(enc);
	free(payload);
	free(s.buf);
}
END_TEST

/* Many small frames in 64 KiB reads: fast, and the buffer stays small. */
START_TEST(test_many_small_frames)
{
	struct netstring_decoder d;
	struct sink	 s = { 0 };
	unsigned char	*big;
	size_t		 n = 200000, i, len = 0;
	char		 one[32];
	int		 k;

	big = malloc(n * 16);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < n; i++) {
		k = snprintf(one, sizeof(one), "%zu:.%zu,",
		    (size_t)snprintf(NULL, 0, "%zu", i) + 1, i);
		ck_assert(k > 0 && (size_t)k < sizeof(one));
		memcpy(big + len, one, (size_t)k);
		len += (size_t)k;
	}
	netstring_decoder_init(&d, MAX_FRAME);
	feed_chunks(&d, &s, big, len, 65536);
	ck_assert_uint_eq(s.frames, n);
	ck_assert_uint_eq(s.len, len);
	ck_assert(memcmp(s.buf, big, len) == 0);
	ck_assert_uint_le(d.incap, 4 * 65536);
	ck_assert_int_eq(netstring_decoder_finish(&d), NETSTRING_OK);
	netstring_decoder_clear(&d);
	free(big);
	free(s.buf);
}
END_TEST

static Suite *
netstring_suite(void)
{
	Suite	*s = suite_create("netstring");
	TCase	*tc;

	tc = tcase_create("codec");
	tcase_add_test(tc, test_encode_exact);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_whole_stream);
	tcase_add_test(tc, test_split_every_boundary);
	tcase_add_test(tc, test_split_every_pair);
	tcase_add_test(tc, test_one_byte_at_a_time);
	tcase_add_test(tc, test_feed_without_next);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_bad_length);
	tcase_add_test(tc, test_no_comma);
	tcase_add_test(tc, test_empty_payload);
	tcase_add_test(tc, test_max_boundary);
	tcase_add_test(tc, test_too_big_no_alloc);
	tcase_add_test(tc, test_finish);
	tcase_add_test(tc, test_clear_resets);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);

	tc = tcase_create("large");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_large_frame);
	tcase_add_test(tc, test_many_small_frames);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(netstring_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
