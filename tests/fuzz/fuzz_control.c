/*
 * fuzz_control.c — libFuzzer harness for the control request parser,
 * protocol/control_msg.c and protocol/control_ops.c.
 *
 * Feeds: the input as one request line (without its '\n', not
 * NUL-terminated), to ctl_request_parse(), as daemon/control.c does.
 *
 * Checks, beyond not crashing:
 *   - parsing is deterministic: a second parse gives the same outcome,
 *     code and message;
 *   - on success, the fields are within the bounds control_msg.h states:
 *     a known op; commit height and run budgets fit in int64; queue has
 *     exactly one of vat (non-empty) and target (ko/kp + digits), a
 *     non-empty method, args capdata whose body is "#[...]" (a JSON array)
 *     and whose slots are ko/kp/kd krefs; a promise kpid is kp + digits;
 *     installBundle's bundle is an object and its bundleID non-empty;
 *   - the request rebuilt from the struct with ctl_request_build()
 *     parses back to an equal struct (the parser loses nothing it keeps);
 *   - ctl_response_ok() echoes the id: the line parses as JSON and its
 *     "id" equals the request's;
 *   - on failure, the code is one a parse can give (bad_json,
 *     bad_request, unknown_op, internal), the message is non-empty,
 *     NUL-terminated inside its buffer and valid UTF-8, and
 *     ctl_response_error() carries it unchanged in a parseable line.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocol/control_msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
cf_abort(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "fuzz_control: %s (input %.*s)\n", what,
	    size > 300 ? 300 : (int)size, (const char *)data);
	abort();
}

/* 'k', one of kinds, one or more digits: the form of a kref. */
static int
cf_kref(const char *s, const char *kinds)
{
	size_t	 n;

	if (s == NULL || s[0] != 'k' || s[1] == '\0' ||
	    strchr(kinds, s[1]) == NULL)
		return 0;
	n = strlen(s + 2);
	return n > 0 && strspn(s + 2, "0123456789") == n;
}

static int
cf_capdata(const json_t *args)
{
	const char	*body, *key;
	json_t		*v, *slots, *b;
	size_t		 i, n;
	int		 ok;

	if (!json_is_object(args))
		return 0;
	json_object_foreach((json_t *)(uintptr_t)args, key, v)
		if (strcmp(key, "body") != 0 && strcmp(key, "slots") != 0)
			return 0;
	body = json_string_value(json_object_get(args, "body"));
	slots = json_object_get(args, "slots");
	if (body == NULL || !json_is_array(slots))
		return 0;
	n = json_string_length(json_object_get(args, "body"));
	if (n < 2 || body[0] != '#' || body[1] != '[')
		return 0;
	b = json_loadb(body + 1, n - 1, JSON_DECODE_INT_AS_REAL, NULL);
	ok = json_is_array(b);
	json_decref(b);
	json_array_foreach(slots, i, v)
		if (!cf_kref(json_string_value(v), "opd"))
			ok = 0;
	return ok;
}

static int
cf_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The request's fields within the bounds control_msg.h promises. */
static const char *
cf_bounds(const struct ctl_request *r)
{
	if (r->id == NULL)
		return "no id";
	if (strcmp(ctl_op_name(r->op), "unknown") == 0)
		return "unknown op accepted";
	switch (r->op) {
	case CTL_OP_COMMIT:
		if (r->u.commit.height > INT64_MAX)
			return "height beyond int64";
		break;
	case CTL_OP_QUEUE:
		if ((r->u.queue.vat == NULL) == (r->u.queue.target == NULL))
			return "queue: not exactly one of vat and target";
		if (r->u.queue.vat != NULL && r->u.queue.vat[0] == '\0')
			return "queue: empty vat";
		if (r->u.queue.target != NULL &&
		    !cf_kref(r->u.queue.target, "op"))
			return "queue: target is not ko/kp + digits";
		if (r->u.queue.method == NULL || r->u.queue.method[0] == '\0')
			return "queue: empty method";
		if (!cf_capdata(r->u.queue.args))
			return "queue: args are not capdata of an array";
		break;
	case CTL_OP_RUN:
		if (r->u.run.cranks > INT64_MAX ||
		    r->u.run.computrons > INT64_MAX)
			return "run: budget beyond int64";
		for (int p = 0; r->u.run.cleanup_mode == CTL_CLEANUP_BUDGET &&
		    p < CTL_CLEANUP_PHASES; p++)
			if (r->u.run.cleanup[p] == 0 ||
			    r->u.run.cleanup[p] > INT64_MAX)
				return "run: a cleanup budget not in 1..2^63-1";
		break;
	case CTL_OP_PROMISE:
		if (!cf_kref(r->u.promise.kpid, "p"))
			return "promise: kpid is not kp + digits";
		break;
	case CTL_OP_INSTALL_BUNDLE:
		if (!json_is_object(r->u.install_bundle.bundle))
			return "installBundle: bundle is not an object";
		if (r->u.install_bundle.bundle_id != NULL &&
		    r->u.install_bundle.bundle_id[0] == '\0')
			return "installBundle: empty bundleID";
		break;
	case CTL_OP_TERMINATE_VAT:
		if ((r->u.terminate.vat == NULL) ==
		    (r->u.terminate.vat_id == NULL))
			return "terminateVat: not exactly one of vat and vatID";
		if (r->u.terminate.vat != NULL && r->u.terminate.vat[0] == '\0')
			return "terminateVat: empty vat";
		if (r->u.terminate.vat_id != NULL &&
		    r->u.terminate.vat_id[0] != 'v')
			return "terminateVat: vatID is not v + digits";
		if (json_array_size(json_object_get(r->u.terminate.reason,
		    "slots")) != 0 || !json_is_string(json_object_get(
		    r->u.terminate.reason, "body")))
			return "terminateVat: reason is not capdata without slots";
		break;
	case CTL_OP_MAILBOX_DELIVER:
		if (r->u.mailbox_deliver.peer == NULL ||
		    r->u.mailbox_deliver.peer[0] == '\0' ||
		    !json_is_array(r->u.mailbox_deliver.messages))
			return "mailboxDeliver: no peer or messages";
		break;
	case CTL_OP_BRIDGE_INBOUND:
		if (r->u.bridge_inbound.src_id == NULL ||
		    r->u.bridge_inbound.src_id[0] == '\0' ||
		    r->u.bridge_inbound.obj == NULL)
			return "bridgeInbound: no srcID or obj";
		break;
	case CTL_OP_BRIDGE_ANSWER:
		if (r->u.bridge_answer.call == 0 ||
		    r->u.bridge_answer.call > INT64_MAX)
			return "bridgeAnswer: call not a positive int64";
		if (r->u.bridge_answer.result != NULL &&
		    r->u.bridge_answer.error != NULL)
			return "bridgeAnswer: both result and error";
		break;
	case CTL_OP_BRIDGE_REGISTER:
	case CTL_OP_REAP_ALL_VATS:
	case CTL_OP_POLL:
	case CTL_OP_MAILBOX_OUTBOX:
	case CTL_OP_STATUS:
	case CTL_OP_SHUTDOWN:
		break;
	}
	return NULL;
}

/* A time as a request gives it: an integer, or digits past int64. */
static json_t *
cf_time(uint64_t t)
{
	char b[32];

	if (t <= INT64_MAX)
		return json_integer((json_int_t)t);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)t);
	return json_string(b);
}

/* The op's fields as ctl_request_build() takes them (new reference). */
/* run's cleanup as a field again (every phase given explicitly). */
static int
cf_cleanup(const struct ctl_request *r, json_t *f)
{
	json_t	*c;
	int	 rc = 0;

	if (r->u.run.cleanup_mode == CTL_CLEANUP_ALL)
		return 0;
	if (r->u.run.cleanup_mode == CTL_CLEANUP_NONE)
		return json_object_set_new(f, "cleanup", json_false());
	if ((c = json_pack("{s:I}", "default",
	    (json_int_t)r->u.run.cleanup[0])) == NULL)
		return -1;
	for (int p = 0; p < CTL_CLEANUP_PHASES; p++)
		rc |= json_object_set_new(c, ctl_cleanup_phases[p],
		    json_integer((json_int_t)r->u.run.cleanup[p]));
	return rc | json_object_set_new(f, "cleanup", c);
}

static json_t *
cf_fields(const struct ctl_request *r)
{
	json_t	*f = json_object(), *b;
	int	 rc = 0;

	if (f == NULL)
		return NULL;
	switch (r->op) {
	case CTL_OP_COMMIT:
		rc |= json_object_set_new(f, "height",
		    json_integer((json_int_t)r->u.commit.height));
		break;
	case CTL_OP_QUEUE:
		if (r->u.queue.vat != NULL)
			rc |= json_object_set_new(f, "vat",
			    json_string(r->u.queue.vat));
		else
			rc |= json_object_set_new(f, "target",
			    json_string(r->u.queue.target));
		rc |= json_object_set_new(f, "method",
		    json_string(r->u.queue.method));
		rc |= json_object_set(f, "args", r->u.queue.args);
		if (r->u.queue.no_result)
			rc |= json_object_set_new(f, "result", json_false());
		break;
	case CTL_OP_RUN:
		if (r->u.run.has_now)
			rc |= json_object_set_new(f, "now", cf_time(
			    r->u.run.now));
		rc |= cf_cleanup(r, f);
		if (r->u.run.cranks == 0 && r->u.run.computrons == 0)
			break;
		if ((b = json_object()) == NULL)
			rc = -1;
		if (b != NULL && r->u.run.cranks != 0)
			rc |= json_object_set_new(b, "cranks",
			    json_integer((json_int_t)r->u.run.cranks));
		if (b != NULL && r->u.run.computrons != 0)
			rc |= json_object_set_new(b, "computrons",
			    json_integer((json_int_t)r->u.run.computrons));
		rc |= json_object_set_new(f, "budget", b);
		break;
	case CTL_OP_PROMISE:
		rc |= json_object_set_new(f, "kpid",
		    json_string(r->u.promise.kpid));
		if (r->u.promise.release)
			rc |= json_object_set_new(f, "release", json_true());
		break;
	case CTL_OP_INSTALL_BUNDLE:
		rc |= json_object_set(f, "bundle", r->u.install_bundle.bundle);
		if (r->u.install_bundle.bundle_id != NULL)
			rc |= json_object_set_new(f, "bundleID",
			    json_string(r->u.install_bundle.bundle_id));
		break;
	case CTL_OP_POLL:
		rc |= json_object_set_new(f, "now", cf_time(r->u.poll.now));
		break;
	case CTL_OP_MAILBOX_DELIVER:
		rc |= json_object_set_new(f, "peer",
		    json_string(r->u.mailbox_deliver.peer));
		rc |= json_object_set(f, "messages",
		    r->u.mailbox_deliver.messages);
		rc |= json_object_set_new(f, "ack",
		    json_integer((json_int_t)r->u.mailbox_deliver.ack));
		break;
	case CTL_OP_MAILBOX_OUTBOX:
	case CTL_OP_BRIDGE_REGISTER:
	case CTL_OP_REAP_ALL_VATS:
		break;
	case CTL_OP_BRIDGE_INBOUND:
		rc |= json_object_set_new(f, "srcID",
		    json_string(r->u.bridge_inbound.src_id));
		rc |= json_object_set(f, "obj", r->u.bridge_inbound.obj);
		break;
	case CTL_OP_BRIDGE_ANSWER:
		rc |= json_object_set_new(f, "call",
		    json_integer((json_int_t)r->u.bridge_answer.call));
		if (r->u.bridge_answer.result != NULL)
			rc |= json_object_set(f, "result",
			    r->u.bridge_answer.result);
		if (r->u.bridge_answer.error != NULL)
			rc |= json_object_set_new(f, "error",
			    json_string(r->u.bridge_answer.error));
		break;
	case CTL_OP_TERMINATE_VAT:
		if (r->u.terminate.vat != NULL)
			rc |= json_object_set_new(f, "vat",
			    json_string(r->u.terminate.vat));
		else
			rc |= json_object_set_new(f, "vatID",
			    json_string(r->u.terminate.vat_id));
		rc |= json_object_set(f, "reason", r->u.terminate.reason);
		break;
	case CTL_OP_STATUS:
	case CTL_OP_SHUTDOWN:
		break;
	}
	if (rc != 0) {
		json_decref(f);
		return NULL;
	}
	return f;
}

static int
cf_same(const struct ctl_request *a, const struct ctl_request *b)
{
	if (a->op != b->op || !json_equal(a->id, b->id))
		return 0;
	switch (a->op) {
	case CTL_OP_COMMIT:
		return a->u.commit.height == b->u.commit.height;
	case CTL_OP_QUEUE:
		return cf_streq(a->u.queue.vat, b->u.queue.vat) &&
		    cf_streq(a->u.queue.target, b->u.queue.target) &&
		    cf_streq(a->u.queue.method, b->u.queue.method) &&
		    json_equal(a->u.queue.args, b->u.queue.args) &&
		    a->u.queue.no_result == b->u.queue.no_result;
	case CTL_OP_RUN:
		return a->u.run.cranks == b->u.run.cranks &&
		    a->u.run.computrons == b->u.run.computrons &&
		    a->u.run.has_now == b->u.run.has_now &&
		    (!a->u.run.has_now || a->u.run.now == b->u.run.now) &&
		    a->u.run.cleanup_mode == b->u.run.cleanup_mode &&
		    (a->u.run.cleanup_mode != CTL_CLEANUP_BUDGET ||
		    memcmp(a->u.run.cleanup, b->u.run.cleanup,
		    sizeof(a->u.run.cleanup)) == 0);
	case CTL_OP_POLL:
		return a->u.poll.now == b->u.poll.now;
	case CTL_OP_MAILBOX_DELIVER:
		return cf_streq(a->u.mailbox_deliver.peer,
		    b->u.mailbox_deliver.peer) &&
		    json_equal(a->u.mailbox_deliver.messages,
		    b->u.mailbox_deliver.messages) &&
		    a->u.mailbox_deliver.ack == b->u.mailbox_deliver.ack;
	case CTL_OP_MAILBOX_OUTBOX:
	case CTL_OP_BRIDGE_REGISTER:
	case CTL_OP_REAP_ALL_VATS:
		return 1;
	case CTL_OP_BRIDGE_INBOUND:
		return cf_streq(a->u.bridge_inbound.src_id,
		    b->u.bridge_inbound.src_id) &&
		    json_equal(a->u.bridge_inbound.obj, b->u.bridge_inbound.obj);
	case CTL_OP_BRIDGE_ANSWER:
		return a->u.bridge_answer.call == b->u.bridge_answer.call &&
		    cf_streq(a->u.bridge_answer.error,
		    b->u.bridge_answer.error) &&
		    (a->u.bridge_answer.result == NULL) ==
		    (b->u.bridge_answer.result == NULL) &&
		    (a->u.bridge_answer.result == NULL ||
		    json_equal(a->u.bridge_answer.result,
		    b->u.bridge_answer.result));
	case CTL_OP_TERMINATE_VAT:
		return cf_streq(a->u.terminate.vat, b->u.terminate.vat) &&
		    cf_streq(a->u.terminate.vat_id, b->u.terminate.vat_id) &&
		    json_equal(a->u.terminate.reason, b->u.terminate.reason);
	case CTL_OP_PROMISE:
		return cf_streq(a->u.promise.kpid, b->u.promise.kpid) &&
		    a->u.promise.release == b->u.promise.release;
	case CTL_OP_INSTALL_BUNDLE:
		return json_equal(a->u.install_bundle.bundle,
		    b->u.install_bundle.bundle) &&
		    cf_streq(a->u.install_bundle.bundle_id,
		    b->u.install_bundle.bundle_id);
	case CTL_OP_STATUS:
	case CTL_OP_SHUTDOWN:
		return 1;
	}
	return 0;
}

/* A response line: one JSON object, then '\n', nothing else. */
static json_t *
cf_load_line(const char *line, size_t len)
{
	if (line == NULL || len == 0 || line[len - 1] != '\n' ||
	    strlen(line) != len)
		return NULL;
	return json_loadb(line, len - 1, 0, NULL);
}

static void
cf_success(struct ctl_request *req, const uint8_t *data, size_t size)
{
	struct ctl_request	 again;
	struct ctl_parse_error	 err;
	json_t			*fields, *resp;
	const char		*why;
	char			*line;
	size_t			 len;

	if ((why = cf_bounds(req)) != NULL)
		cf_abort(why, data, size);
	if ((fields = cf_fields(req)) == NULL)
		return;		/* out of memory */
	line = ctl_request_build(req->id, ctl_op_name(req->op), fields, &len);
	if (line == NULL)
		cf_abort("ctl_request_build failed on a parsed request", data,
		    size);
	if (len == 0 || line[len - 1] != '\n')
		cf_abort("built request does not end with a newline", data,
		    size);
	if (ctl_request_parse(line, len - 1, &again, &err) == -1) {
		fprintf(stderr, "fuzz_control: rebuilt '%s' refused: %s\n",
		    line, err.message);
		cf_abort("rebuilt request refused", data, size);
	}
	if (!cf_same(req, &again))
		cf_abort("rebuilt request parses to another request", data,
		    size);
	ctl_request_clear(&again);
	free(line);

	line = ctl_response_ok(req->id, NULL, &len);
	if (line == NULL)
		cf_abort("ctl_response_ok failed", data, size);
	resp = cf_load_line(line, len);
	if (resp == NULL || !json_equal(json_object_get(resp, "id"), req->id))
		cf_abort("ok response does not echo the id", data, size);
	json_decref(resp);
	free(line);
}

static void
cf_failure(struct ctl_parse_error *err, const uint8_t *data, size_t size)
{
	json_t	*resp, *s;
	char	*line;
	size_t	 len;

	switch (err->code) {
	case CTL_E_BAD_JSON:
	case CTL_E_BAD_REQUEST:
	case CTL_E_UNKNOWN_OP:
	case CTL_E_INTERNAL:
		break;
	default:
		cf_abort("a parse error with a code only ops give", data, size);
	}
	if (memchr(err->message, '\0', sizeof(err->message)) == NULL)
		cf_abort("message not NUL-terminated", data, size);
	if (err->message[0] == '\0')
		cf_abort("empty message", data, size);
	if (err->id == NULL)
		cf_abort("no id in the error", data, size);
	if ((s = json_string(err->message)) == NULL)
		cf_abort("message is not valid UTF-8", data, size);
	json_decref(s);
	line = ctl_response_error(err->id, err->code, err->message, &len);
	if (line == NULL)
		cf_abort("ctl_response_error failed", data, size);
	resp = cf_load_line(line, len);
	s = json_object_get(json_object_get(resp, "error"), "message");
	if (resp == NULL || !json_is_string(s) ||
	    strcmp(json_string_value(s), err->message) != 0 ||
	    strcmp(json_string_value(json_object_get(json_object_get(resp,
	    "error"), "code")), ctl_code_name(err->code)) != 0 ||
	    !json_equal(json_object_get(resp, "id"), err->id))
		cf_abort("error response does not carry code, message, id",
		    data, size);
	json_decref(resp);
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request	 req, req2;
	struct ctl_parse_error	 err, err2;
	const char		*line = (const char *)data;
	int			 rc, rc2;

	rc = ctl_request_parse(line, size, &req, &err);
	rc2 = ctl_request_parse(line, size, &req2, &err2);
	if (rc != rc2)
		cf_abort("two parses disagree", data, size);
	if (rc == 0) {
		if (!cf_same(&req, &req2))
			cf_abort("two parses give different requests", data,
			    size);
		cf_success(&req, data, size);
		ctl_request_clear(&req);
		ctl_request_clear(&req2);
	} else {
		if (err.code != err2.code ||
		    strcmp(err.message, err2.message) != 0 ||
		    !json_equal(err.id, err2.id))
			cf_abort("two parses give different errors", data,
			    size);
		cf_failure(&err, data, size);
		ctl_parse_error_clear(&err);
		ctl_parse_error_clear(&err2);
	}
	return 0;
}
