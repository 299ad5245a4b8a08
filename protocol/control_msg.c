/*
 * control_msg.c — the control protocol's messages: one JSON request line
 * in, a typed struct ctl_request out; response and request lines built as
 * compact JSON plus '\n'.  This file owns loading the line, the op table
 * and its dispatch, recovering the id, the error messages, and building
 * lines; what each op's fields must hold is control_ops.c's.  Sockets,
 * buffering and the meaning of each op belong to daemon/control.c,
 * daemon/ops.c and tools/ctl_client.c.
 *
 * Each op is one row of ctl_ops[]: its name, its fields besides "id" and
 * "op", and a validator that checks them and fills req->u.  Adding an op
 * is a row, a validator, and an enum ctl_op value plus a member of the
 * union in control_msg.h; an op whose member owns memory also gets a case
 * in ctl_request_free_u() (both in control_ops.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocol/control_msg.h"
#include "protocol/control_impl.h"

#define CTL_MAX_FIELDS	6	/* most fields of any op, besides id and op */

struct ctl_op_def {
	const char	*name;
	enum ctl_op	 op;
	const char	*fields[CTL_MAX_FIELDS + 1];	/* NULL-terminated */
	int		(*validate)(json_t *, struct ctl_request *,
			    struct ctl_parse_error *);	/* NULL: no fields */
};

static const struct ctl_op_def ctl_ops[] = {
	{ "status",	CTL_OP_STATUS,	 { NULL },		NULL },
	{ "commit",	CTL_OP_COMMIT,	 { "height", NULL },	ctl_check_commit },
	{ "shutdown",	CTL_OP_SHUTDOWN, { NULL },		NULL },
	{ "queue",	CTL_OP_QUEUE,
	    { "vat", "target", "method", "args", "result", NULL },
	    ctl_check_queue },
	{ "run",	CTL_OP_RUN,	 { "budget", "now", "cleanup", NULL },
	    ctl_check_run },
	{ "promise",	CTL_OP_PROMISE,	 { "kpid", "release", NULL },
	    ctl_check_promise },
	{ "installBundle", CTL_OP_INSTALL_BUNDLE,
	    { "bundle", "bundleID", NULL },	ctl_check_install_bundle },
	{ "poll",	CTL_OP_POLL,	 { "now", NULL },	ctl_check_poll },
	{ "mailboxDeliver", CTL_OP_MAILBOX_DELIVER,
	    { "peer", "messages", "ack", NULL },	ctl_check_mailbox_deliver },
	{ "mailboxOutbox", CTL_OP_MAILBOX_OUTBOX, { NULL },	NULL },
	{ "terminateVat", CTL_OP_TERMINATE_VAT,
	    { "vat", "vatID", "reason", NULL },	ctl_check_terminate_vat },
	{ "bridgeInbound", CTL_OP_BRIDGE_INBOUND,
	    { "srcID", "obj", NULL },		ctl_check_bridge_inbound },
	{ "bridgeRegister", CTL_OP_BRIDGE_REGISTER, { NULL },	NULL },
	{ "bridgeAnswer", CTL_OP_BRIDGE_ANSWER,
	    { "call", "result", "error", NULL },	ctl_check_bridge_answer },
	{ "reapAllVats", CTL_OP_REAP_ALL_VATS, { NULL },	NULL },
};
#define CTL_NOPS	(sizeof(ctl_ops) / sizeof(ctl_ops[0]))

static const char *const ctl_code_names[] = {
	[CTL_E_BAD_JSON] = "bad_json",
	[CTL_E_BAD_REQUEST] = "bad_request",
	[CTL_E_UNKNOWN_OP] = "unknown_op",
	[CTL_E_LINE_TOO_LONG] = "line_too_long",
	[CTL_E_BAD_HEIGHT] = "bad_height",
	[CTL_E_STORE] = "store_error",
	[CTL_E_HALTED] = "halted",
	[CTL_E_SHUTTING_DOWN] = "shutting_down",
	[CTL_E_NOT_FOUND] = "not_found",
	[CTL_E_BUSY] = "busy",
	[CTL_E_INTERNAL] = "internal",
	[CTL_E_BAD_BUNDLE] = "bad_bundle",
	[CTL_E_DENIED] = "denied",
	[CTL_E_TOO_MANY_CLIENTS] = "too_many_clients",
	[CTL_E_OVER_BUDGET] = "over_budget",
	[CTL_E_IDLE_TIMEOUT] = "idle_timeout",
	[CTL_E_BAD_TIME] = "bad_time",
};

/* json_int_t bounds, as doubles: 2^63 is exact. */
#define CTL_INT_LIMIT	9223372036854775808.0

static size_t	ctl_utf8_seqlen(const unsigned char *);
static void	ctl_utf8_fix(char *);
static int	ctl_is_blank(const char *, size_t);
static json_t	*ctl_load(const char *, size_t, int *,
		    struct ctl_parse_error *);
static void	ctl_duplicate_error(const char *, size_t, const json_error_t *,
		    struct ctl_parse_error *);
static int	ctl_is_huge(json_t *);
static json_t	*ctl_get_id(json_t *, int);
static const struct ctl_op_def *ctl_check_op(json_t *,
		    struct ctl_parse_error *);
static int	ctl_check_fields(json_t *, const struct ctl_op_def *,
		    struct ctl_parse_error *);
static json_t	*ctl_huge_leaf(json_t *, char *, size_t);
static void	ctl_overflow_error(json_t *, struct ctl_parse_error *);
static char	*ctl_dump_line(json_t *, size_t *);
static json_t	*ctl_message_string(const char *);

/* ---- errors ------------------------------------------------------------ */

void
ctl_error(struct ctl_parse_error *err, enum ctl_code code, const char *fmt,
    ...)
{
	va_list	 ap;

	err->code = code;
	va_start(ap, fmt);
	if (vsnprintf(err->message, sizeof(err->message), fmt, ap) < 0)
		strcpy(err->message, "bad request");
	va_end(ap);
	/* Field names and jansson's "near '…'" come from the peer, and the
	 * message may have been cut mid-character: keep it valid UTF-8 so
	 * that it can go back in a JSON string. */
	ctl_utf8_fix(err->message);
}

/* Length of the valid UTF-8 sequence at p, or 0 if there is none. */
static size_t
ctl_utf8_seqlen(const unsigned char *p)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		if (p[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;	/* also stops at the NUL */
	return n;
}

/* Replace each byte that does not start a valid sequence with '?'. */
static void
ctl_utf8_fix(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 n;

	while (*p != '\0') {
		if ((n = ctl_utf8_seqlen(p)) == 0) {
			*p = '?';
			n = 1;
		}
		p += n;
	}
}

const char *
ctl_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

/* ---- parsing ----------------------------------------------------------- */

static int
ctl_is_blank(const char *line, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
		    line[i] != '\n')
			return 0;
	return 1;
}

/*
 * Load the line as one JSON object.  An integer beyond json_int_t makes
 * jansson fail without saying where, so the line is loaded again with
 * integers as reals and *overflow set: the caller still gets the id and
 * the op, and ctl_overflow_error() names the field.
 */
static json_t *
ctl_load(const char *line, size_t len, int *overflow,
    struct ctl_parse_error *err)
{
	json_error_t	 jerr;
	json_t		*root;
	const size_t	 flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY;

	*overflow = 0;
	if (ctl_is_blank(line, len)) {
		ctl_error(err, CTL_E_BAD_JSON, "empty request line, expected "
		    "a JSON object");
		return NULL;
	}
	root = json_loadb(line, len, flags, &jerr);
	if (root == NULL && json_error_code(&jerr) ==
	    json_error_duplicate_key) {
		ctl_duplicate_error(line, len, &jerr, err);
		return NULL;
	}
	if (root == NULL && json_error_code(&jerr) ==
	    json_error_numeric_overflow) {
		root = json_loadb(line, len, flags | JSON_DECODE_INT_AS_REAL,
		    NULL);
		*overflow = root != NULL;
	}
	if (root == NULL) {
		ctl_error(err, CTL_E_BAD_JSON, "invalid JSON at byte %d: %s",
		    jerr.position, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		ctl_error(err, CTL_E_BAD_JSON, "expected a JSON object, got %s",
		    ctl_type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

/*
 * jansson says `duplicate object key near '"op"'`: take the key from
 * there, and the id from a second load that keeps the last duplicate
 * (unless "id" is the duplicate: which one would we echo?).
 */
static void
ctl_duplicate_error(const char *line, size_t len, const json_error_t *jerr,
    struct ctl_parse_error *err)
{
	const char	*key = strstr(jerr->text, "near '\""), *end;
	json_t		*root, *id;
	int		 klen;

	if (key == NULL || (end = strrchr(key, '\'')) == NULL ||
	    end < key + 7 || end[-1] != '"') {
		ctl_error(err, CTL_E_BAD_REQUEST, "duplicate field: %s",
		    jerr->text);
		return;
	}
	key += 7;
	klen = (int)(end - 1 - key);
	ctl_error(err, CTL_E_BAD_REQUEST, "duplicate field '%.*s'", klen, key);
	if (klen == 2 && memcmp(key, "id", 2) == 0)
		return;
	root = json_loadb(line, len, JSON_DECODE_ANY, NULL);
	if (root != NULL && json_is_object(root) &&
	    (id = json_object_get(root, "id")) != NULL) {
		json_decref(err->id);
		err->id = json_incref(id);
	}
	json_decref(root);
}

/* Whether v holds a number outside json_int_t (after an overflow load). */
static int
ctl_is_huge(json_t *v)
{
	const char	*key;
	json_t		*e;
	size_t		 i;
	double		 r;

	switch (json_typeof(v)) {
	case JSON_REAL:
		r = json_real_value(v);
		return r >= CTL_INT_LIMIT || r < -CTL_INT_LIMIT;
	case JSON_ARRAY:
		json_array_foreach(v, i, e)
			if (ctl_is_huge(e))
				return 1;
		return 0;
	case JSON_OBJECT:
		json_object_foreach(v, key, e)
			if (ctl_is_huge(e))
				return 1;
		return 0;
	default:
		return 0;
	}
}

/*
 * A new reference to the request's id, json_null() when absent.  After an
 * overflow load every integer is a real: turn an integral id back into an
 * integer so that it echoes as sent (only at the top level), and give up
 * on an id that is itself out of range.
 */
static json_t *
ctl_get_id(json_t *root, int overflow)
{
	json_t	*id = json_object_get(root, "id");
	double	 r;

	if (id == NULL)
		return json_null();
	if (!overflow)
		return json_incref(id);
	if (ctl_is_huge(id))
		return json_null();
	if (json_is_real(id)) {
		r = json_real_value(id);	/* in range: not huge */
		if ((double)(json_int_t)r == r)
			return json_integer((json_int_t)r);
	}
	return json_incref(id);
}

static const struct ctl_op_def *
ctl_check_op(json_t *root, struct ctl_parse_error *err)
{
	json_t		*op = json_object_get(root, "op");
	const char	*name;
	size_t		 i;

	if (op == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'op': required");
		return NULL;
	}
	if (!json_is_string(op)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'op': expected a "
		    "string, got %s", ctl_type_name(op));
		return NULL;
	}
	name = json_string_value(op);
	for (i = 0; i < CTL_NOPS; i++)
		if (strcmp(ctl_ops[i].name, name) == 0)
			return &ctl_ops[i];
	ctl_error(err, CTL_E_UNKNOWN_OP, "unknown op '%s'", name);
	return NULL;
}

/* Reject fields the op does not define, so that misspellings show. */
static int
ctl_check_fields(json_t *root, const struct ctl_op_def *def,
    struct ctl_parse_error *err)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	json_object_foreach(root, key, v) {
		if (strcmp(key, "id") == 0 || strcmp(key, "op") == 0)
			continue;
		for (i = 0; def->fields[i] != NULL; i++)
			if (strcmp(def->fields[i], key) == 0)
				break;
		if (def->fields[i] == NULL) {
			ctl_error(err, CTL_E_BAD_REQUEST, "unknown field '%s' "
			    "for op '%s'", key, def->name);
			return -1;
		}
	}
	return 0;
}

/*
 * The first out-of-range number inside v, which ctl_is_huge() says holds
 * one; its path below v is appended to path ("budget" + ".cranks").
 */
static json_t *
ctl_huge_leaf(json_t *v, char *path, size_t size)
{
	const char	*key;
	json_t		*e;
	size_t		 i, n = strlen(path);

	if (json_is_object(v)) {
		json_object_foreach(v, key, e) {
			if (!ctl_is_huge(e))
				continue;
			(void)snprintf(path + n, size - n, ".%s", key);
			return ctl_huge_leaf(e, path, size);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!ctl_is_huge(e))
				continue;
			(void)snprintf(path + n, size - n, "[%zu]", i);
			return ctl_huge_leaf(e, path, size);
		}
	}
	return v;
}

static void
ctl_overflow_error(json_t *root, struct ctl_parse_error *err)
{
	const char	*key;
	json_t		*v;
	char		 path[128];

	json_object_foreach(root, key, v) {
		if (!ctl_is_huge(v))
			continue;
		(void)snprintf(path, sizeof(path), "%s", key);
		v = ctl_huge_leaf(v, path, sizeof(path));
		if (json_is_real(v) && json_real_value(v) < 0)
			ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': integer "
			    "too small, the limit is %" JSON_INTEGER_FORMAT,
			    path, (json_int_t)INT64_MIN);
		else
			ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': integer "
			    "too large, the limit is %" JSON_INTEGER_FORMAT,
			    path, (json_int_t)INT64_MAX);
		return;
	}
	ctl_error(err, CTL_E_BAD_JSON, "invalid JSON: number out of range");
}

int
ctl_request_parse(const char *line, size_t len, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	const struct ctl_op_def *def;
	json_t	*root;
	int	 overflow, rc = -1;

	memset(req, 0, sizeof(*req));
	req->id = json_null();
	memset(err, 0, sizeof(*err));
	err->code = CTL_E_INTERNAL;
	err->id = json_null();
	if ((root = ctl_load(line, len, &overflow, err)) == NULL)
		return -1;
	json_decref(err->id);
	if ((err->id = ctl_get_id(root, overflow)) == NULL) {
		ctl_error(err, CTL_E_INTERNAL, "out of memory");
		err->id = json_null();
		goto out;
	}
	if ((def = ctl_check_op(root, err)) == NULL ||
	    ctl_check_fields(root, def, err) == -1)
		goto out;
	if (overflow) {
		ctl_overflow_error(root, err);
		goto out;
	}
	req->op = def->op;
	if (def->validate != NULL && def->validate(root, req, err) == -1) {
		ctl_request_free_u(req);
		goto out;
	}
	req->id = err->id;
	err->id = NULL;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void
ctl_request_clear(struct ctl_request *req)
{
	ctl_request_free_u(req);
	json_decref(req->id);
	req->id = NULL;
}

void
ctl_parse_error_clear(struct ctl_parse_error *err)
{
	json_decref(err->id);
	err->id = NULL;
}

const char *
ctl_op_name(enum ctl_op op)
{
	size_t	 i;

	for (i = 0; i < CTL_NOPS; i++)
		if (ctl_ops[i].op == op)
			return ctl_ops[i].name;
	return "unknown";
}

const char *
ctl_code_name(enum ctl_code code)
{
	if ((size_t)code >= sizeof(ctl_code_names) / sizeof(ctl_code_names[0])
	    || ctl_code_names[code] == NULL)
		return "internal";
	return ctl_code_names[code];
}

/* ---- building lines ---------------------------------------------------- */

/* o as compact JSON plus '\n', NUL-terminated, in a malloc'd buffer. */
static char *
ctl_dump_line(json_t *o, size_t *len)
{
	const size_t	 flags = JSON_COMPACT;
	size_t		 n;
	char		*buf;

	if (o == NULL || (n = json_dumpb(o, NULL, 0, flags)) == 0)
		return NULL;
	if (n > SIZE_MAX - 2 || (buf = malloc(n + 2)) == NULL)
		return NULL;
	if (json_dumpb(o, buf, n, flags) != n) {
		free(buf);
		return NULL;
	}
	buf[n] = '\n';
	buf[n + 1] = '\0';
	*len = n + 1;
	return buf;
}

char *
ctl_response_ok(json_t *id, json_t *result, size_t *len)
{
	json_t	*o = json_object();
	char	*line;
	int	 rc;

	/* set_new() steals its value even when it fails. */
	rc = json_object_set(o, "id", id != NULL ? id : json_null());
	rc |= json_object_set_new(o, "ok", json_true());
	rc |= json_object_set_new(o, "result", result != NULL ? result :
	    json_object());
	line = rc == 0 ? ctl_dump_line(o, len) : NULL;
	json_decref(o);
	return line;
}

/* message as a JSON string, invalid UTF-8 replaced by '?'. */
static json_t *
ctl_message_string(const char *message)
{
	json_t	*s;
	char	*copy;

	if ((s = json_string(message)) != NULL)
		return s;
	if ((copy = strdup(message)) == NULL)
		return NULL;
	ctl_utf8_fix(copy);
	s = json_string(copy);
	free(copy);
	return s;
}

char *
ctl_response_error(json_t *id, enum ctl_code code, const char *message,
    size_t *len)
{
	json_t	*o = json_object(), *e = json_object();
	char	*line;
	int	 rc;

	if (message == NULL)
		message = ctl_code_name(code);
	rc = json_object_set_new(e, "code", json_string(ctl_code_name(code)));
	rc |= json_object_set_new(e, "message", ctl_message_string(message));
	rc |= json_object_set(o, "id", id != NULL ? id : json_null());
	rc |= json_object_set_new(o, "ok", json_false());
	rc |= json_object_set_new(o, "error", e);
	line = rc == 0 ? ctl_dump_line(o, len) : NULL;
	json_decref(o);
	return line;
}

char *
ctl_request_build(json_t *id, const char *op, json_t *fields, size_t *len)
{
	json_t		*o = json_object(), *v;
	const char	*key;
	char		*line = NULL;
	int		 rc = 0;

	if (id != NULL)
		rc |= json_object_set(o, "id", id);
	rc |= json_object_set_new(o, "op", json_string(op));
	if (fields != NULL && !json_is_object(fields))
		rc = -1;
	if (rc == 0 && fields != NULL) {
		json_object_foreach(fields, key, v) {
			if (strcmp(key, "id") == 0 || strcmp(key, "op") == 0) {
				errno = EINVAL;	/* would shadow ours */
				rc = -1;
				break;
			}
			rc |= json_object_set(o, key, v);
		}
	}
	if (rc == 0)
		line = ctl_dump_line(o, len);
	json_decref(fields);
	json_decref(o);
	return line;
}
