/*
 * smallcaps.c — encoding plain data as smallcaps (see smallcaps.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/smallcaps.h"

json_t *
smallcaps_string(const char *s, size_t len)
{
	char	*bang;
	json_t	*r;

	if (len == 0 || strchr(SMALLCAPS_SPECIAL, s[0]) == NULL)
		return json_stringn(s, len);
	if ((bang = malloc(len + 1)) == NULL)
		return NULL;
	bang[0] = '!';
	memcpy(bang + 1, s, len);
	r = json_stringn(bang, len + 1);
	free(bang);
	return r;
}

json_t *
smallcaps_plain(const json_t *v)
{
	json_t		*copy, *e, *mv = (json_t *)(uintptr_t)v;
	const char	*key;
	size_t		 i;
	int		 rc = 0;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return smallcaps_string(json_string_value(v),
		    json_string_length(v));
	case JSON_ARRAY:
		if ((copy = json_array()) == NULL)
			return NULL;
		json_array_foreach(mv, i, e)
			rc |= json_array_append_new(copy, smallcaps_plain(e));
		break;
	case JSON_OBJECT:
		if ((copy = json_object()) == NULL)
			return NULL;
		json_object_foreach(mv, key, e)
			rc |= json_object_set_new(copy, key, smallcaps_plain(e));
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
