/*
 * marshal.c — smallcaps capdata (kernel-semantics.md §4) to and from the
 * worker's value model (the markers described in testworker.h).
 *
 * Encoding follows @endo/marshal: strings that start with one of
 * !"#$%&'()*+,- get a "!" prefix, records are written with sorted keys
 * (byte order, which equals JavaScript's UTF-16 order except for
 * characters beyond the BMP against U+E000–U+FFFF), integral numbers as
 * integers (so -0 is 0), a remotable as "$i.<iface>" on its first
 * occurrence and "$i" after, a promise as "&i", slots in order of first
 * occurrence.  What the worker does not interpret (undefined, bigints,
 * symbols, errors, tagged values) is kept verbatim in a raw marker; slots
 * inside such values are not renumbered (none of the behaviours needs it).
 * Knows nothing of the vat: liveslots.c walks the slots afterwards.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/smallcaps.h"
#include "workers/testworker/testworker.h"


struct marshal_enc {
	json_t	*slots;		/* the capdata's slots, in order */
	json_t	*index;		/* vref -> its index in slots */
};

struct marshal_dec {
	json_t	*slots;		/* borrowed */
	json_t	*ifaces;	/* iface seen for each slot index, or null */
	char	*why;		/* first error, malloc'd */
};

static json_t	*enc_ref(json_t *, struct marshal_enc *);
static json_t	*enc_record(json_t *, struct marshal_enc *);
static json_t	*enc_value(json_t *, struct marshal_enc *);
static int	 key_cmp(const void *, const void *);
static json_t	*dec_fail(struct marshal_dec *, const char *);
static json_t	*dec_slot(struct marshal_dec *, const char *, int);
static json_t	*dec_string(struct marshal_dec *, json_t *);
static json_t	*dec_value(struct marshal_dec *, json_t *);

json_t *
marshal_ref(const char *vref, const char *iface)
{
	json_t	*r;

	if ((r = json_pack("{ss}", TW_KEY_REF, vref)) == NULL)
		return NULL;
	if (iface != NULL && vref[0] != 'p' &&
	    json_object_set_new(r, TW_KEY_IFACE, json_string(iface)) == -1) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* The vref of a ref marker, or NULL when value is not one. */
const char *
marshal_ref_vref(json_t *value)
{
	return json_string_value(json_object_get(value, TW_KEY_REF));
}

json_t *
marshal_undefined(void)
{
	return json_pack("{ss}", TW_KEY_RAW, "#undefined");
}

/* An Error(msg) as liveslots would send it, without an errorId. */
json_t *
marshal_error(const char *msg)
{
	json_t	*m;

	if ((m = smallcaps_string(msg, strlen(msg))) == NULL)
		return NULL;
	return json_pack("{s{sos:s}}", TW_KEY_RAW, "#error", m, "name",
	    "Error");
}

/* The value [method, args] of a message's methargs. */
json_t *
marshal_methargs(const char *method, json_t *args)
{
	return json_pack("[sO]", method, args);
}

static json_t *
enc_ref(json_t *v, struct marshal_enc *e)
{
	const char	*vref = marshal_ref_vref(v);
	const char	*iface;
	json_t		*seen = json_object_get(e->index, vref);
	size_t		 i;

	if (seen != NULL) {
		i = (size_t)json_integer_value(seen);
		return json_sprintf(vref[0] == 'p' ? "&%zu" : "$%zu", i);
	}
	i = json_array_size(e->slots);
	if (json_array_append_new(e->slots, json_string(vref)) == -1 ||
	    json_object_set_new(e->index, vref, json_integer((json_int_t)i))
	    == -1)
		return NULL;
	if (vref[0] == 'p')
		return json_sprintf("&%zu", i);
	if ((iface = json_string_value(json_object_get(v, TW_KEY_IFACE)))
	    != NULL)
		return json_sprintf("$%zu.%s", i, iface);
	return json_sprintf("$%zu.Alleged: presence %s", i, vref);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *
enc_record(json_t *v, struct marshal_enc *enc)
{
	const char	**keys, *k;
	json_t		 *r, *e, *ek, *x;
	size_t		  n = json_object_size(v), i = 0;

	if ((keys = calloc(n + 1, sizeof(*keys))) == NULL)
		return NULL;
	json_object_foreach(v, k, x)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	r = json_object();
	for (i = 0; r != NULL && i < n; i++) {
		ek = smallcaps_string(keys[i], strlen(keys[i]));
		e = enc_value(json_object_get(v, keys[i]), enc);
		if (ek == NULL || e == NULL || json_object_set_new(r,
		    json_string_value(ek), e) == -1) {
			json_decref(r);
			r = NULL;
		}
		json_decref(ek);
	}
	free(keys);
	return r;
}

static json_t *
enc_value(json_t *v, struct marshal_enc *e)
{
	json_t	*r, *raw;
	double	 d;
	size_t	 i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if ((raw = json_object_get(v, TW_KEY_RAW)) != NULL)
			return json_incref(raw);
		if (marshal_ref_vref(v) != NULL)
			return enc_ref(v, e);
		return enc_record(v, e);
	case JSON_ARRAY:
		if ((r = json_array()) == NULL)
			return NULL;
		for (i = 0; i < json_array_size(v); i++)
			if (json_array_append_new(r,
			    enc_value(json_array_get(v, i), e)) == -1) {
				json_decref(r);
				return NULL;
			}
		return r;
	case JSON_STRING:
		return smallcaps_string(json_string_value(v), json_string_length(v));
	case JSON_REAL:
		d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			return json_integer((json_int_t)d);
		return json_incref(v);
	default:
		return json_incref(v);
	}
}

/* {"body":"#…","slots":[…]} for value; NULL when out of memory. */
json_t *
marshal_encode(json_t *value)
{
	struct marshal_enc	 e;
	json_t			*enc = NULL, *r = NULL;
	char			*text = NULL, *body;

	e.slots = json_array();
	e.index = json_object();
	if (e.slots != NULL && e.index != NULL)
		enc = enc_value(value, &e);
	if (enc != NULL)
		text = json_dumps(enc, TW_JSON_FLAGS);
	json_decref(enc);
	if (text != NULL && asprintf(&body, "#%s", text) != -1) {
		r = json_pack("{sssO}", "body", body, "slots", e.slots);
		free(body);
	}
	free(text);
	json_decref(e.slots);
	json_decref(e.index);
	return r;
}

/* The smallcaps encoding of value as text, for logs; malloc'd. */
char *
marshal_render(json_t *value)
{
	json_t	*cd;
	char	*s = NULL;

	if ((cd = marshal_encode(value)) == NULL)
		return NULL;
	s = strdup(json_string_value(json_object_get(cd, "body")) + 1);
	json_decref(cd);
	return s;
}

static json_t *
dec_fail(struct marshal_dec *d, const char *why)
{
	if (d->why == NULL)
		d->why = strdup(why);
	return NULL;
}

/* "$N[.iface]" (remotable) or "&N" (promise) after its first byte. */
static json_t *
dec_slot(struct marshal_dec *d, const char *s, int promise)
{
	char		*end;
	unsigned long	 idx;
	const char	*vref, *iface = NULL;

	idx = strtoul(s, &end, 10);
	if (end == s || idx >= json_array_size(d->slots))
		return dec_fail(d, "slot index out of range");
	if ((vref = json_string_value(json_array_get(d->slots, idx))) == NULL)
		return dec_fail(d, "slot is not a string");
	if (promise)
		return *end == '\0' ? marshal_ref(vref, NULL) :
		    dec_fail(d, "bad promise encoding");
	if (*end == '.') {
		if (json_array_set_new(d->ifaces, idx, json_string(end + 1))
		    == -1)
			return dec_fail(d, "bad interface name");
	} else if (*end != '\0')
		return dec_fail(d, "bad remotable encoding");
	iface = json_string_value(json_array_get(d->ifaces, idx));
	return marshal_ref(vref, iface);
}

static json_t *
dec_string(struct marshal_dec *d, json_t *v)
{
	const char	*s = json_string_value(v);
	size_t		 len = json_string_length(v);

	if (len == 0 || strchr(SMALLCAPS_SPECIAL, s[0]) == NULL)
		return json_incref(v);
	switch (s[0]) {
	case '!':
		return json_stringn(s + 1, len - 1);
	case '$':
		return dec_slot(d, s + 1, 0);
	case '&':
		return dec_slot(d, s + 1, 1);
	default:	/* #undefined, bigints, symbols, … */
		return json_pack("{sO}", TW_KEY_RAW, v);
	}
}

static json_t *
dec_value(struct marshal_dec *d, json_t *v)
{
	json_t		*r, *x, *e;
	const char	*k;
	size_t		 i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return dec_string(d, v);
	case JSON_ARRAY:
		if ((r = json_array()) == NULL)
			return NULL;
		json_array_foreach(v, i, x)
			if (json_array_append_new(r, dec_value(d, x)) == -1) {
				json_decref(r);
				return NULL;
			}
		return r;
	case JSON_OBJECT:
		if (json_object_get(v, "#error") != NULL ||
		    json_object_get(v, "#tag") != NULL)
			return json_pack("{sO}", TW_KEY_RAW, v);
		if ((r = json_object()) == NULL)
			return NULL;
		json_object_foreach(v, k, x) {
			e = dec_value(d, x);
			if (e == NULL || json_object_set_new(r,
			    k[0] == '!' ? k + 1 : k, e) == -1) {
				json_decref(r);
				return NULL;
			}
		}
		return r;
	default:
		return json_incref(v);
	}
}

/*
 * The value carried by capdata; NULL with [out] *why (malloc'd) when it
 * is not smallcaps capdata this worker understands.
 */
json_t *
marshal_decode(json_t *capdata, char **why)
{
	struct marshal_dec	 d;
	const char		*body;
	json_t			*enc, *r = NULL;
	size_t			 i;

	memset(&d, 0, sizeof(d));
	*why = NULL;
	body = json_string_value(json_object_get(capdata, "body"));
	d.slots = json_object_get(capdata, "slots");
	if (body == NULL || !json_is_array(d.slots) || body[0] != '#') {
		*why = strdup("capdata is not {body:\"#…\",slots:[…]}");
		return NULL;
	}
	enc = json_loads(body + 1, JSON_DECODE_ANY, NULL);
	d.ifaces = json_array();
	for (i = 0; d.ifaces != NULL && i < json_array_size(d.slots); i++)
		if (json_array_append_new(d.ifaces, json_null()) == -1)
			break;
	if (enc == NULL)
		dec_fail(&d, "capdata body is not JSON");
	else if (d.ifaces != NULL)
		r = dec_value(&d, enc);
	if (r == NULL && d.why == NULL)
		dec_fail(&d, "out of memory");
	json_decref(enc);
	json_decref(d.ifaces);
	*why = d.why;
	return r;
}
