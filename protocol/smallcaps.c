/*
 * smallcaps.c — plain data to smallcaps and back (see smallcaps.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/smallcaps.h"

/*
 * Whether c is one of the special first characters.  Not strchr(): it
 * finds the set's own NUL, and a string that starts with "\0" is plain.
 */
static bool
special_start(char c)
{
	return memchr(SMALLCAPS_SPECIAL, c, sizeof(SMALLCAPS_SPECIAL) - 1) !=
	    NULL;
}

json_t *
smallcaps_string(const char *s, size_t len)
{
	char	*bang;
	json_t	*r;

	if (len == 0 || !special_start(s[0]))
		return json_stringn(s, len);
	if ((bang = malloc(len + 1)) == NULL)
		return NULL;
	bang[0] = '!';
	memcpy(bang + 1, s, len);
	r = json_stringn(bang, len + 1);
	free(bang);
	return r;
}

/*
 * A copy of v with every string (object values, not keys) replaced by
 * str(string); NULL if str or an allocation fails, or, with no_hash_keys,
 * if a record has a key starting with '#' (a special record in smallcaps).
 */
static json_t *
map_strings(const json_t *v, json_t *(*str)(const json_t *), bool no_hash_keys)
{
	json_t		*copy, *e, *mv = (json_t *)(uintptr_t)v;
	const char	*key;
	size_t		 i;
	int		 rc = 0;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return str(v);
	case JSON_ARRAY:
		if ((copy = json_array()) == NULL)
			return NULL;
		json_array_foreach(mv, i, e)
			rc |= json_array_append_new(copy, map_strings(e, str,
			    no_hash_keys));
		break;
	case JSON_OBJECT:
		if ((copy = json_object()) == NULL)
			return NULL;
		json_object_foreach(mv, key, e)
			rc |= no_hash_keys && key[0] == '#' ? -1 :
			    json_object_set_new(copy, key, map_strings(e, str,
			    no_hash_keys));
		break;
	default:
		return json_incref(mv);
	}
	if (rc != 0) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

static json_t *
encode_string(const json_t *v)
{
	return smallcaps_string(json_string_value(v), json_string_length(v));
}

json_t *
smallcaps_plain(const json_t *v)
{
	return map_strings(v, encode_string, false);
}

const char *
smallcaps_decode_string(const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) != json_string_length(v))
		return NULL;
	if (s[0] == '!')
		return s + 1;
	return special_start(s[0]) ? NULL : s;
}

static json_t *
decode_string(const json_t *v)
{
	const char *s = smallcaps_decode_string(v);

	return s ? json_string(s) : NULL;
}

json_t *
smallcaps_decode_plain(const json_t *v)
{
	return map_strings(v, decode_string, true);
}
