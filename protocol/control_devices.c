/*
 * control_devices.c — the fields of the device ops: poll's "now" (also
 * run's), the block time the producer gives the timer device, and
 * mailboxDeliver's peer, messages and ack, bridgeInbound's srcID and obj,
 * bridgeAnswer's call and result or error.  Apart from control_ops.c so
 * that the device ops stay in one place.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocol/control_msg.h"
#include "protocol/control_impl.h"

/*
 * A time: a non-negative JSON integer, or a string of 1 to 20 decimal
 * digits (a time past 2^63-1, which JSON integers here do not reach)
 * that is at most 2^64-1.  Times are SwingSet's bigints (Nat).
 */
int
ctl_field_time(json_t *v, const char *name, uint64_t *out,
    struct ctl_parse_error *err)
{
	const char	*s;
	char		*end;

	if (v == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': required, "
		    "expected a time (a non-negative integer)", name);
		return -1;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	s = json_string_value(v);
	if (s != NULL && *s != '\0' && strspn(s, "0123456789") == strlen(s) &&
	    strlen(s) <= 20) {
		errno = 0;
		*out = strtoull(s, &end, 10);
		if (errno == 0 && *end == '\0')
			return 0;
	}
	if (json_is_integer(v))
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a time "
		    "(a non-negative integer), got %" JSON_INTEGER_FORMAT, name,
		    json_integer_value(v));
	else
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a time "
		    "(a non-negative integer, or its decimal digits as a "
		    "string, at most 18446744073709551615), got %s", name,
		    ctl_type_name(v));
	return -1;
}

int
ctl_check_poll(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	return ctl_field_time(json_object_get(root, "now"), "now",
	    &req->u.poll.now, err);
}

/* A mailbox message number or ack: an integer from 0 to 2^53-1 (the
 * numbers SwingSet's hosts pass; liveslots reads them as numbers). */
static int
ctl_msgnum(json_t *v, const char *name, struct ctl_parse_error *err)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 9007199254740991LL)
		return 0;
	ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': %s, expected an "
	    "integer from 0 to 2^53-1", name, v == NULL ? "required" :
	    json_is_integer(v) ? "out of range" : ctl_type_name(v));
	return -1;
}

int
ctl_check_mailbox_deliver(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	json_t	*peer = json_object_get(root, "peer");
	json_t	*msgs = json_object_get(root, "messages"), *m;
	json_t	*ack = json_object_get(root, "ack");
	char	 name[48];
	size_t	 i;

	if (!json_is_string(peer) || json_string_length(peer) == 0) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'peer': %s, expected "
		    "a non-empty string", peer == NULL ? "required" :
		    ctl_type_name(peer));
		return -1;
	}
	if (!json_is_array(msgs)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'messages': %s, "
		    "expected an array of [msgnum, body]", msgs == NULL ?
		    "required" : ctl_type_name(msgs));
		return -1;
	}
	json_array_foreach(msgs, i, m) {
		(void)snprintf(name, sizeof(name), "messages[%zu][0]", i);
		if (!json_is_array(m) || json_array_size(m) != 2) {
			ctl_error(err, CTL_E_BAD_REQUEST, "field 'messages[%zu]'"
			    ": expected [msgnum, body]", i);
			return -1;
		}
		if (ctl_msgnum(json_array_get(m, 0), name, err) == -1)
			return -1;
		if (!json_is_string(json_array_get(m, 1))) {
			ctl_error(err, CTL_E_BAD_REQUEST, "field 'messages[%zu]"
			    "[1]': expected a string", i);
			return -1;
		}
	}
	if (ctl_msgnum(ack, "ack", err) == -1)
		return -1;
	if ((req->u.mailbox_deliver.peer = strdup(json_string_value(peer))) ==
	    NULL) {
		ctl_error(err, CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	req->u.mailbox_deliver.messages = json_incref(msgs);
	req->u.mailbox_deliver.ack = (uint64_t)json_integer_value(ack);
	return 0;
}

/* The path of the first object key starting with '#' in v (written into
 * path, at most len bytes), or false when there is none. */
static bool
hash_key(const json_t *v, char *path, size_t len)
{
	json_t		*e, *mv = (json_t *)(uintptr_t)v;
	const char	*key;
	size_t		 i, used = strlen(path);

	if (json_is_array(v))
		json_array_foreach(mv, i, e) {
			(void)snprintf(path + used, len - used, "[%zu]", i);
			if (hash_key(e, path, len))
				return true;
		}
	else if (json_is_object(v))
		json_object_foreach(mv, key, e) {
			(void)snprintf(path + used, len - used, ".%s", key);
			if (key[0] == '#' || hash_key(e, path, len))
				return true;
		}
	path[used] = '\0';
	return false;
}

/* A bridge value: any JSON, but no record key smallcaps reserves. */
static int
ctl_bridge_json(json_t *v, const char *name, struct ctl_parse_error *err)
{
	char path[128];

	(void)snprintf(path, sizeof(path), "%s", name);
	if (!hash_key(v, path, sizeof(path)))
		return 0;
	ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': a key starting with "
	    "'#' cannot cross the bridge (smallcaps reserves them)", path);
	return -1;
}

int
ctl_check_bridge_inbound(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	json_t	*src = json_object_get(root, "srcID");
	json_t	*obj = json_object_get(root, "obj");

	if (!json_is_string(src) || json_string_length(src) == 0) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'srcID': %s, expected "
		    "a non-empty string", src == NULL ? "required" :
		    ctl_type_name(src));
		return -1;
	}
	if (obj == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'obj': required, "
		    "expected any JSON value");
		return -1;
	}
	if (ctl_bridge_json(obj, "obj", err) == -1)
		return -1;
	if ((req->u.bridge_inbound.src_id = strdup(json_string_value(src))) ==
	    NULL) {
		ctl_error(err, CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	req->u.bridge_inbound.obj = json_incref(obj);
	return 0;
}

int
ctl_check_bridge_answer(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	json_t	*call = json_object_get(root, "call");
	json_t	*result = json_object_get(root, "result");
	json_t	*error = json_object_get(root, "error");

	if (!json_is_integer(call) || json_integer_value(call) < 1) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'call': %s, expected "
		    "a positive integer (the request's \"call\")", call ==
		    NULL ? "required" : json_is_integer(call) ? "out of range" :
		    ctl_type_name(call));
		return -1;
	}
	if (result != NULL && error != NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "fields 'result' and 'error': "
		    "give one of them, not both");
		return -1;
	}
	if (error != NULL && !json_is_string(error)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'error': %s, expected "
		    "a string", ctl_type_name(error));
		return -1;
	}
	if (result != NULL && ctl_bridge_json(result, "result", err) == -1)
		return -1;
	if (error != NULL && (req->u.bridge_answer.error =
	    strdup(json_string_value(error))) == NULL) {
		ctl_error(err, CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	req->u.bridge_answer.call = (uint64_t)json_integer_value(call);
	req->u.bridge_answer.result = json_incref(result);
	return 0;
}

void
ctl_free_devices_u(struct ctl_request *req)
{
	if (req->op == CTL_OP_MAILBOX_DELIVER) {
		free(req->u.mailbox_deliver.peer);
		json_decref(req->u.mailbox_deliver.messages);
	} else if (req->op == CTL_OP_BRIDGE_INBOUND) {
		free(req->u.bridge_inbound.src_id);
		json_decref(req->u.bridge_inbound.obj);
	} else if (req->op == CTL_OP_BRIDGE_ANSWER) {
		free(req->u.bridge_answer.error);
		json_decref(req->u.bridge_answer.result);
	}
}
