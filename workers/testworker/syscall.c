/*
 * syscall.c — the vat's syscalls and log upcalls: building each
 * VatSyscallObject (worker-protocol.md §11), sending it up with
 * pipe_upcall(), and turning the result into a value or a failure as
 * makeSupervisorSyscall does (§9.6): ["ok", x] gives x, ["error", e]
 * makes the delivery fail with "syscall.<type> failed: <e>".
 *
 * syscall_raw() is for behaviours that want to see an error result
 * themselves (the illegal behaviour); everything else goes through
 * syscall_do().  Once a delivery has failed, no further syscall is made.
 * Objects of this vat named in a syscall's capdata are retained as
 * exported (gc_retain), as liveslots' retainExportedVref does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/testworker/testworker.h"

static int	sc_log(struct tw_vat *, json_t *);

/*
 * Send vso (stolen) as ["syscall", vso]; [out] *result is the kernel's
 * whole answer.  -1 (and no answer) when the answer was unreadable.
 */
int
syscall_raw(struct tw_vat *vat, json_t *vso, json_t **result)
{
	json_t	*msg;

	*result = NULL;
	if (vso == NULL || (msg = json_pack("[so]", "syscall", vso)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	if (pipe_upcall(msg, result) == -1) {
		json_decref(msg);
		return liveslots_fail(vat, "Received unexpected command"
		    " reply.");
	}
	json_decref(msg);
	return 0;
}

/*
 * Make a syscall (vso stolen); on ["ok", x] store x in [out] *data (when
 * data is not NULL; a new reference) and return 0.  Otherwise -1 with the
 * delivery's failure recorded.
 */
int
syscall_do(struct tw_vat *vat, json_t *vso, json_t **data)
{
	json_t		*res;
	const char	*tag, *type;
	char		*t;
	int		 rc = -1;

	if (data != NULL)
		*data = NULL;
	if (vso == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	if (vat->failure != NULL) {
		json_decref(vso);
		return -1;
	}
	if ((t = strdup(json_string_value(json_array_get(vso, 0)))) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	if (syscall_raw(vat, vso, &res) == -1) {
		free(t);
		return -1;
	}
	tag = json_string_value(json_array_get(res, 0));
	type = t;
	if (tag != NULL && strcmp(tag, "ok") == 0) {
		if (data != NULL)
			*data = json_incref(json_array_get(res, 1));
		rc = 0;
	} else if (tag != NULL && strcmp(tag, "error") == 0) {
		liveslots_fail(vat, "syscall.%s failed: %s", type,
		    json_is_string(json_array_get(res, 1)) ?
		    json_string_value(json_array_get(res, 1)) : "?");
	} else
		liveslots_fail(vat, "syscall.%s: unknown result type", type);
	json_decref(res);
	free(t);
	return rc;
}

/*
 * Send method(args) to target.  With result not NULL a result promise
 * p+N is allocated, sent, subscribed to, and returned as a marker in
 * [out] *result; otherwise the send is send-only (result null).
 */
int
syscall_send(struct tw_vat *vat, const char *target, const char *method,
    json_t *args, json_t **result)
{
	json_t	*value, *cd, *vso, *slots;
	char	*vpid = NULL;
	int	 rc;

	if (result != NULL) {
		*result = NULL;
		vpid = liveslots_next_vpid(vat);
		promise_track(vat, vpid, 0);
	}
	value = marshal_methargs(method, args);
	if (value == NULL || (cd = marshal_encode(value)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_decref(value);
	slots = json_incref(json_object_get(cd, "slots"));
	vso = json_pack("[ss{soss?}]", "send", target, "methargs", cd,
	    "result", vpid);
	rc = syscall_do(vat, vso, NULL);
	if (rc == 0)
		rc = liveslots_exported(vat, slots);
	json_decref(slots);
	if (rc == 0 && vpid != NULL)
		rc = syscall_do(vat, json_pack("[ss]", "subscribe", vpid),
		    NULL);
	if (rc == 0 && vpid != NULL)
		*result = marshal_ref(vpid, NULL);
	free(vpid);
	return rc;
}

/* ["resolve", [[vpid, rejected, capdata]]] */
int
syscall_resolve(struct tw_vat *vat, const char *vpid, int rejected,
    json_t *value)
{
	json_t	*cd, *slots;
	int	 rc;

	if ((cd = marshal_encode(value)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	slots = json_incref(json_object_get(cd, "slots"));
	rc = syscall_do(vat, json_pack("[s[[sbo]]]", "resolve", vpid,
	    rejected, cd), NULL);
	if (rc == 0)
		rc = liveslots_exported(vat, slots);
	json_decref(slots);
	return rc;
}

/*
 * ["callNow", dref, method, argsCapdata] (args: an array value).  The
 * answer ["ok", capdata] gives the decoded value in [out] *value (new
 * reference; its slots are noted as imports) and 0.  The device's
 * ["error", msg] is not vat-fatal (worker-protocol.md §11): 1, with
 * [out] *error (malloc'd), for the caller to throw as D() would.  -1
 * when the delivery fails (unreadable answer, bad capdata).
 */
int
syscall_call_now(struct tw_vat *vat, const char *dref, const char *method,
    json_t *args, json_t **value, char **error)
{
	json_t		*cd, *res, *x;
	const char	*tag;
	char		*why;
	int		 rc = -1;

	*value = NULL;
	*error = NULL;
	if (vat->failure != NULL)
		return -1;
	if ((cd = marshal_encode(args)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	gc_retain(vat, json_object_get(cd, "slots"));
	if (syscall_raw(vat, json_pack("[ssso]", "callNow", dref, method, cd),
	    &res) == -1)
		return -1;
	tag = json_string_value(json_array_get(res, 0));
	x = json_array_get(res, 1);
	if (tag != NULL && strcmp(tag, "ok") == 0) {
		if ((*value = marshal_decode(x, &why)) == NULL) {
			liveslots_fail(vat, "syscall.callNow: %s", why);
			free(why);
		} else if (liveslots_import(vat, json_object_get(x, "slots"),
		    NULL) == 0)
			rc = 0;
		if (rc == -1) {
			json_decref(*value);
			*value = NULL;
		}
	} else if (tag != NULL && strcmp(tag, "error") == 0) {
		if ((*error = strdup(json_is_string(x) ? json_string_value(x) :
		    "device.invoke failed")) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		rc = 1;
	} else
		liveslots_fail(vat, "syscall.callNow: unknown result type");
	json_decref(res);
	return rc;
}

/* ["exit", isFailure, capdata] */
int
syscall_exit(struct tw_vat *vat, int failure, json_t *value)
{
	json_t	*cd;

	if ((cd = marshal_encode(value)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	gc_retain(vat, json_object_get(cd, "slots"));
	return syscall_do(vat, json_pack("[sbo]", "exit", failure, cd), NULL);
}

/* vatstoreGet: [out] *value is malloc'd, or NULL when absent. */
int
syscall_vatstore_get(struct tw_vat *vat, const char *key, char **value)
{
	json_t	*v;

	*value = NULL;
	if (syscall_do(vat, json_pack("[ss]", "vatstoreGet", key), &v) == -1)
		return -1;
	if (json_is_string(v) && (*value = strdup(json_string_value(v)))
	    == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_decref(v);
	return 0;
}

int
syscall_vatstore_set(struct tw_vat *vat, const char *key, const char *value)
{
	return syscall_do(vat, json_pack("[sss]", "vatstoreSet", key, value),
	    NULL);
}

/* vatstoreSet with a key and a value made from one argument each. */
int
syscall_vatstore_setf(struct tw_vat *vat, const char *kfmt, const char *vfmt,
    long long arg)
{
	char	*k, *v;
	int	 rc;

	if (asprintf(&k, kfmt, arg) == -1 || asprintf(&v, vfmt, arg) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = syscall_vatstore_set(vat, k, v);
	free(k);
	free(v);
	return rc;
}

/*
 * Add delta to the decimal counter under key (absent = 0), storing the
 * new value, also returned in [out] *now.
 */
int
syscall_vatstore_count(struct tw_vat *vat, const char *key, json_int_t delta,
    json_int_t *now)
{
	char	*v;
	int	 rc;

	if (syscall_vatstore_get(vat, key, &v) == -1)
		return -1;
	*now = (v != NULL ? strtoll(v, NULL, 10) : 0) + delta;
	free(v);
	if (asprintf(&v, "%lld", (long long)*now) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = syscall_vatstore_set(vat, key, v);
	free(v);
	return rc;
}

/* A log upcall (msg stolen); its answer is ignored, as the worker does. */
static int
sc_log(struct tw_vat *vat, json_t *msg)
{
	json_t	*answer;

	if (msg == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	(void)vat;
	(void)pipe_upcall(msg, &answer);
	json_decref(answer);
	json_decref(msg);
	return 0;
}

/* ["testLog", text] */
int
syscall_test_log(struct tw_vat *vat, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 rc;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	va_end(ap);
	rc = sc_log(vat, json_pack("[ss]", "testLog", s));
	free(s);
	return rc;
}

/* ["sourcedConsole", "vat", level, ...args] (args stolen) */
int
syscall_console(struct tw_vat *vat, const char *level, json_t *args)
{
	json_t	*msg = json_pack("[ss]", "sourcedConsole", "vat");

	if (msg == NULL || json_array_append_new(msg, json_string(level)) ||
	    json_array_extend(msg, args) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_decref(args);
	return sc_log(vat, msg);
}
