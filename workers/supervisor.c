/*
 * supervisor.c — encoding requests for, and parsing answers and upcalls
 * from, the worker-side supervisor (worker-protocol.md §9).  It checks
 * shapes strictly: anything that is not one of the documented forms is
 * reported, never guessed at.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/supervisor.h"

static const char *
nz(const char *s)
{
	return s != NULL ? s : "?";
}

/*
 * Whether v is the string tag exactly.  The worker's JSON may hold NULs
 * in strings (load_array), so a C-string compare would take
 * "syscall\u0000x" for "syscall".
 */
static bool
tag_is(const json_t *v, const char *tag)
{
	return json_is_string(v) && json_string_length(v) == strlen(tag) &&
	    strcmp(json_string_value(v), tag) == 0;
}

char *
sup_encode(const json_t *v, size_t *len)
{
	/* ["ok",null]: most syscall results; no dump needed */
	if (json_is_array(v) && json_array_size(v) == 2 &&
	    json_is_null(json_array_get(v, 1)) &&
	    tag_is(json_array_get(v, 0), "ok")) {
		if (len != NULL)
			*len = 11;
		return strdup("[\"ok\",null]");
	}

	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);

	if (s != NULL && len != NULL)
		*len = strlen(s);
	return s;
}

static char *
encode_tagged(json_t *arr, size_t *len)
{
	char *s = arr ? sup_encode(arr, len) : NULL;

	json_decref(arr);
	return s;
}

char *
sup_set_bundle(const char *vat_id, const json_t *bundle,
    const json_t *options, size_t *len)
{
	return encode_tagged(json_pack("[s, s, O, O]", "setBundle", vat_id,
	    bundle, options), len);
}

char *
sup_deliver(const json_t *vdo, size_t *len)
{
	return encode_tagged(json_pack("[s, O]", "deliver", vdo), len);
}

static json_t *
load_array(const unsigned char *bytes, size_t len)
{
	/* NULs are legal in JSON strings (and liveslots makes them) */
	json_t *v = json_loadb((const char *)bytes, len, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, NULL);

	if (v != NULL && !json_is_array(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* A short printable excerpt of a worker's bytes, for error messages. */
static void
excerpt(const unsigned char *b, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 4 < outlen; i++)
		out[n++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
	if (len > n && n + 4 <= outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

int
sup_parse_ready(const unsigned char *result, size_t len, char *errbuf,
    size_t errlen)
{
	json_t	*v = load_array(result, len);
	char	 ex[160];
	int	 rc = -1;

	if (v != NULL && json_array_size(v) == 1 &&
	    tag_is(json_array_get(v, 0), "dispatchReady"))
		rc = 0;
	else if (v != NULL && json_array_size(v) == 3 &&
	    tag_is(json_array_get(v, 0), "err"))
		snprintf(errbuf, errlen, "setBundle failed: %s: %s",
		    nz(json_string_value(json_array_get(v, 1))),
		    nz(json_string_value(json_array_get(v, 2))));
	else {
		excerpt(result, len, ex, sizeof(ex));
		snprintf(errbuf, errlen, "setBundle answered '%s', not "
		    "[\"dispatchReady\"]", ex);
	}
	json_decref(v);
	return rc;
}

void
sup_parse_delivery(const unsigned char *result, size_t len,
    struct sup_delivery *out)
{
	static const char	 plain_ok[] = "[\"ok\",null,null]";
	json_t		*v, *tag;
	char		 ex[160];

	memset(out, 0, sizeof(*out));
	/* the answer to nearly every delivery, read without a parse */
	if (len == sizeof(plain_ok) - 1 && memcmp(result, plain_ok, len) == 0) {
		out->status = SUP_DELIVERY_OK;
		out->info = json_null();
		return;
	}
	v = load_array(result, len);
	tag = json_array_get(v, 0);
	out->status = SUP_DELIVERY_BAD;
	if (json_array_size(v) == 3 && tag_is(tag, "ok")) {
		out->status = SUP_DELIVERY_OK;
		out->info = json_incref(json_array_get(v, 1));
	} else if (json_array_size(v) == 3 && tag_is(tag, "error") &&
	    json_is_string(json_array_get(v, 1))) {
		out->status = SUP_DELIVERY_ERROR;
		out->message = strdup(json_string_value(json_array_get(v, 1)));
	} else {
		excerpt(result, len, ex, sizeof(ex));
		if (asprintf(&out->message, "deliver answered '%s'", ex) < 0)
			out->message = NULL;
	}
	json_decref(v);
}

void
sup_delivery_clear(struct sup_delivery *d)
{
	free(d->message);
	json_decref(d->info);
	memset(d, 0, sizeof(*d));
}

enum sup_upcall_kind
sup_parse_upcall(const unsigned char *bytes, size_t len, json_t **msg,
    json_t **body)
{
	json_t		*v = load_array(bytes, len);
	json_t		*tag = json_array_get(v, 0);

	*msg = v;
	*body = NULL;
	/* A syscall whose content is malformed is still the vat's syscall:
	 * the kernel judges it (illegal, vat-fatal), not the framing. */
	if (tag_is(tag, "syscall") && json_array_size(v) == 2) {
		*body = json_array_get(v, 1);
		return SUP_UPCALL_SYSCALL;
	}
	if (tag_is(tag, "sourcedConsole"))
		return SUP_UPCALL_CONSOLE;
	if (tag_is(tag, "testLog"))
		return SUP_UPCALL_TESTLOG;
	return SUP_UPCALL_BAD;
}

static const char *
skip_json_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

/*
 * The meter's "compute" member, read without parsing the whole report (it
 * is on every reply's hot path): the first "compute" key, then JSON white
 * space, ':', white space and digits.  A report without it, or with
 * anything else there, is 0.
 */
uint64_t
sup_meter_compute(const char *meter, size_t len)
{
	static const char	 key[] = "\"compute\"";
	const char		*p, *end = meter + len;
	uint64_t		 c = 0;

	if (meter == NULL ||
	    (p = memmem(meter, len, key, sizeof(key) - 1)) == NULL)
		return 0;
	p = skip_json_space(p + sizeof(key) - 1, end);
	if (p == end || *p != ':')
		return 0;
	for (p = skip_json_space(p + 1, end); p < end && *p >= '0' &&
	    *p <= '9' && c < UINT64_MAX / 10; p++)
		c = c * 10 + (uint64_t)(*p - '0');
	return c;
}
