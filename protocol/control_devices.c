/*
 * control_devices.c — the fields of the device ops: poll's "now" (also
 * run's), the block time the producer gives the timer device.  Apart
 * from control_ops.c so that the device ops stay in one place.
 */
#include <errno.h>
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
