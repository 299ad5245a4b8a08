/*
 * capdata.c — the capdata the kernel and its devices make and read
 * themselves, in smallcaps (kernel-semantics.md §4): errors for rejected
 * promises, plain data for vat parameters, method-plus-arguments for
 * messages it queues, the bootstrap message, and the two things routing
 * needs to read out of capdata (a message's method name; whether data is
 * a single reference).
 * Bodies are "#" + compact JSON; record keys sorted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/capdata.h"
#include "protocol/smallcaps.h"

static json_t *
make_capdata(const char *body_json, json_t *slots)
{
	char	*body;
	json_t	*cd;

	if (body_json == NULL || asprintf(&body, "#%s", body_json) < 0) {
		json_decref(slots);
		return NULL;
	}
	cd = json_pack("{s:s, s:o}", "body", body, "slots",
	    slots ? slots : json_array());
	free(body);
	return cd;
}

static char *
dump(const json_t *v, size_t flags)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | flags) : NULL;
}

/* {"#error": message, "name": "Error"}: the kernel's errors. */
json_t *
capdata_error(const char *message)
{
	json_t	*m = json_string(message), *e = json_object(), *enc;
	char	*text;

	enc = m ? smallcaps_plain(m) : NULL;
	json_object_set_new(e, "#error", enc);
	json_object_set_new(e, "name", json_string("Error"));
	text = dump(e, JSON_PRESERVE_ORDER);
	json_decref(m);
	json_decref(e);
	e = make_capdata(text, NULL);
	free(text);
	return e;
}

/* Plain data (no references) as capdata. */
json_t *
capdata_data(const json_t *plain)
{
	json_t	*enc = smallcaps_plain(plain);
	char	*text = dump(enc, JSON_SORT_KEYS);
	json_t	*cd = make_capdata(text, NULL);

	json_decref(enc);
	free(text);
	return cd;
}

/*
 * [method, args] from a method name and args capdata whose body is
 * "#[…]"; the slots carry over unchanged, so "$N" indexes stay right.
 */
json_t *
capdata_methargs(const char *method, const json_t *args)
{
	const char	*body = json_string_value(json_object_get(args, "body"));
	json_t		*m = json_string(method), *enc;
	char		*mtext, *text = NULL;
	size_t		 blen;

	enc = m ? smallcaps_plain(m) : NULL;
	mtext = dump(enc, 0);
	json_decref(m);
	json_decref(enc);
	if (body == NULL || mtext == NULL || (blen = strlen(body)) < 3 ||
	    strncmp(body, "#[", 2) != 0 || body[blen - 1] != ']' ||
	    asprintf(&text, "[%s,%s]", mtext, body + 1) < 0) {
		free(mtext);
		return NULL;
	}
	free(mtext);
	enc = make_capdata(text, json_deep_copy(json_object_get(args,
	    "slots")));
	free(text);
	return enc;
}

json_t *
capdata_body(const json_t *cd)
{
	const char *body = json_string_value(json_object_get(cd, "body"));

	if (body == NULL || body[0] != '#')
		return NULL;
	return json_loads(body + 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

/* The method of a methargs, unescaped; "<funcall>" for a function call. */
char *
capdata_method_name(const json_t *methargs)
{
	json_t		*v = capdata_body(methargs);
	const char	*m = json_string_value(json_array_get(v, 0));
	char		*out;

	if (m == NULL || strcmp(m, "#undefined") == 0)
		out = strdup("<funcall>");
	else
		out = strdup(m[0] == '!' ? m + 1 : m);
	json_decref(v);
	return out;
}

/* The kref when the whole value is one remotable or promise, else NULL
 * (borrowed from capdata's slots). */
const char *
capdata_single_slot(const json_t *cd)
{
	json_t		*v = capdata_body(cd);
	const char	*s = json_string_value(v);
	const char	*out = NULL;
	char		*end;
	unsigned long	 idx;

	if (s != NULL && (s[0] == '$' || s[0] == '&') && s[1] >= '0' &&
	    s[1] <= '9') {
		idx = strtoul(s + 1, &end, 10);
		if (*end == '\0' || *end == '.')
			out = json_string_value(json_array_get(
			    json_object_get(cd, "slots"), idx));
	}
	json_decref(v);
	return out;
}

static int
cmp_pair(const void *a, const void *b)
{
	return strcmp(json_string_value(json_array_get(*(json_t *const *)a,
	    0)), json_string_value(json_array_get(*(json_t *const *)b, 0)));
}

/* A record name -> "$i.Alleged: <iface>" sorted by name, its krefs
 * appended to slots (i counts on from what slots holds). */
static json_t *
ref_record(const json_t *names, const json_t *krefs, const char *iface,
    json_t *slots)
{
	size_t	 n = json_array_size(names), i;
	json_t	**pairs = calloc(n ? n : 1, sizeof(json_t *));
	json_t	*rec = json_object();
	char	 ref[96];

	for (i = 0; pairs != NULL && i < n; i++)
		pairs[i] = json_pack("[O, O]", json_array_get(names, i),
		    json_array_get(krefs, i));
	if (pairs != NULL)
		qsort(pairs, n, sizeof(json_t *), cmp_pair);
	for (i = 0; pairs != NULL && i < n; i++) {
		snprintf(ref, sizeof(ref), "$%zu.Alleged: %s",
		    json_array_size(slots), iface);
		json_object_set_new(rec, json_string_value(
		    json_array_get(pairs[i], 0)), json_string(ref));
		json_array_append(slots, json_array_get(pairs[i], 1));
		json_decref(pairs[i]);
	}
	free(pairs);
	return rec;
}

/*
 * bootstrap(vats, devices): vats = record name -> root, devices = record
 * name -> device node, each sorted by name.  names and krefs are
 * parallel arrays.
 */
json_t *
capdata_bootstrap_args(const json_t *names, const json_t *krefs,
    const json_t *dev_names, const json_t *dev_krefs)
{
	json_t	*slots = json_array(), *vats, *devs, *args, *out;
	char	*text;

	vats = ref_record(names, krefs, "root", slots);
	devs = ref_record(dev_names, dev_krefs, "device", slots);
	args = json_pack("[s, [o, o]]", "bootstrap", vats, devs);
	text = dump(args, JSON_PRESERVE_ORDER);
	out = make_capdata(text, slots);
	free(text);
	json_decref(args);
	return out;
}

/* Rewrite the slot indexes in v (in place) through map, which numbers
 * the slots in the order first seen; into slots, the krefs. */
static int
renumber(json_t *v, const json_t *from, json_t *map, json_t *slots)
{
	const char	*s, *key;
	char		*end, *ns, idx[32];
	unsigned long	 n;
	json_t		*e, *have;
	size_t		 i;
	int		 rc = 0;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			rc |= renumber(e, from, map, slots);
		return rc;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, key, e)
			rc |= renumber(e, from, map, slots);
		return rc;
	}
	s = json_string_value(v);
	if (s == NULL || (s[0] != '$' && s[0] != '&') || s[1] < '0' ||
	    s[1] > '9')
		return 0;
	n = strtoul(s + 1, &end, 10);
	if ((*end != '\0' && *end != '.') || json_array_get(from, n) == NULL)
		return -1;
	snprintf(idx, sizeof(idx), "%lu", n);
	if ((have = json_object_get(map, idx)) == NULL) {
		have = json_integer((json_int_t)json_array_size(slots));
		json_object_set_new(map, idx, have);
		json_array_append(slots, json_array_get(from, n));
	}
	if (asprintf(&ns, "%c%lld%s", s[0], (long long)json_integer_value(have),
	    end) < 0)
		return -1;
	rc = json_string_set(v, ns);
	free(ns);
	return rc;
}

/*
 * A part of some capdata's value as capdata of its own: part (encoded, a
 * piece of cd's body) is copied and its slot references renumbered from
 * cd's slots; NULL (or undefined) stands for undefined.  NULL on a
 * reference to a slot cd does not have.
 */
json_t *
capdata_extract(const json_t *cd, const json_t *part)
{
	json_t	*copy = part ? json_deep_copy(part) : json_string("#undefined");
	json_t	*map = json_object(), *slots = json_array(), *out = NULL;
	char	*text = NULL;

	if (copy != NULL && map != NULL && slots != NULL &&
	    renumber(copy, json_object_get(cd, "slots"), map, slots) == 0 &&
	    (text = dump(copy, JSON_PRESERVE_ORDER)) != NULL) {
		out = make_capdata(text, slots);
		slots = NULL;
	}
	free(text);
	json_decref(copy);
	json_decref(map);
	json_decref(slots);
	return out;
}

/*
 * args capdata "#[a, b, …]" for a kernel-made message: prefix (compact
 * JSON of plain values, already encoded, e.g. "\"v6\",true") followed
 * by the value of tail (capdata whose slots are kept).
 */
json_t *
capdata_args_with(const char *prefix, const json_t *tail)
{
	const char	*body = json_string_value(json_object_get(tail, "body"));
	char		*text;
	json_t		*out;

	if (body == NULL || body[0] != '#' || asprintf(&text, "[%s,%s]",
	    prefix, body + 1) < 0)
		return NULL;
	out = make_capdata(text, json_deep_copy(json_object_get(tail,
	    "slots")));
	free(text);
	return out;
}

/* Drop liveslots' errorId from every error record in v (in place). */
static void
drop_error_ids(json_t *v)
{
	const char	*key;
	json_t		*e;
	size_t		 i;

	if (json_is_object(v) && json_object_get(v, "#error") != NULL)
		json_object_del(v, "errorId");
	if (json_is_object(v))
		json_object_foreach(v, key, e)
			drop_error_ids(e);
	json_array_foreach(v, i, e)
		drop_error_ids(e);
}

/*
 * Capdata a vat handed the kernel to keep and pass on (an exit's info),
 * unserialized and serialized again: its body must be smallcaps JSON,
 * unused slots go, error records lose their errorId.  NULL when it is not
 * capdata.
 */
json_t *
capdata_normalise(const json_t *cd)
{
	json_t	*v = json_is_array(json_object_get(cd, "slots")) ?
		    capdata_body(cd) : NULL;
	json_t	*out;

	if (v == NULL)
		return NULL;
	drop_error_ids(v);
	out = capdata_extract(cd, v);
	json_decref(v);
	return out;
}
