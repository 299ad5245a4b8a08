/*
 * fuzz_frame.c — libFuzzer harness for the parsers of what a worker sends
 * on its reply pipe: workers/supervisor.c (upcalls, delivery results, the
 * setBundle answer, the meter report) and the smallcaps decoding of the
 * capdata inside syscalls, protocol/smallcaps.c.
 *
 * Feeds: the input as one reply frame's payload, split as
 * workers/worker.c's handle_frame() and worker_deliver_reply() split it:
 * '?' + upcall bytes goes to sup_parse_upcall(); '.' + meter JSON + 0x01 +
 * result gives the meter to sup_meter_compute() and the result to
 * sup_parse_delivery() and sup_parse_ready().  Every capdata found in a
 * syscall ({"body":"#…","slots":[…]}, at any depth) has its body decoded
 * with smallcaps_decode_plain(), and its elements with
 * smallcaps_decode_string(), as the vatAdmin device and kcreate.c do;
 * every string of the syscall is encoded with smallcaps_string().
 *
 * Checks, beyond not crashing:
 *   - an upcall is SYSCALL exactly when it is a JSON array of two whose
 *     first element is "syscall" (the body is that second element),
 *     CONSOLE / TESTLOG exactly for arrays tagged so (a tag is the exact
 *     string: "ok\u0000x" is not "ok"); sup_encode() of the
 *     parsed message parses back to an equal value;
 *   - a delivery result is OK exactly for ["ok", x, y], ERROR for
 *     ["error", string, y] with that string as message; anything else is
 *     BAD with a printable "deliver answered '…'" message;
 *   - sup_parse_ready() succeeds exactly for ["dispatchReady"] and leaves
 *     a NUL-terminated message in a small buffer otherwise;
 *   - the meter's computrons are those of its "compute" key when the
 *     report is shaped as xsnap writes it (an object of numbers and
 *     arrays of numbers, each key once), 0 when it has none;
 *   - smallcaps_decode_plain() refuses a value exactly when it holds a
 *     special string (first character one of !"#$%&'()*+,- other than
 *     '!'), a string with a NUL, or a record key starting with '#'; what
 *     it returns, encoded with smallcaps_plain() and decoded again, gives
 *     the same value;
 *   - smallcaps_string() prefixes '!' exactly when the string starts with
 *     one of the special characters, and smallcaps_decode_string()
 *     undoes it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocol/smallcaps.h"
#include "workers/supervisor.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FR_NSPECIAL	(sizeof(SMALLCAPS_SPECIAL) - 1)

static const uint8_t	*fr_data;	/* the input, for messages */
static size_t		 fr_size;

static void
fr_abort(const char *what)
{
	fprintf(stderr, "fuzz_frame: %s (input %.*s)\n", what,
	    fr_size > 300 ? 300 : (int)fr_size, (const char *)fr_data);
	abort();
}

/* A first character smallcaps gives a meaning to (not NUL). */
static bool
fr_special(unsigned char c)
{
	return memchr(SMALLCAPS_SPECIAL, c, FR_NSPECIAL) != NULL;
}

static json_t *
fr_load(const unsigned char *p, size_t n)
{
	return json_loadb((const char *)p, n, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, NULL);
}

/* ---- smallcaps ---------------------------------------------------------- */

/* Whether smallcaps_decode_plain() must refuse v (see the top). */
static bool
fr_not_plain(const json_t *v)
{
	const char	*s, *key;
	json_t		*e;
	size_t		 i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return true;
		return s[0] != '!' && fr_special((unsigned char)s[0]);
	case JSON_ARRAY:
		json_array_foreach((json_t *)(uintptr_t)v, i, e)
			if (fr_not_plain(e))
				return true;
		return false;
	case JSON_OBJECT:
		json_object_foreach((json_t *)(uintptr_t)v, key, e)
			if (key[0] == '#' || fr_not_plain(e))
				return true;
		return false;
	default:
		return false;
	}
}

static void
fr_string(const json_t *v)
{
	const char	*s = json_string_value(v), *d, *es;
	size_t		 n = json_string_length(v);
	json_t		*enc;
	bool		 bang;

	if ((enc = smallcaps_string(s, n)) == NULL)
		return;		/* out of memory */
	bang = n > 0 && fr_special((unsigned char)s[0]);
	es = json_string_value(enc);
	if (json_string_length(enc) != n + bang ||
	    (bang && es[0] != '!') || memcmp(es + bang, s, n) != 0)
		fr_abort("smallcaps_string: '!' added where it is not due, "
		    "or missing where it is");
	if (strlen(s) == n) {
		d = smallcaps_decode_string(enc);
		if (d == NULL || strcmp(d, s) != 0)
			fr_abort("smallcaps_decode_string does not undo "
			    "smallcaps_string");
	}
	json_decref(enc);
}

/* Every string value of v, through fr_string(). */
static void
fr_strings(const json_t *v)
{
	const char	*key;
	json_t		*e;
	size_t		 i;

	if (json_is_string(v))
		fr_string(v);
	else if (json_is_array(v))
		json_array_foreach((json_t *)(uintptr_t)v, i, e)
			fr_strings(e);
	else if (json_is_object(v))
		json_object_foreach((json_t *)(uintptr_t)v, key, e)
			fr_strings(e);
}

static void
fr_decode_plain(const json_t *v)
{
	json_t	*p, *enc, *again;

	p = smallcaps_decode_plain(v);
	if (p == NULL) {
		if (!fr_not_plain(v))
			fr_abort("smallcaps_decode_plain refused plain data");
		return;		/* (or ran out of memory: cannot tell) */
	}
	if (fr_not_plain(v))
		fr_abort("smallcaps_decode_plain accepted special values");
	if ((enc = smallcaps_plain(p)) != NULL) {
		again = smallcaps_decode_plain(enc);
		if (again == NULL || !json_equal(again, p))
			fr_abort("decode(encode(decode(v))) != decode(v)");
		json_decref(again);
		json_decref(enc);
	}
	json_decref(p);
}

/* A body "#<JSON>" decoded as the kernel does, then its smallcaps. */
static void
fr_capdata(const json_t *cd)
{
	const json_t	*b = json_object_get(cd, "body");
	const char	*body = json_string_value(b);
	json_t		*v, *e;
	size_t		 i;

	if (body == NULL || body[0] != '#')
		return;
	v = json_loadb(body + 1, strlen(body + 1), JSON_DECODE_ANY, NULL);
	if (v == NULL)
		return;
	fr_decode_plain(v);
	json_array_foreach(v, i, e) {
		fr_decode_plain(e);
		(void)smallcaps_decode_string(e);
	}
	json_decref(v);
}

/* Capdata at any depth of a syscall. */
static void
fr_find_capdata(const json_t *v)
{
	const char	*key;
	json_t		*e;
	size_t		 i;

	if (json_is_object(v) && json_is_string(json_object_get(v, "body")) &&
	    json_is_array(json_object_get(v, "slots")))
		fr_capdata(v);
	if (json_is_array(v))
		json_array_foreach((json_t *)(uintptr_t)v, i, e)
			fr_find_capdata(e);
	else if (json_is_object(v))
		json_object_foreach((json_t *)(uintptr_t)v, key, e)
			fr_find_capdata(e);
}

/* ---- supervisor --------------------------------------------------------- */

/* Whether s is exactly the string tag: a "ok\u0000…" is not "ok". */
static bool
fr_is(const json_t *s, const char *tag)
{
	return json_is_string(s) && json_string_length(s) == strlen(tag) &&
	    strcmp(json_string_value(s), tag) == 0;
}

/* An array whose first element is exactly tag. */
static bool
fr_tagged(const json_t *v, const char *tag)
{
	return json_is_array(v) && fr_is(json_array_get(v, 0), tag);
}

static void
fr_upcall(const unsigned char *p, size_t n)
{
	enum sup_upcall_kind	 kind;
	json_t			*msg, *body, *ref, *back;
	char			*text;
	size_t			 tlen;

	kind = sup_parse_upcall(p, n, &msg, &body);
	ref = fr_load(p, n);
	if (!json_is_array(ref)) {
		json_decref(ref);
		ref = NULL;
	}
	if ((msg == NULL) != (ref == NULL) || (msg != NULL &&
	    !json_equal(msg, ref)))
		fr_abort("sup_parse_upcall's message is not the JSON array");
	switch (kind) {
	case SUP_UPCALL_SYSCALL:
		if (!fr_tagged(ref, "syscall") || json_array_size(ref) != 2 ||
		    body == NULL || body != json_array_get(msg, 1))
			fr_abort("SYSCALL for what is not [\"syscall\", x]");
		fr_find_capdata(body);
		fr_strings(body);
		break;
	case SUP_UPCALL_CONSOLE:
		if (!fr_tagged(ref, "sourcedConsole") || body != NULL)
			fr_abort("CONSOLE for what is not sourcedConsole");
		break;
	case SUP_UPCALL_TESTLOG:
		if (!fr_tagged(ref, "testLog") || body != NULL)
			fr_abort("TESTLOG for what is not testLog");
		break;
	case SUP_UPCALL_BAD:
		if ((fr_tagged(ref, "syscall") && json_array_size(ref) == 2) ||
		    fr_tagged(ref, "sourcedConsole") ||
		    fr_tagged(ref, "testLog") || body != NULL)
			fr_abort("BAD for a well-formed upcall");
		break;
	default:
		fr_abort("unknown upcall kind");
	}
	if (msg != NULL && (text = sup_encode(msg, &tlen)) != NULL) {
		back = fr_load((const unsigned char *)text, tlen);
		if (strlen(text) != tlen || back == NULL ||
		    !json_equal(back, msg))
			fr_abort("sup_encode does not parse back");
		json_decref(back);
		free(text);
	}
	json_decref(ref);
	json_decref(msg);
}

static void
fr_delivery(const unsigned char *p, size_t n)
{
	struct sup_delivery	 d;
	json_t			*ref;
	const char		*m;
	char			 errbuf[48];
	bool			 ok, error;
	int			 rc;

	sup_parse_delivery(p, n, &d);
	ref = fr_load(p, n);
	ok = json_array_size(ref) == 3 && fr_tagged(ref, "ok");
	error = json_array_size(ref) == 3 && fr_tagged(ref, "error") &&
	    json_is_string(json_array_get(ref, 1));
	switch (d.status) {
	case SUP_DELIVERY_OK:
		if (!ok || d.info == NULL ||
		    d.message != NULL || !json_equal(d.info,
		    json_array_get(ref, 1)))
			fr_abort("OK for what is not [\"ok\", x, y]");
		break;
	case SUP_DELIVERY_ERROR:
		m = json_string_value(json_array_get(ref, 1));
		if (!error || d.info != NULL)
			fr_abort("ERROR for what is not [\"error\", s, y]");
		if (d.message != NULL && strcmp(d.message, m) != 0)
			fr_abort("ERROR's message is not the worker's");
		break;
	case SUP_DELIVERY_BAD:
		if (ok || error)
			fr_abort("BAD for a well-formed delivery result");
		if (d.info != NULL)
			fr_abort("BAD with info");
		if (d.message != NULL) {
			if (strncmp(d.message, "deliver answered '", 18) != 0)
				fr_abort("BAD's message has another form");
			for (m = d.message; *m != '\0'; m++)
				if (*m < 0x20 || *m >= 0x7f)
					fr_abort("BAD's message is not "
					    "printable");
		}
		break;
	default:
		fr_abort("unknown delivery status");
	}
	sup_delivery_clear(&d);

	memset(errbuf, 'x', sizeof(errbuf));
	rc = sup_parse_ready(p, n, errbuf, sizeof(errbuf));
	if ((rc == 0) != (json_is_array(ref) && json_array_size(ref) == 1 &&
	    fr_tagged(ref, "dispatchReady")))
		fr_abort("sup_parse_ready wrong about [\"dispatchReady\"]");
	if (rc != 0 && memchr(errbuf, '\0', sizeof(errbuf)) == NULL)
		fr_abort("sup_parse_ready's message not NUL-terminated");
	json_decref(ref);
}

/* A report shaped as xsnap writes it: an object of numbers and arrays of
 * numbers (so no other "compute": can hide in it). */
static bool
fr_meter_shaped(const json_t *m)
{
	const char	*key;
	json_t		*v, *e;
	size_t		 i;

	if (!json_is_object(m))
		return false;
	json_object_foreach((json_t *)(uintptr_t)m, key, v) {
		if (json_is_array(v)) {
			json_array_foreach(v, i, e)
				if (!json_is_number(e))
					return false;
		} else if (!json_is_number(v))
			return false;
	}
	return true;
}

static void
fr_meter(const unsigned char *p, size_t n)
{
	uint64_t	 got = sup_meter_compute((const char *)p, n);
	json_t		*m, *c;
	json_int_t	 want;

	/* xsnap writes each key once: which of two would count is moot */
	m = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
	if (fr_meter_shaped(m)) {
		c = json_object_get(m, "compute");
		if (c == NULL && got != 0)
			fr_abort("computrons from a report without compute");
		/* below 10^18 the digits cannot hit the cap */
		if (json_is_integer(c) && (want = json_integer_value(c)) >= 0 &&
		    want < 1000000000000000000LL && got != (uint64_t)want)
			fr_abort("computrons are not the report's compute");
	}
	json_decref(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char	*sep;

	fr_data = data;
	fr_size = size;
	if (size == 0)
		return 0;	/* the decoder refuses empty frames */
	switch (data[0]) {
	case '?':
		fr_upcall(data + 1, size - 1);
		break;
	case '.':
		sep = memchr(data + 1, 0x01, size - 1);
		if (sep != NULL) {
			fr_meter(data + 1, (size_t)(sep - (data + 1)));
			fr_delivery(sep + 1, size - (size_t)(sep + 1 - data));
		} else
			fr_delivery(data + 1, size - 1);
		break;
	default:
		/* '!' and the rest: the text is not parsed, only shown.
		 * Still give the parsers the bytes, for coverage. */
		fr_upcall(data + 1, size - 1);
		fr_delivery(data + 1, size - 1);
		break;
	}
	return 0;
}
