/*
 * answer.c — the answers a syscall gets, shared by syscall.c, vatstore.c,
 * the c-list and what devices are lent: success, the illegal syscall
 * (SwingSet's "prepare to die": the crank will end with the vat's
 * termination, and the first reason is kept for it), a store failure
 * (the crank cannot be kept), and the check every ref passes first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

json_t *
ksys_ok(json_t *v)
{
	return json_pack("[s, o]", "ok", v ? v : json_null());
}

json_t *
ksys_illegal(struct kernel *k, struct kvat *v, const char *fmt, ...)
{
	va_list	 ap;
	char	*why = NULL;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	log_info("kernel", "%s: illegal syscall: %s", v->id, why ? why : fmt);
	if (!k->cr.illegal) {
		k->cr.illegal = true;
		k->cr.why = why;
	} else
		free(why);
	return json_pack("[s, s]", "error", KSYS_PREPARE_TO_DIE);
}

/* A store failure inside a syscall: the crank cannot be kept. */
json_t *
ksys_store_failed(struct kernel *k, int rc)
{
	if (k->cr.store_rc == STORE_OK)
		k->cr.store_rc = rc;
	return json_pack("[s, s]", "error", "kernel store failure");
}

/* A ref must be a string without NULs (a NUL would cut it short). */
bool
ksys_ref_ok(const json_t *ref)
{
	return json_is_string(ref) &&
	    strlen(json_string_value(ref)) == json_string_length(ref);
}
