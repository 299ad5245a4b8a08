/*
 * check_control_msg.c — unit suite for protocol/control_msg.c: each op
 * parses, each malformed request gets its code and a message naming the
 * field, the id is echoed, and the built lines are byte for byte what the
 * protocol says.  Links control_msg.o and jansson only.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocol/control_msg.h"

/* Parse a line that must succeed; the caller clears req. */
static void
parse_ok(const char *line, struct ctl_request *req)
{
	struct ctl_parse_error err;
	int	 rc;

	rc = ctl_request_parse(line, strlen(line), req, &err);
	ck_assert_msg(rc == 0, "line %s: %s", line, rc == 0 ? "" :
	    err.message);
	ck_assert_ptr_nonnull(req->id);
}

/*
 * Parse a line that must fail with code, a message containing want, and
 * (when id_json is not NULL) the id serialized as id_json.
 */
static void
parse_fail(const char *line, size_t len, enum ctl_code code,
    const char *want, const char *id_json)
{
	struct ctl_request	 req;
	struct ctl_parse_error	 err;
	char			*id;

	ck_assert_int_eq(ctl_request_parse(line, len, &req, &err), -1);
	ck_assert_msg(err.code == code, "line %.*s: code %s, want %s: %s",
	    (int)len, line, ctl_code_name(err.code), ctl_code_name(code),
	    err.message);
	ck_assert_msg(strstr(err.message, want) != NULL,
	    "line %.*s: message \"%s\" lacks \"%s\"", (int)len, line,
	    err.message, want);
	ck_assert_ptr_nonnull(err.id);
	if (id_json != NULL) {
		id = json_dumps(err.id, JSON_COMPACT | JSON_ENCODE_ANY);
		ck_assert_ptr_nonnull(id);
		ck_assert_str_eq(id, id_json);
		free(id);
	}
	ctl_parse_error_clear(&err);
}

#define FAIL(line, code, want, id) \
	parse_fail((line), strlen(line), (code), (want), (id))

START_TEST(test_parse_status)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"status\"}", &req);
	ck_assert_int_eq(req.op, CTL_OP_STATUS);
	ck_assert(json_is_null(req.id));
	ctl_request_clear(&req);

	parse_ok("  {\"id\":1, \"op\":\"status\"}\r", &req);
	ck_assert_int_eq(req.op, CTL_OP_STATUS);
	ck_assert_int_eq(json_integer_value(req.id), 1);
	ctl_request_clear(&req);
}
END_TEST

START_TEST(test_parse_commit)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"commit\",\"height\":0}", &req);
	ck_assert_int_eq(req.op, CTL_OP_COMMIT);
	ck_assert_uint_eq(req.u.commit.height, 0);
	ctl_request_clear(&req);

	parse_ok("{\"height\":42,\"op\":\"commit\",\"id\":\"c\"}", &req);
	ck_assert_int_eq(req.op, CTL_OP_COMMIT);
	ck_assert_uint_eq(req.u.commit.height, 42);
	ck_assert_str_eq(json_string_value(req.id), "c");
	ctl_request_clear(&req);

	parse_ok("{\"op\":\"commit\",\"height\":9223372036854775807}", &req);
	ck_assert_uint_eq(req.u.commit.height, 9223372036854775807ULL);
	ctl_request_clear(&req);
}
END_TEST

START_TEST(test_parse_shutdown)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"shutdown\",\"id\":null}", &req);
	ck_assert_int_eq(req.op, CTL_OP_SHUTDOWN);
	ck_assert(json_is_null(req.id));
	ctl_request_clear(&req);
}
END_TEST

/* args as compact JSON with sorted keys, for comparing. */
static void
assert_json(json_t *v, const char *want)
{
	char	*got;

	got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_parse_queue)
{
	struct ctl_request req;

	/* To a static vat's root; args default to no arguments. */
	parse_ok("{\"id\":1,\"op\":\"queue\",\"vat\":\"bootstrap\","
	    "\"method\":\"go\"}", &req);
	ck_assert_int_eq(req.op, CTL_OP_QUEUE);
	ck_assert_str_eq(req.u.queue.vat, "bootstrap");
	ck_assert_ptr_null(req.u.queue.target);
	ck_assert_str_eq(req.u.queue.method, "go");
	ck_assert_ptr_nonnull(req.u.queue.args);
	assert_json(req.u.queue.args, "{\"body\":\"#[]\",\"slots\":[]}");
	ctl_request_clear(&req);

	/* To a kref, with capdata carrying slots of each kind. */
	parse_ok("{\"op\":\"queue\",\"target\":\"ko20\",\"method\":\"add\","
	    "\"args\":{\"slots\":[\"ko1\",\"kp40\",\"kd7\"],"
	    "\"body\":\"#[\\\"$0.Alleged: x\\\",{\\\"a\\\":[1,2.5,null]},"
	    "\\\"&1\\\",\\\"$2\\\",18446744073709552000]\"}}", &req);
	ck_assert_ptr_null(req.u.queue.vat);
	ck_assert_str_eq(req.u.queue.target, "ko20");
	ck_assert_str_eq(req.u.queue.method, "add");
	assert_json(json_object_get(req.u.queue.args, "slots"),
	    "[\"ko1\",\"kp40\",\"kd7\"]");
	ctl_request_clear(&req);

	parse_ok("{\"op\":\"queue\",\"target\":\"kp0\",\"method\":\"then\","
	    "\"args\":{\"body\":\"#[ ]\",\"slots\":[]}}", &req);
	ck_assert_str_eq(req.u.queue.target, "kp0");
	ctl_request_clear(&req);

	parse_ok("{\"op\":\"queue\",\"vat\":\"v\",\"method\":\"m\","
	    "\"args\":{\"body\":\"#[]\",\"slots\":[]}}", &req);
	assert_json(req.u.queue.args, "{\"body\":\"#[]\",\"slots\":[]}");
	ctl_request_clear(&req);
}
END_TEST

/* args is a new reference: it outlives the parsed line. */
START_TEST(test_queue_args_owned)
{
	struct ctl_request req;
	json_t	*args;

	parse_ok("{\"op\":\"queue\",\"vat\":\"v\",\"method\":\"m\","
	    "\"args\":{\"body\":\"#[1]\",\"slots\":[\"ko5\"]}}", &req);
	args = json_incref(req.u.queue.args);
	ck_assert_int_eq(args->refcount, 2);
	ctl_request_clear(&req);
	ck_assert_ptr_null(req.u.queue.args);
	assert_json(args, "{\"body\":\"#[1]\",\"slots\":[\"ko5\"]}");
	ck_assert_int_eq(args->refcount, 1);
	json_decref(args);
}
END_TEST

START_TEST(test_queue_errors)
{
	/* vat and target: exactly one. */
	FAIL("{\"id\":1,\"op\":\"queue\",\"method\":\"m\"}", CTL_E_BAD_REQUEST,
	    "field 'vat' or 'target': required", "1");
	FAIL("{\"id\":1,\"op\":\"queue\",\"vat\":\"v\",\"target\":\"ko1\","
	    "\"method\":\"m\"}", CTL_E_BAD_REQUEST,
	    "fields 'vat' and 'target': give one, not both", "1");
	FAIL("{\"id\":1,\"op\":\"queue\",\"vat\":3,\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST,
	    "field 'vat': expected a non-empty string, got integer", "1");
	FAIL("{\"id\":1,\"op\":\"queue\",\"vat\":\"\",\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'vat': expected a non-empty string",
	    "1");
	FAIL("{\"id\":1,\"op\":\"queue\",\"vat\":\"a\\u0000b\",\"method\":"
	    "\"m\"}", CTL_E_BAD_JSON, "\\u0000 is not allowed", "null");
	FAIL("{\"id\":1,\"op\":\"queue\",\"vat\":null,\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'vat': expected a non-empty string, "
	    "got null", "1");

	/* target: ko or kp and digits, nothing else. */
	FAIL("{\"id\":2,\"op\":\"queue\",\"target\":\"kd1\",\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'target': expected a kref, ko<digits> "
	    "or kp<digits>, got 'kd1'", "2");
	FAIL("{\"id\":2,\"op\":\"queue\",\"target\":\"ko\",\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'target': expected a kref", "2");
	FAIL("{\"id\":2,\"op\":\"queue\",\"target\":\"o1\",\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'target': expected a kref", "2");
	FAIL("{\"id\":2,\"op\":\"queue\",\"target\":\"ko1x\",\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'target': expected a kref", "2");
	FAIL("{\"id\":2,\"op\":\"queue\",\"target\":\"ko-1\",\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'target': expected a kref", "2");
	FAIL("{\"id\":2,\"op\":\"queue\",\"target\":\" ko1\",\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'target': expected a kref", "2");
	FAIL("{\"id\":2,\"op\":\"queue\",\"target\":\"KO1\",\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'target': expected a kref", "2");
	FAIL("{\"id\":2,\"op\":\"queue\",\"target\":\"\",\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'target': expected a kref", "2");
	FAIL("{\"id\":2,\"op\":\"queue\",\"target\":20,\"method\":\"m\"}",
	    CTL_E_BAD_REQUEST, "field 'target': expected a kref, ko<digits> "
	    "or kp<digits>, got integer", "2");

	/* method: a non-empty string. */
	FAIL("{\"id\":3,\"op\":\"queue\",\"vat\":\"v\"}", CTL_E_BAD_REQUEST,
	    "field 'method': required", "3");
	FAIL("{\"id\":3,\"op\":\"queue\",\"vat\":\"v\",\"method\":\"\"}",
	    CTL_E_BAD_REQUEST, "field 'method': expected a non-empty string",
	    "3");
	FAIL("{\"id\":3,\"op\":\"queue\",\"vat\":\"v\",\"method\":[\"m\"]}",
	    CTL_E_BAD_REQUEST, "field 'method': expected a non-empty string, "
	    "got array", "3");

	FAIL("{\"id\":3,\"op\":\"queue\",\"vat\":\"v\",\"method\":\"m\","
	    "\"arg\":1}", CTL_E_BAD_REQUEST,
	    "unknown field 'arg' for op 'queue'", "3");
}
END_TEST

#define QARGS(a)	"{\"id\":4,\"op\":\"queue\",\"vat\":\"v\"," \
			"\"method\":\"m\",\"args\":" a "}"

START_TEST(test_queue_args_errors)
{
	FAIL(QARGS("[1,2]"), CTL_E_BAD_REQUEST,
	    "field 'args': expected capdata", "4");
	FAIL(QARGS("\"#[]\""), CTL_E_BAD_REQUEST,
	    "field 'args': expected capdata, "
	    "{\"body\":\"#[…]\",\"slots\":[…]}, got string", "4");
	FAIL(QARGS("null"), CTL_E_BAD_REQUEST, "field 'args'", "4");
	FAIL(QARGS("{\"body\":\"#[]\",\"slots\":[],\"extra\":1}"),
	    CTL_E_BAD_REQUEST, "unknown field 'args.extra'", "4");

	/* body: smallcaps of an array. */
	FAIL(QARGS("{\"slots\":[]}"), CTL_E_BAD_REQUEST,
	    "field 'args.body': required", "4");
	FAIL(QARGS("{\"body\":5,\"slots\":[]}"), CTL_E_BAD_REQUEST,
	    "field 'args.body': expected smallcaps of an array, '#[…]', "
	    "got integer", "4");
	FAIL(QARGS("{\"body\":\"[1]\",\"slots\":[]}"), CTL_E_BAD_REQUEST,
	    "field 'args.body': expected smallcaps of an array, '#[…]'", "4");
	FAIL(QARGS("{\"body\":\"#{}\",\"slots\":[]}"), CTL_E_BAD_REQUEST,
	    "field 'args.body': expected smallcaps of an array", "4");
	FAIL(QARGS("{\"body\":\"#\\\"x\\\"\",\"slots\":[]}"),
	    CTL_E_BAD_REQUEST, "field 'args.body'", "4");
	FAIL(QARGS("{\"body\":\"#[1,]\",\"slots\":[]}"), CTL_E_BAD_REQUEST,
	    "field 'args.body'", "4");
	FAIL(QARGS("{\"body\":\"#[1] [2]\",\"slots\":[]}"),
	    CTL_E_BAD_REQUEST, "field 'args.body'", "4");
	FAIL(QARGS("{\"body\":\"#[\",\"slots\":[]}"), CTL_E_BAD_REQUEST,
	    "field 'args.body'", "4");
	FAIL(QARGS("{\"body\":\"#\",\"slots\":[]}"), CTL_E_BAD_REQUEST,
	    "field 'args.body'", "4");
	FAIL(QARGS("{\"body\":\"# []\",\"slots\":[]}"), CTL_E_BAD_REQUEST,
	    "field 'args.body'", "4");
	FAIL(QARGS("{\"body\":\"#[]\\u0000\",\"slots\":[]}"),
	    CTL_E_BAD_JSON, "\\u0000 is not allowed", "null");
	FAIL(QARGS("{\"body\":\"{\\\"body\\\":\\\"[]\\\"}\",\"slots\":[]}"),
	    CTL_E_BAD_REQUEST, "field 'args.body'", "4");

	/* slots: krefs of objects, promises or devices. */
	FAIL(QARGS("{\"body\":\"#[]\"}"), CTL_E_BAD_REQUEST,
	    "field 'args.slots': required", "4");
	FAIL(QARGS("{\"body\":\"#[]\",\"slots\":{}}"), CTL_E_BAD_REQUEST,
	    "field 'args.slots': expected an array of krefs, got object",
	    "4");
	FAIL(QARGS("{\"body\":\"#[]\",\"slots\":[\"ko1\",\"v1\"]}"),
	    CTL_E_BAD_REQUEST, "field 'args.slots[1]': expected a kref, "
	    "ko<digits>, kp<digits> or kd<digits>, got 'v1'", "4");
	FAIL(QARGS("{\"body\":\"#[]\",\"slots\":[7]}"), CTL_E_BAD_REQUEST,
	    "field 'args.slots[0]': expected a kref, ko<digits>, kp<digits> "
	    "or kd<digits>, got integer", "4");
	FAIL(QARGS("{\"body\":\"#[]\",\"slots\":[\"kx1\"]}"),
	    CTL_E_BAD_REQUEST, "field 'args.slots[0]'", "4");

	/* Numbers beyond 64 bits inside args are named by path. */
	FAIL(QARGS("{\"body\":\"#[]\",\"slots\":[18446744073709551616]}"),
	    CTL_E_BAD_REQUEST, "field 'args.slots[0]': integer too large",
	    "4");
}
END_TEST

START_TEST(test_parse_run)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"run\"}", &req);
	ck_assert_int_eq(req.op, CTL_OP_RUN);
	ck_assert_uint_eq(req.u.run.cranks, 0);
	ck_assert_uint_eq(req.u.run.computrons, 0);
	ctl_request_clear(&req);

	parse_ok("{\"op\":\"run\",\"budget\":{}}", &req);
	ck_assert_uint_eq(req.u.run.cranks, 0);
	ck_assert_uint_eq(req.u.run.computrons, 0);
	ctl_request_clear(&req);

	parse_ok("{\"op\":\"run\",\"budget\":{\"cranks\":5}}", &req);
	ck_assert_uint_eq(req.u.run.cranks, 5);
	ck_assert_uint_eq(req.u.run.computrons, 0);
	ctl_request_clear(&req);

	parse_ok("{\"op\":\"run\",\"id\":\"r\",\"budget\":{\"computrons\":"
	    "9223372036854775807,\"cranks\":1}}", &req);
	ck_assert_uint_eq(req.u.run.cranks, 1);
	ck_assert_uint_eq(req.u.run.computrons, 9223372036854775807ULL);
	ctl_request_clear(&req);
}
END_TEST

START_TEST(test_parse_result_and_release)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"queue\",\"vat\":\"a\",\"method\":\"m\"}", &req);
	ck_assert_int_eq(req.u.queue.no_result, 0);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"queue\",\"vat\":\"a\",\"method\":\"m\","
	    "\"result\":false}", &req);
	ck_assert_int_eq(req.u.queue.no_result, 1);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"promise\",\"kpid\":\"kp40\",\"release\":true}",
	    &req);
	ck_assert_int_eq(req.u.promise.release, 1);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"promise\",\"kpid\":\"kp40\"}", &req);
	ck_assert_int_eq(req.u.promise.release, 0);
	ctl_request_clear(&req);
	FAIL("{\"id\":5,\"op\":\"promise\",\"kpid\":\"kp4\",\"release\":1}",
	    CTL_E_BAD_REQUEST, "field 'release': expected true or false, got "
	    "integer", "5");
	FAIL("{\"id\":5,\"op\":\"queue\",\"vat\":\"a\",\"method\":\"m\","
	    "\"result\":\"no\"}", CTL_E_BAD_REQUEST, "field 'result': expected "
	    "true or false, got string", "5");
}
END_TEST

START_TEST(test_parse_run_cleanup)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"run\"}", &req);
	ck_assert_int_eq(req.u.run.cleanup_mode, CTL_CLEANUP_ALL);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"run\",\"cleanup\":true}", &req);
	ck_assert_int_eq(req.u.run.cleanup_mode, CTL_CLEANUP_ALL);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"run\",\"cleanup\":false}", &req);
	ck_assert_int_eq(req.u.run.cleanup_mode, CTL_CLEANUP_NONE);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"run\",\"cleanup\":{\"kv\":50,\"default\":5}}",
	    &req);
	ck_assert_int_eq(req.u.run.cleanup_mode, CTL_CLEANUP_BUDGET);
	for (int p = 0; p < CTL_CLEANUP_PHASES; p++)
		ck_assert_uint_eq(req.u.run.cleanup[p],
		    strcmp(ctl_cleanup_phases[p], "kv") == 0 ? 50 : 5);
	ctl_request_clear(&req);
	FAIL("{\"id\":5,\"op\":\"run\",\"cleanup\":{\"kv\":5}}",
	    CTL_E_BAD_REQUEST, "field 'cleanup': expected true, false or a "
	    "budget", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"cleanup\":3}", CTL_E_BAD_REQUEST,
	    "field 'cleanup': expected true, false or a budget", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"cleanup\":{\"default\":0}}",
	    CTL_E_BAD_REQUEST, "field 'cleanup.default': expected a positive "
	    "integer, got 0", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"cleanup\":{\"default\":1,"
	    "\"vatstore\":1}}", CTL_E_BAD_REQUEST,
	    "unknown field 'cleanup.vatstore'", "5");
}
END_TEST

START_TEST(test_run_errors)
{
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":5}", CTL_E_BAD_REQUEST,
	    "field 'budget': expected an object", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":null}", CTL_E_BAD_REQUEST,
	    "field 'budget': expected an object", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":{\"crank\":1}}",
	    CTL_E_BAD_REQUEST, "unknown field 'budget.crank'", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":{\"cranks\":0}}",
	    CTL_E_BAD_REQUEST,
	    "field 'budget.cranks': expected a positive integer, got 0", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":{\"cranks\":-2}}",
	    CTL_E_BAD_REQUEST,
	    "field 'budget.cranks': expected a positive integer, got -2", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":{\"computrons\":1.5}}",
	    CTL_E_BAD_REQUEST, "field 'budget.computrons': expected a "
	    "positive integer, got real", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":{\"computrons\":\"9\"}}",
	    CTL_E_BAD_REQUEST, "field 'budget.computrons': expected a "
	    "positive integer, got string", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":{\"cranks\":null}}",
	    CTL_E_BAD_REQUEST, "field 'budget.cranks': expected a "
	    "positive integer, got null", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":{\"cranks\":"
	    "18446744073709551616}}", CTL_E_BAD_REQUEST,
	    "field 'budget.cranks': integer too large", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"cranks\":1}", CTL_E_BAD_REQUEST,
	    "unknown field 'cranks' for op 'run'", "5");
	FAIL("{\"id\":5,\"op\":\"run\",\"budget\":{\"cranks\":1,"
	    "\"cranks\":2}}", CTL_E_BAD_REQUEST, "duplicate field 'cranks'",
	    "5");
}
END_TEST

START_TEST(test_parse_poll)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"poll\",\"now\":0}", &req);
	ck_assert_int_eq(req.op, CTL_OP_POLL);
	ck_assert_uint_eq(req.u.poll.now, 0);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"poll\",\"now\":9223372036854775807}", &req);
	ck_assert_uint_eq(req.u.poll.now, 9223372036854775807ULL);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"poll\",\"now\":\"18446744073709551615\"}",
	    &req);
	ck_assert_uint_eq(req.u.poll.now, UINT64_MAX);
	ctl_request_clear(&req);

	parse_ok("{\"op\":\"run\"}", &req);
	ck_assert_int_eq(req.u.run.has_now, 0);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"run\",\"now\":12,\"budget\":{\"cranks\":3}}",
	    &req);
	ck_assert_int_eq(req.u.run.has_now, 1);
	ck_assert_uint_eq(req.u.run.now, 12);
	ck_assert_uint_eq(req.u.run.cranks, 3);
	ctl_request_clear(&req);
}
END_TEST

START_TEST(test_poll_errors)
{
	FAIL("{\"id\":1,\"op\":\"poll\"}", CTL_E_BAD_REQUEST,
	    "field 'now': required", "1");
	FAIL("{\"id\":1,\"op\":\"poll\",\"now\":-1}", CTL_E_BAD_REQUEST,
	    "field 'now': expected a time (a non-negative integer), got -1",
	    "1");
	FAIL("{\"id\":1,\"op\":\"poll\",\"now\":1.5}", CTL_E_BAD_REQUEST,
	    "field 'now': expected a time", "1");
	FAIL("{\"id\":1,\"op\":\"poll\",\"now\":\"18446744073709551616\"}",
	    CTL_E_BAD_REQUEST, "at most 18446744073709551615), got string",
	    "1");
	FAIL("{\"id\":1,\"op\":\"poll\",\"now\":\"\"}", CTL_E_BAD_REQUEST,
	    "field 'now': expected a time", "1");
	FAIL("{\"id\":1,\"op\":\"poll\",\"now\":\"+5\"}", CTL_E_BAD_REQUEST,
	    "field 'now': expected a time", "1");
	FAIL("{\"id\":1,\"op\":\"poll\",\"now\":1,\"then\":2}",
	    CTL_E_BAD_REQUEST, "unknown field 'then' for op 'poll'", "1");
	FAIL("{\"id\":1,\"op\":\"run\",\"now\":null}", CTL_E_BAD_REQUEST,
	    "field 'now': expected a time", "1");
	ck_assert_str_eq(ctl_code_name(CTL_E_BAD_TIME), "bad_time");
	ck_assert_str_eq(ctl_op_name(CTL_OP_POLL), "poll");
}
END_TEST

START_TEST(test_parse_mailbox)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"mailboxDeliver\",\"peer\":\"p1\",\"messages\":"
	    "[[1,\"a\"],[2,\"b\"]],\"ack\":3}", &req);
	ck_assert_int_eq(req.op, CTL_OP_MAILBOX_DELIVER);
	ck_assert_str_eq(req.u.mailbox_deliver.peer, "p1");
	ck_assert_uint_eq(json_array_size(req.u.mailbox_deliver.messages), 2);
	ck_assert_uint_eq(req.u.mailbox_deliver.ack, 3);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"mailboxOutbox\"}", &req);
	ck_assert_int_eq(req.op, CTL_OP_MAILBOX_OUTBOX);
	ctl_request_clear(&req);

	FAIL("{\"id\":2,\"op\":\"mailboxDeliver\",\"messages\":[],"
	    "\"ack\":0}", CTL_E_BAD_REQUEST, "field 'peer': required", "2");
	FAIL("{\"id\":2,\"op\":\"mailboxDeliver\",\"peer\":\"p\","
	    "\"messages\":{},\"ack\":0}", CTL_E_BAD_REQUEST,
	    "field 'messages': object", "2");
	FAIL("{\"id\":2,\"op\":\"mailboxDeliver\",\"peer\":\"p\","
	    "\"messages\":[[9007199254740992,\"x\"]],\"ack\":0}",
	    CTL_E_BAD_REQUEST, "field 'messages[0][0]': out of range", "2");
	FAIL("{\"id\":2,\"op\":\"mailboxDeliver\",\"peer\":\"p\","
	    "\"messages\":[[1,\"x\",3]],\"ack\":0}", CTL_E_BAD_REQUEST,
	    "field 'messages[0]': expected [msgnum, body]", "2");
	FAIL("{\"id\":2,\"op\":\"mailboxDeliver\",\"peer\":\"p\","
	    "\"messages\":[]}", CTL_E_BAD_REQUEST, "field 'ack': required",
	    "2");
	FAIL("{\"id\":2,\"op\":\"mailboxOutbox\",\"peer\":\"p\"}",
	    CTL_E_BAD_REQUEST, "unknown field 'peer'", "2");
}
END_TEST

START_TEST(test_parse_bridge)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"bridgeInbound\",\"srcID\":\"s1\",\"obj\":"
	    "{\"a\":[1,null]}}", &req);
	ck_assert_int_eq(req.op, CTL_OP_BRIDGE_INBOUND);
	ck_assert_str_eq(req.u.bridge_inbound.src_id, "s1");
	ck_assert(json_is_object(req.u.bridge_inbound.obj));
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"bridgeInbound\",\"srcID\":\"s\",\"obj\":null}",
	    &req);
	ck_assert(json_is_null(req.u.bridge_inbound.obj));
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"bridgeRegister\"}", &req);
	ck_assert_int_eq(req.op, CTL_OP_BRIDGE_REGISTER);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"bridgeAnswer\",\"call\":7,\"result\":[1]}", &req);
	ck_assert_int_eq(req.op, CTL_OP_BRIDGE_ANSWER);
	ck_assert_uint_eq(req.u.bridge_answer.call, 7);
	ck_assert(json_is_array(req.u.bridge_answer.result));
	ck_assert_ptr_null(req.u.bridge_answer.error);
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"bridgeAnswer\",\"call\":1,\"error\":\"no\"}", &req);
	ck_assert_ptr_null(req.u.bridge_answer.result);
	ck_assert_str_eq(req.u.bridge_answer.error, "no");
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"bridgeAnswer\",\"call\":1}", &req);
	ck_assert_ptr_null(req.u.bridge_answer.result);
	ck_assert_ptr_null(req.u.bridge_answer.error);
	ctl_request_clear(&req);

	FAIL("{\"id\":2,\"op\":\"bridgeInbound\",\"obj\":1}",
	    CTL_E_BAD_REQUEST, "field 'srcID': required", "2");
	FAIL("{\"id\":2,\"op\":\"bridgeInbound\",\"srcID\":\"s\"}",
	    CTL_E_BAD_REQUEST, "field 'obj': required", "2");
	FAIL("{\"id\":2,\"op\":\"bridgeInbound\",\"srcID\":\"s\","
	    "\"obj\":[{\"k\":{\"#x\":1}}]}", CTL_E_BAD_REQUEST,
	    "field 'obj[0].k.#x': a key starting with '#'", "2");
	FAIL("{\"id\":2,\"op\":\"bridgeAnswer\",\"result\":1}",
	    CTL_E_BAD_REQUEST, "field 'call': required", "2");
	FAIL("{\"id\":2,\"op\":\"bridgeAnswer\",\"call\":0}",
	    CTL_E_BAD_REQUEST, "field 'call': out of range", "2");
	FAIL("{\"id\":2,\"op\":\"bridgeAnswer\",\"call\":1,\"result\":1,"
	    "\"error\":\"x\"}", CTL_E_BAD_REQUEST, "not both", "2");
	FAIL("{\"id\":2,\"op\":\"bridgeAnswer\",\"call\":1,\"error\":1}",
	    CTL_E_BAD_REQUEST, "field 'error': integer", "2");
	FAIL("{\"id\":2,\"op\":\"bridgeAnswer\",\"call\":1,\"result\":"
	    "{\"#t\":1}}", CTL_E_BAD_REQUEST, "field 'result.#t'", "2");
	FAIL("{\"id\":2,\"op\":\"bridgeRegister\",\"x\":1}",
	    CTL_E_BAD_REQUEST, "unknown field 'x'", "2");
	ck_assert_str_eq(ctl_op_name(CTL_OP_BRIDGE_ANSWER), "bridgeAnswer");
}
END_TEST

START_TEST(test_parse_promise)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"promise\",\"kpid\":\"kp40\",\"id\":6}", &req);
	ck_assert_int_eq(req.op, CTL_OP_PROMISE);
	ck_assert_str_eq(req.u.promise.kpid, "kp40");
	ctl_request_clear(&req);
	ck_assert_ptr_null(req.u.promise.kpid);
}
END_TEST

START_TEST(test_promise_errors)
{
	FAIL("{\"id\":6,\"op\":\"promise\"}", CTL_E_BAD_REQUEST,
	    "field 'kpid': required, expected a kref, kp<digits>", "6");
	FAIL("{\"id\":6,\"op\":\"promise\",\"kpid\":\"ko40\"}",
	    CTL_E_BAD_REQUEST,
	    "field 'kpid': expected a kref, kp<digits>, got 'ko40'", "6");
	FAIL("{\"id\":6,\"op\":\"promise\",\"kpid\":\"kp\"}",
	    CTL_E_BAD_REQUEST, "field 'kpid'", "6");
	FAIL("{\"id\":6,\"op\":\"promise\",\"kpid\":\"kp4.0\"}",
	    CTL_E_BAD_REQUEST, "field 'kpid'", "6");
	FAIL("{\"id\":6,\"op\":\"promise\",\"kpid\":40}", CTL_E_BAD_REQUEST,
	    "field 'kpid': expected a kref, kp<digits>, got integer", "6");
	FAIL("{\"id\":6,\"op\":\"promise\",\"kpid\":\"kp40\",\"vat\":\"v\"}",
	    CTL_E_BAD_REQUEST, "unknown field 'vat' for op 'promise'", "6");
}
END_TEST

START_TEST(test_parse_install_bundle)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"installBundle\",\"bundle\":{\"moduleFormat\":"
	    "\"x\"},\"id\":7}", &req);
	ck_assert_int_eq(req.op, CTL_OP_INSTALL_BUNDLE);
	ck_assert_str_eq(json_string_value(json_object_get(
	    req.u.install_bundle.bundle, "moduleFormat")), "x");
	ck_assert_ptr_null(req.u.install_bundle.bundle_id);
	ctl_request_clear(&req);
	ck_assert_ptr_null(req.u.install_bundle.bundle);
	parse_ok("{\"op\":\"installBundle\",\"bundle\":{},\"bundleID\":"
	    "\"b1-ab\"}", &req);
	ck_assert_str_eq(req.u.install_bundle.bundle_id, "b1-ab");
	ctl_request_clear(&req);
}
END_TEST

/* The form only: what a bundle holds is the daemon's (bad_bundle). */
START_TEST(test_install_bundle_errors)
{
	FAIL("{\"id\":7,\"op\":\"installBundle\"}", CTL_E_BAD_REQUEST,
	    "field 'bundle': required, expected a bundle object", "7");
	FAIL("{\"id\":7,\"op\":\"installBundle\",\"bundle\":\"b\"}",
	    CTL_E_BAD_REQUEST, "field 'bundle': expected a bundle object, "
	    "got string", "7");
	FAIL("{\"id\":7,\"op\":\"installBundle\",\"bundle\":{},"
	    "\"bundleID\":1}", CTL_E_BAD_REQUEST, "field 'bundleID': "
	    "expected a non-empty string, got integer", "7");
	FAIL("{\"id\":7,\"op\":\"installBundle\",\"bundle\":{},"
	    "\"bundleID\":\"\"}", CTL_E_BAD_REQUEST, "field 'bundleID'", "7");
	FAIL("{\"id\":7,\"op\":\"installBundle\",\"bundle\":{\"a\":1,"
	    "\"a\":2}}", CTL_E_BAD_REQUEST, "duplicate field 'a'", "7");
	FAIL("{\"id\":7,\"op\":\"installBundle\",\"bundle\":{},"
	    "\"bundleId\":\"b1-ab\"}", CTL_E_BAD_REQUEST,
	    "unknown field 'bundleId' for op 'installBundle'", "7");
}
END_TEST

START_TEST(test_parse_terminate_vat)
{
	struct ctl_request req;

	parse_ok("{\"op\":\"terminateVat\",\"vat\":\"alice\",\"reason\":"
	    "{\"body\":\"#\\\"bye\\\"\",\"slots\":[]}}", &req);
	ck_assert_int_eq(req.op, CTL_OP_TERMINATE_VAT);
	ck_assert_str_eq(req.u.terminate.vat, "alice");
	ck_assert_ptr_null(req.u.terminate.vat_id);
	ck_assert_str_eq(json_string_value(json_object_get(
	    req.u.terminate.reason, "body")), "#\"bye\"");
	ctl_request_clear(&req);
	parse_ok("{\"op\":\"terminateVat\",\"vatID\":\"v12\",\"reason\":"
	    "{\"body\":\"#{\\\"#error\\\":\\\"x\\\",\\\"name\\\":"
	    "\\\"Error\\\"}\",\"slots\":[]}}", &req);
	ck_assert_ptr_null(req.u.terminate.vat);
	ck_assert_str_eq(req.u.terminate.vat_id, "v12");
	ctl_request_clear(&req);
	/* normalised as the kernel keeps an exit's info: no errorId */
	parse_ok("{\"op\":\"terminateVat\",\"vatID\":\"v1\",\"reason\":"
	    "{\"body\":\"#{\\\"#error\\\":\\\"x\\\",\\\"errorId\\\":"
	    "\\\"e1\\\",\\\"name\\\":\\\"Error\\\"}\",\"slots\":[]}}", &req);
	ck_assert_ptr_null(strstr(json_string_value(json_object_get(
	    req.u.terminate.reason, "body")), "errorId"));
	ctl_request_clear(&req);
}
END_TEST

START_TEST(test_terminate_vat_errors)
{
	const char *r = "\"reason\":{\"body\":\"#null\",\"slots\":[]}";
	char line[512];

	snprintf(line, sizeof(line), "{\"id\":3,\"op\":\"terminateVat\",%s}",
	    r);
	FAIL(line, CTL_E_BAD_REQUEST, "'vat' and 'vatID': give exactly one",
	    "3");
	snprintf(line, sizeof(line), "{\"op\":\"terminateVat\",\"vat\":\"a\","
	    "\"vatID\":\"v1\",%s}", r);
	FAIL(line, CTL_E_BAD_REQUEST, "give exactly one", NULL);
	snprintf(line, sizeof(line), "{\"op\":\"terminateVat\",\"vatID\":"
	    "\"vx\",%s}", r);
	FAIL(line, CTL_E_BAD_REQUEST, "field 'vatID': expected a vat ID", NULL);
	snprintf(line, sizeof(line), "{\"op\":\"terminateVat\",\"vatID\":"
	    "7,%s}", r);
	FAIL(line, CTL_E_BAD_REQUEST, "field 'vatID'", NULL);
	snprintf(line, sizeof(line), "{\"op\":\"terminateVat\",\"vat\":"
	    "\"\",%s}", r);
	FAIL(line, CTL_E_BAD_REQUEST, "field 'vat'", NULL);
	FAIL("{\"op\":\"terminateVat\",\"vat\":\"a\"}", CTL_E_BAD_REQUEST,
	    "field 'reason': required", NULL);
	FAIL("{\"op\":\"terminateVat\",\"vat\":\"a\",\"reason\":\"bye\"}",
	    CTL_E_BAD_REQUEST, "field 'reason'", NULL);
	FAIL("{\"op\":\"terminateVat\",\"vat\":\"a\",\"reason\":{\"body\":"
	    "\"#1\",\"slots\":[\"ko1\"]}}", CTL_E_BAD_REQUEST,
	    "'reason.slots': not [], expected []", NULL);
	/* a body that refers to a slot would reach vat-admin unreadable */
	FAIL("{\"op\":\"terminateVat\",\"vat\":\"a\",\"reason\":{\"body\":"
	    "\"#\\\"$0.Alleged: x\\\"\",\"slots\":[]}}", CTL_E_BAD_REQUEST,
	    "'reason.body': not usable", NULL);
	FAIL("{\"op\":\"terminateVat\",\"vat\":\"a\",\"reason\":{\"body\":"
	    "\"#1\"}}", CTL_E_BAD_REQUEST, "'reason.slots': required", NULL);
	FAIL("{\"op\":\"terminateVat\",\"vat\":\"a\",\"reason\":{\"body\":"
	    "\"#{\",\"slots\":[]}}", CTL_E_BAD_REQUEST, "'reason.body'", NULL);
	FAIL("{\"op\":\"terminateVat\",\"vat\":\"a\",\"reason\":{\"body\":"
	    "\"#1\",\"slots\":[],\"x\":1}}", CTL_E_BAD_REQUEST,
	    "unknown field 'reason.x'", NULL);
}
END_TEST

/* The line need not be NUL-terminated. */
START_TEST(test_parse_not_terminated)
{
	struct ctl_request	 req;
	struct ctl_parse_error	 err;
	const char		*buf = "{\"op\":\"status\"}{\"op\":\"bogus\"}";

	ck_assert_int_eq(ctl_request_parse(buf, 15, &req, &err), 0);
	ck_assert_int_eq(req.op, CTL_OP_STATUS);
	ctl_request_clear(&req);
	parse_fail(buf, strlen(buf), CTL_E_BAD_JSON, "invalid JSON", "null");
}
END_TEST

START_TEST(test_bad_json)
{
	FAIL("this is not json", CTL_E_BAD_JSON, "invalid JSON", "null");
	FAIL("{\"op\":\"status\"", CTL_E_BAD_JSON, "invalid JSON", "null");
	FAIL("{\"op\":\"status\"} x", CTL_E_BAD_JSON, "invalid JSON", "null");
	FAIL("{\"op\":\"status\"}\n{}", CTL_E_BAD_JSON, "invalid JSON",
	    "null");
	FAIL("{\"op\":1e999}", CTL_E_BAD_JSON, "invalid JSON", "null");
	parse_fail("{\"op\":\"st\0tus\"}", 16, CTL_E_BAD_JSON,
	    "invalid JSON", "null");
	/* Bad UTF-8 in the input: the message stays valid UTF-8. */
	FAIL("{\"op\xff\xfe\":1}", CTL_E_BAD_JSON, "invalid JSON", "null");
}
END_TEST

START_TEST(test_not_object)
{
	FAIL("[1,2,3]", CTL_E_BAD_JSON, "expected a JSON object, got array",
	    "null");
	FAIL("[{\"id\":1,\"op\":\"status\"}]", CTL_E_BAD_JSON,
	    "got array", "null");
	FAIL("\"status\"", CTL_E_BAD_JSON, "got string", "null");
	FAIL("42", CTL_E_BAD_JSON, "got integer", "null");
	FAIL("null", CTL_E_BAD_JSON, "got null", "null");
	FAIL("true", CTL_E_BAD_JSON, "got boolean", "null");
}
END_TEST

START_TEST(test_empty_line)
{
	FAIL("", CTL_E_BAD_JSON, "empty", "null");
	FAIL("   \t\r", CTL_E_BAD_JSON, "empty", "null");
}
END_TEST

START_TEST(test_op_errors)
{
	FAIL("{}", CTL_E_BAD_REQUEST, "field 'op': required", "null");
	FAIL("{\"id\":9}", CTL_E_BAD_REQUEST, "field 'op': required", "9");
	FAIL("{\"id\":1,\"op\":5}", CTL_E_BAD_REQUEST,
	    "field 'op': expected a string, got integer", "1");
	FAIL("{\"id\":1,\"op\":null}", CTL_E_BAD_REQUEST,
	    "field 'op': expected a string, got null", "1");
	FAIL("{\"id\":1,\"op\":[\"status\"]}", CTL_E_BAD_REQUEST,
	    "field 'op': expected a string, got array", "1");
	FAIL("{\"id\":5,\"op\":\"frobnicate\"}", CTL_E_UNKNOWN_OP,
	    "unknown op 'frobnicate'", "5");
	FAIL("{\"id\":5,\"op\":\"Status\"}", CTL_E_UNKNOWN_OP,
	    "unknown op 'Status'", "5");
	FAIL("{\"id\":5,\"op\":\"\"}", CTL_E_UNKNOWN_OP, "unknown op ''",
	    "5");
}
END_TEST

START_TEST(test_height_errors)
{
	FAIL("{\"id\":\"x\",\"op\":\"commit\"}", CTL_E_BAD_REQUEST,
	    "field 'height': required", "\"x\"");
	FAIL("{\"id\":7,\"op\":\"commit\",\"height\":-1}", CTL_E_BAD_REQUEST,
	    "field 'height': expected a non-negative integer, got -1", "7");
	FAIL("{\"id\":7,\"op\":\"commit\",\"height\":1.5}", CTL_E_BAD_REQUEST,
	    "field 'height': expected a non-negative integer, got real", "7");
	FAIL("{\"id\":7,\"op\":\"commit\",\"height\":1.0}", CTL_E_BAD_REQUEST,
	    "field 'height': expected a non-negative integer, got real", "7");
	FAIL("{\"id\":6,\"op\":\"commit\",\"height\":\"12\"}",
	    CTL_E_BAD_REQUEST,
	    "field 'height': expected a non-negative integer, got string",
	    "6");
	FAIL("{\"id\":6,\"op\":\"commit\",\"height\":null}", CTL_E_BAD_REQUEST,
	    "field 'height': expected a non-negative integer, got null", "6");
	FAIL("{\"id\":6,\"op\":\"commit\",\"height\":true}", CTL_E_BAD_REQUEST,
	    "field 'height': expected a non-negative integer, got boolean",
	    "6");
}
END_TEST

/* Integers beyond 64 bits: jansson refuses them; the field is named. */
START_TEST(test_height_too_large)
{
	FAIL("{\"id\":3,\"op\":\"commit\",\"height\":18446744073709551616}",
	    CTL_E_BAD_REQUEST, "field 'height': integer too large", "3");
	FAIL("{\"op\":\"commit\",\"height\":99999999999999999999999,"
	    "\"id\":3}", CTL_E_BAD_REQUEST, "field 'height'", "3");
	FAIL("{\"id\":3,\"op\":\"commit\",\"height\":-18446744073709551616}",
	    CTL_E_BAD_REQUEST, "field 'height': integer too small", "3");
	/* Above json_int_t but within uint64_t: still refused, by name. */
	FAIL("{\"id\":\"s\",\"op\":\"commit\",\"height\":9223372036854775808}",
	    CTL_E_BAD_REQUEST, "field 'height'", "\"s\"");
	/* The op is still checked first; an out-of-range id is dropped. */
	FAIL("{\"id\":3,\"op\":\"nope\",\"height\":18446744073709551616}",
	    CTL_E_UNKNOWN_OP, "unknown op 'nope'", "3");
	FAIL("{\"id\":18446744073709551616,\"op\":\"status\"}",
	    CTL_E_BAD_REQUEST, "field 'id'", "null");
	FAIL("{\"id\":1.5,\"op\":\"commit\",\"height\":18446744073709551616}",
	    CTL_E_BAD_REQUEST, "field 'height'", "1.5");
}
END_TEST

START_TEST(test_unknown_field)
{
	FAIL("{\"id\":4,\"op\":\"commit\",\"heigth\":5}", CTL_E_BAD_REQUEST,
	    "unknown field 'heigth' for op 'commit'", "4");
	FAIL("{\"id\":8,\"op\":\"status\",\"bogus\":1}", CTL_E_BAD_REQUEST,
	    "unknown field 'bogus' for op 'status'", "8");
	FAIL("{\"id\":8,\"op\":\"shutdown\",\"height\":1}", CTL_E_BAD_REQUEST,
	    "unknown field 'height' for op 'shutdown'", "8");
	FAIL("{\"op\":\"status\",\"ID\":1}", CTL_E_BAD_REQUEST,
	    "unknown field 'ID'", "null");
}
END_TEST

START_TEST(test_duplicate_key)
{
	FAIL("{\"id\":2,\"op\":\"status\",\"op\":\"status\"}",
	    CTL_E_BAD_REQUEST, "duplicate field 'op'", "2");
	FAIL("{\"id\":2,\"op\":\"commit\",\"height\":1,\"height\":2}",
	    CTL_E_BAD_REQUEST, "duplicate field 'height'", "2");
	/* Which id would we echo?  Neither. */
	FAIL("{\"id\":1,\"id\":2,\"op\":\"status\"}", CTL_E_BAD_REQUEST,
	    "duplicate field 'id'", "null");
}
END_TEST

/* The id comes back whatever else is wrong, as long as it is an object. */
START_TEST(test_id_echo)
{
	FAIL("{\"id\":12,\"op\":\"x\"}", CTL_E_UNKNOWN_OP, "'x'", "12");
	FAIL("{\"id\":-3.25,\"op\":\"x\"}", CTL_E_UNKNOWN_OP, "'x'", "-3.25");
	FAIL("{\"id\":\"req-1\",\"op\":\"x\"}", CTL_E_UNKNOWN_OP, "'x'",
	    "\"req-1\"");
	FAIL("{\"id\":{\"b\":[1,{}],\"a\":\"\xc3\xa9\"},\"op\":\"x\"}",
	    CTL_E_UNKNOWN_OP, "'x'", "{\"b\":[1,{}],\"a\":\"\xc3\xa9\"}");
	FAIL("{\"id\":[true,false],\"op\":\"x\"}", CTL_E_UNKNOWN_OP, "'x'",
	    "[true,false]");
	FAIL("{\"id\":null,\"op\":\"x\"}", CTL_E_UNKNOWN_OP, "'x'", "null");
	FAIL("{\"op\":\"x\"}", CTL_E_UNKNOWN_OP, "'x'", "null");
	FAIL("{\"op\":\"commit\",\"height\":\"1\",\"id\":\"late\"}",
	    CTL_E_BAD_REQUEST, "'height'", "\"late\"");
}
END_TEST

/* Successful parses echo every kind of id too. */
START_TEST(test_id_kinds_ok)
{
	static const char *const lines[][2] = {
		{ "{\"id\":7,\"op\":\"status\"}", "7" },
		{ "{\"id\":\"a\",\"op\":\"status\"}", "\"a\"" },
		{ "{\"id\":{\"k\":[1]},\"op\":\"status\"}", "{\"k\":[1]}" },
		{ "{\"id\":null,\"op\":\"status\"}", "null" },
		{ "{\"op\":\"status\"}", "null" },
	};
	struct ctl_request req;
	size_t	 i, len;
	char	*line;
	char	 want[128];

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		parse_ok(lines[i][0], &req);
		line = ctl_response_ok(req.id, NULL, &len);
		ck_assert_ptr_nonnull(line);
		ck_assert_int_gt(snprintf(want, sizeof(want),
		    "{\"id\":%s,\"ok\":true,\"result\":{}}\n", lines[i][1]), 0);
		ck_assert_str_eq(line, want);
		ck_assert_uint_eq(len, strlen(want));
		free(line);
		ctl_request_clear(&req);
	}
}
END_TEST

START_TEST(test_response_ok)
{
	json_t	*id = json_integer(3);
	size_t	 len;
	char	*line;

	line = ctl_response_ok(id, json_pack("{s:I, s:s}", "height",
	    (json_int_t)5, "activityHash", "ab"), &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":3,\"ok\":true,\"result\":"
	    "{\"height\":5,\"activityHash\":\"ab\"}}\n");
	ck_assert_uint_eq(len, strlen(line));
	free(line);

	line = ctl_response_ok(NULL, NULL, &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":null,\"ok\":true,\"result\":{}}\n");
	ck_assert_uint_eq(len, 34);
	free(line);

	/* The id is borrowed: still ours. */
	ck_assert_int_eq(json_integer_value(id), 3);
	json_decref(id);
}
END_TEST

START_TEST(test_response_error)
{
	json_t	*id = json_string("q");
	size_t	 len;
	char	*line;

	line = ctl_response_error(id, CTL_E_BAD_REQUEST,
	    "field 'height': required", &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":\"q\",\"ok\":false,\"error\":"
	    "{\"code\":\"bad_request\",\"message\":"
	    "\"field 'height': required\"}}\n");
	ck_assert_uint_eq(len, strlen(line));
	free(line);

	line = ctl_response_error(NULL, CTL_E_LINE_TOO_LONG, "a \"b\"\n",
	    &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":null,\"ok\":false,\"error\":"
	    "{\"code\":\"line_too_long\",\"message\":\"a \\\"b\\\"\\n\"}}\n");
	free(line);

	/* Invalid UTF-8 in a message does not lose the response. */
	line = ctl_response_error(id, CTL_E_STORE, "bad \xff byte", &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":\"q\",\"ok\":false,\"error\":"
	    "{\"code\":\"store_error\",\"message\":\"bad ? byte\"}}\n");
	free(line);
	json_decref(id);
}
END_TEST

/* A parse error's message and id go straight into a response. */
START_TEST(test_parse_error_response)
{
	struct ctl_request	 req;
	struct ctl_parse_error	 err;
	const char		*in = "{\"id\":4,\"op\":\"commit\",\"heigth\":5}";
	size_t			 len, i;
	char			*line, big[512];
	json_t			*js;

	ck_assert_int_eq(ctl_request_parse(in, strlen(in), &req, &err), -1);
	line = ctl_response_error(err.id, err.code, err.message, &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":4,\"ok\":false,\"error\":"
	    "{\"code\":\"bad_request\",\"message\":"
	    "\"unknown field 'heigth' for op 'commit'\"}}\n");
	free(line);
	ctl_parse_error_clear(&err);

	/* Bad UTF-8 and over-long names end up valid in a response. */
	/* An op name cut mid-character still makes a valid response. */
	memcpy(big, "{\"op\":\"", 7);
	for (i = 0; i < 200; i++)
		memcpy(big + 7 + 2 * i, "\xc3\xa9", 2);
	memcpy(big + 407, "\"}", 3);
	in = big;
	ck_assert_int_eq(ctl_request_parse(in, strlen(in), &req, &err), -1);
	ck_assert_int_eq(err.code, CTL_E_UNKNOWN_OP);
	ck_assert_uint_lt(strlen(err.message), sizeof(err.message));
	js = json_string(err.message);
	ck_assert_ptr_nonnull(js);
	json_decref(js);
	line = ctl_response_error(err.id, err.code, err.message, &len);
	ck_assert_ptr_nonnull(line);
	free(line);
	ctl_parse_error_clear(&err);
}
END_TEST

START_TEST(test_request_build)
{
	json_t	*id = json_integer(1);
	size_t	 len;
	char	*line;

	line = ctl_request_build(id, "commit", json_pack("{s:I}", "height",
	    (json_int_t)12), &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":1,\"op\":\"commit\",\"height\":12}\n");
	ck_assert_uint_eq(len, strlen(line));
	free(line);

	line = ctl_request_build(id, "status", NULL, &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"id\":1,\"op\":\"status\"}\n");
	free(line);

	line = ctl_request_build(NULL, "shutdown", NULL, &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"op\":\"shutdown\"}\n");
	free(line);

	/* A field may not shadow id or op. */
	line = ctl_request_build(id, "status", json_pack("{s:s}", "op",
	    "shutdown"), &len);
	ck_assert_ptr_null(line);
	json_decref(id);
}
END_TEST

/* What a client builds, the daemon parses. */
START_TEST(test_build_then_parse)
{
	struct ctl_request req;
	json_t	*id = json_string("rt");
	size_t	 len;
	char	*line;

	line = ctl_request_build(id, "commit", json_pack("{s:I}", "height",
	    (json_int_t)77), &len);
	ck_assert_ptr_nonnull(line);
	line[len - 1] = '\0';
	parse_ok(line, &req);
	ck_assert_int_eq(req.op, CTL_OP_COMMIT);
	ck_assert_uint_eq(req.u.commit.height, 77);
	ck_assert(json_equal(req.id, id));
	ctl_request_clear(&req);
	free(line);
	json_decref(id);
}
END_TEST

/* swingctl's queue and run requests, as it builds them, parse. */
START_TEST(test_build_then_parse_new_ops)
{
	struct ctl_request req;
	size_t	 len;
	char	*line;

	line = ctl_request_build(NULL, "queue", json_pack("{s:s, s:s, s:{s:s, "
	    "s:[]}}", "target", "kp40", "method", "add", "args", "body",
	    "#[1,\"!$x\",[\"!-neg\",{\"a\":2.5,\"b\":\"!#t\"}],null,true,\"\"]",
	    "slots"), &len);
	ck_assert_ptr_nonnull(line);
	line[len - 1] = '\0';
	parse_ok(line, &req);
	ck_assert_int_eq(req.op, CTL_OP_QUEUE);
	ck_assert_str_eq(req.u.queue.target, "kp40");
	free(line);
	ctl_request_clear(&req);

	line = ctl_request_build(NULL, "run", json_pack("{s:{s:I}}",
	    "budget", "computrons", (json_int_t)1000), &len);
	ck_assert_ptr_nonnull(line);
	line[len - 1] = '\0';
	parse_ok(line, &req);
	ck_assert_uint_eq(req.u.run.cranks, 0);
	ck_assert_uint_eq(req.u.run.computrons, 1000);
	free(line);
	ctl_request_clear(&req);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(ctl_op_name(CTL_OP_STATUS), "status");
	ck_assert_str_eq(ctl_op_name(CTL_OP_COMMIT), "commit");
	ck_assert_str_eq(ctl_op_name(CTL_OP_SHUTDOWN), "shutdown");
	ck_assert_str_eq(ctl_op_name(CTL_OP_QUEUE), "queue");
	ck_assert_str_eq(ctl_op_name(CTL_OP_RUN), "run");
	ck_assert_str_eq(ctl_op_name(CTL_OP_PROMISE), "promise");
	ck_assert_str_eq(ctl_op_name(CTL_OP_INSTALL_BUNDLE), "installBundle");
	ck_assert_str_eq(ctl_code_name(CTL_E_BAD_JSON), "bad_json");
	ck_assert_str_eq(ctl_code_name(CTL_E_BAD_REQUEST), "bad_request");
	ck_assert_str_eq(ctl_code_name(CTL_E_UNKNOWN_OP), "unknown_op");
	ck_assert_str_eq(ctl_code_name(CTL_E_LINE_TOO_LONG), "line_too_long");
	ck_assert_str_eq(ctl_code_name(CTL_E_BAD_HEIGHT), "bad_height");
	ck_assert_str_eq(ctl_code_name(CTL_E_STORE), "store_error");
	ck_assert_str_eq(ctl_code_name(CTL_E_HALTED), "halted");
	ck_assert_str_eq(ctl_code_name(CTL_E_SHUTTING_DOWN), "shutting_down");
	ck_assert_str_eq(ctl_code_name(CTL_E_NOT_FOUND), "not_found");
	ck_assert_str_eq(ctl_code_name(CTL_E_BUSY), "busy");
	ck_assert_str_eq(ctl_code_name(CTL_E_INTERNAL), "internal");
	ck_assert_str_eq(ctl_code_name(CTL_E_BAD_BUNDLE), "bad_bundle");
	ck_assert_str_eq(ctl_code_name(CTL_E_DENIED), "denied");
	ck_assert_str_eq(ctl_code_name(CTL_E_TOO_MANY_CLIENTS),
	    "too_many_clients");
	ck_assert_str_eq(ctl_code_name(CTL_E_OVER_BUDGET), "over_budget");
	ck_assert_str_eq(ctl_code_name(CTL_E_IDLE_TIMEOUT), "idle_timeout");
}
END_TEST

static Suite *
control_msg_suite(void)
{
	Suite	*s = suite_create("control_msg");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_status);
	tcase_add_test(tc, test_parse_commit);
	tcase_add_test(tc, test_parse_shutdown);
	tcase_add_test(tc, test_parse_not_terminated);
	suite_add_tcase(s, tc);

	tc = tcase_create("queue");
	tcase_add_test(tc, test_parse_queue);
	tcase_add_test(tc, test_queue_args_owned);
	tcase_add_test(tc, test_queue_errors);
	tcase_add_test(tc, test_queue_args_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("run_promise");
	tcase_add_test(tc, test_parse_run);
	tcase_add_test(tc, test_run_errors);
	tcase_add_test(tc, test_parse_run_cleanup);
	tcase_add_test(tc, test_parse_result_and_release);
	tcase_add_test(tc, test_parse_poll);
	tcase_add_test(tc, test_poll_errors);
	tcase_add_test(tc, test_parse_mailbox);
	tcase_add_test(tc, test_parse_bridge);
	tcase_add_test(tc, test_parse_promise);
	tcase_add_test(tc, test_promise_errors);
	tcase_add_test(tc, test_parse_install_bundle);
	tcase_add_test(tc, test_install_bundle_errors);
	tcase_add_test(tc, test_parse_terminate_vat);
	tcase_add_test(tc, test_terminate_vat_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_bad_json);
	tcase_add_test(tc, test_not_object);
	tcase_add_test(tc, test_empty_line);
	tcase_add_test(tc, test_op_errors);
	tcase_add_test(tc, test_height_errors);
	tcase_add_test(tc, test_height_too_large);
	tcase_add_test(tc, test_unknown_field);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_id_echo);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, test_id_kinds_ok);
	tcase_add_test(tc, test_response_ok);
	tcase_add_test(tc, test_response_error);
	tcase_add_test(tc, test_parse_error_response);
	tcase_add_test(tc, test_request_build);
	tcase_add_test(tc, test_build_then_parse);
	tcase_add_test(tc, test_build_then_parse_new_ops);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(control_msg_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
