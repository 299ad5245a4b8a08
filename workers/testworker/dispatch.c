/*
 * dispatch.c — liveslots' dispatch(): one VatDeliveryObject in, one
 * delivery result out (worker-protocol.md §9.4, §10).
 *
 * It checks each delivery's shape as insistVatDeliveryObject does (a bad
 * shape is a supervisor error, ["err",…]), then runs it: startVat picks
 * the behaviour named by the bundle and builds the root o+0; a message
 * invokes a method of an export; notify settles promises and runs their
 * continuations; bringOutYourDead and the GC deliveries are gc.c's.  The
 * bundle options abortOn / loopOn act here, before the method runs.
 */
#include <stdlib.h>
#include <string.h>

#include "workers/testworker/testworker.h"

#define DISPATCH_METHOD_WORK	100	/* meter units per method call */

static int	dispatch_follow(struct tw_vat *, json_t *, int, json_t *);
static const struct tw_method *dispatch_method(struct tw_object *,
		    const char *);
static void	dispatch_hooks(struct tw_vat *, const char *);
static int	dispatch_settle(struct tw_vat *, struct tw_call *,
		    const char *);
static int	dispatch_invoke(struct tw_vat *, struct tw_object *,
		    json_t *, const char *);
static int	dispatch_start(struct tw_vat *, json_t *);
static int	dispatch_message(struct tw_vat *, json_t *);
static int	dispatch_notify(struct tw_vat *, json_t *);
static int	dispatch_shape(json_t *, const char **);

/* Continuation: settle the result vpid in arg like the awaited one. */
static int
dispatch_follow(struct tw_vat *vat, json_t *arg, int rejected, json_t *value)
{
	return promise_settle(vat, json_string_value(arg), rejected, value);
}

static const struct tw_method *
dispatch_method(struct tw_object *o, const char *name)
{
	const struct tw_method	*m;

	for (m = o->methods; m != NULL && m->name != NULL; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/* options.abortOn: a machine fault; options.loopOn: spin on the meter. */
static void
dispatch_hooks(struct tw_vat *vat, const char *name)
{
	const char	*opt;

	opt = json_string_value(json_object_get(vat->options, "abortOn"));
	if (opt != NULL && strcmp(opt, name) == 0)
		abort();
	opt = json_string_value(json_object_get(vat->options, "loopOn"));
	if (opt != NULL && strcmp(opt, name) == 0)
		for (;;)
			meter_add(1000);	/* exits 17 past -l */
}

/* Settle the result vpid with the call's outcome. */
static int
dispatch_settle(struct tw_vat *vat, struct tw_call *call, const char *result)
{
	json_t	*v;
	int	 rc;

	switch (call->outcome) {
	case TW_DEFER:
		return 0;
	case TW_AWAIT:
		return promise_then(vat, marshal_ref_vref(call->value),
		    dispatch_follow, json_string(result));
	case TW_THROW:
		v = marshal_error(json_string_value(call->value));
		break;
	default:
		v = call->value != NULL ? json_incref(call->value) :
		    marshal_undefined();
		break;
	}
	if (v == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = promise_settle(vat, result, call->outcome == TW_THROW, v);
	json_decref(v);
	return rc;
}

/* Call methargs = [method, args] on o; settle result (may be NULL). */
static int
dispatch_invoke(struct tw_vat *vat, struct tw_object *o, json_t *methargs,
    const char *result)
{
	struct tw_call		 call;
	const struct tw_method	*m;
	int			 rc = 0;

	memset(&call, 0, sizeof(call));
	call.vat = vat;
	call.self = o;
	call.method = json_string_value(json_array_get(methargs, 0));
	call.result = result;
	call.args = json_array_get(methargs, 1);
	meter_add(DISPATCH_METHOD_WORK);
	if (call.method == NULL || !json_is_array(call.args))
		call_throw(&call, "methargs is not [method, args]");
	else {
		dispatch_hooks(vat, call.method);
		if ((m = dispatch_method(o, call.method)) == NULL)
			call_throw(&call, "target has no method \"%s\"",
			    call.method);
		else
			rc = m->fn(&call);
	}
	if (rc == 0 && result != NULL)
		rc = dispatch_settle(vat, &call, result);
	json_decref(call.value);
	return rc;
}

/* ["startVat", vatParameters] */
static int
dispatch_start(struct tw_vat *vat, json_t *vdo)
{
	const char		*fmt, *name;
	json_t			*params, *n;
	char			*why, *vref;
	struct tw_object	*root;
	json_int_t		 i, writes;
	int			 rc = 0;

	if (vat->started)
		return liveslots_fail(vat, "startVat called twice");
	fmt = json_string_value(json_object_get(vat->bundle, "moduleFormat"));
	if (fmt == NULL || strcmp(fmt, "testworker") != 0)
		return liveslots_fail(vat, "testworker cannot load a bundle"
		    " with moduleFormat '%s'", fmt != NULL ? fmt : "");
	name = json_string_value(json_object_get(vat->bundle, "vat"));
	if (name == NULL || (vat->behaviour = behaviour_find(name)) == NULL)
		return liveslots_fail(vat, "testworker has no vat behaviour"
		    " '%s'", name != NULL ? name : "");
	if ((params = marshal_decode(json_array_get(vdo, 1), &why)) == NULL) {
		rc = liveslots_fail(vat, "vatParameters: %s", why);
		free(why);
		return rc;
	}
	vat->started = 1;
	if ((vref = strdup("o+0")) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	/* liveslots retains the root as exported at once */
	root = object_add(vat, vref, "root", vat->behaviour->root, NULL);
	root->kernel_reachable = root->kernel_recognizable = 1;
	rc = liveslots_import(vat, json_object_get(json_array_get(vdo, 1),
	    "slots"), NULL);
	n = json_object_get(vat->options, "startWrites");
	writes = json_is_integer(n) ? json_integer_value(n) : 0;
	for (i = 0; rc == 0 && i < writes; i++)
		rc = syscall_vatstore_setf(vat, "start.%lld", "%lld",
		    (long long)i);
	if (rc == 0)
		rc = vat_admin_create_on_start(vat, params);
	if (rc == 0 && vat->behaviour->start != NULL)
		rc = vat->behaviour->start(vat, params);
	json_decref(params);
	return rc;
}

/* ["message", target, {"methargs": capdata, "result": vpid|null}] */
static int
dispatch_message(struct tw_vat *vat, json_t *vdo)
{
	const char		*target, *result;
	json_t			*msg, *methargs;
	struct tw_object	*o;
	char			*why;
	int			 rc;

	if (!vat->started)
		return liveslots_fail(vat, "message before startVat");
	target = json_string_value(json_array_get(vdo, 1));
	msg = json_array_get(vdo, 2);
	result = json_string_value(json_object_get(msg, "result"));
	if ((o = object_find(vat, target)) == NULL)
		return liveslots_fail(vat, "no export %s in this vat", target);
	methargs = marshal_decode(json_object_get(msg, "methargs"), &why);
	if (methargs == NULL) {
		rc = liveslots_fail(vat, "methargs: %s", why);
		free(why);
		return rc;
	}
	if (result != NULL)
		promise_track(vat, result, 1);
	rc = liveslots_import(vat, json_object_get(json_object_get(msg,
	    "methargs"), "slots"), result);
	if (rc == 0)
		rc = dispatch_invoke(vat, o, methargs, result);
	json_decref(methargs);
	return rc;
}

/* ["notify", [[vpid, isRejected, capdata], …]] */
static int
dispatch_notify(struct tw_vat *vat, json_t *vdo)
{
	json_t		*res, *v;
	const char	*vpid;
	char		*why;
	size_t		 i;
	int		 rc = 0;

	json_array_foreach(json_array_get(vdo, 1), i, res) {
		vpid = json_string_value(json_array_get(res, 0));
		if (promise_find(vat, vpid) == NULL)
			continue;	/* liveslots ignores what it forgot */
		v = marshal_decode(json_array_get(res, 2), &why);
		if (v == NULL) {
			rc = liveslots_fail(vat, "notify %s: %s", vpid, why);
			free(why);
			break;
		}
		rc = liveslots_import(vat, json_object_get(json_array_get(res,
		    2), "slots"), vpid);
		if (rc == 0)
			rc = promise_settle(vat, vpid,
			    json_is_true(json_array_get(res, 1)), v);
		json_decref(v);
		if (rc == -1)
			break;
	}
	return rc;
}

/* insistVatDeliveryObject: 0, or -1 with [out] *why. */
static int
dispatch_shape(json_t *vdo, const char **why)
{
	const char	*t = json_string_value(json_array_get(vdo, 0));
	json_t		*a1 = json_array_get(vdo, 1), *x, *e;
	size_t		 n = json_array_size(vdo), i;

	*why = "not a VatDeliveryObject";
	if (t == NULL)
		return -1;
	if (strcmp(t, "message") == 0) {
		x = json_array_get(vdo, 2);
		e = json_object_get(x, "result");
		return n == 3 && json_is_string(a1) && json_is_object(
		    json_object_get(x, "methargs")) && (json_is_null(e) ||
		    json_is_string(e)) ? 0 : -1;
	}
	if (strcmp(t, "notify") == 0) {
		if (n != 2 || !json_is_array(a1))
			return -1;
		json_array_foreach(a1, i, e)
			if (!json_is_string(json_array_get(e, 0)) ||
			    !json_is_boolean(json_array_get(e, 1)) ||
			    !json_is_object(json_array_get(e, 2)))
				return -1;
		return 0;
	}
	if (strcmp(t, "dropExports") == 0 || strcmp(t, "retireExports") == 0 ||
	    strcmp(t, "retireImports") == 0) {
		if (n != 2 || !json_is_array(a1))
			return -1;
		json_array_foreach(a1, i, e)
			if (!json_is_string(e))
				return -1;
		return 0;
	}
	if (strcmp(t, "startVat") == 0 || strcmp(t, "stopVat") == 0)
		return n == 2 && json_is_object(a1) ? 0 : -1;
	if (strcmp(t, "changeVatOptions") == 0)
		return n == 2 ? 0 : -1;
	if (strcmp(t, "bringOutYourDead") == 0)
		return n == 1 ? 0 : -1;
	*why = "unknown delivery type";
	return -1;
}

/*
 * Run one delivery; [out] *out is the supervisor's answer:
 * ["ok",null|stats,null], ["error","Error: …",null] or ["err",…].
 */
int
liveslots_deliver(struct tw_vat *vat, json_t *vdo, json_t **out)
{
	const char	*t, *why;
	int		 rc = 0;

	free(vat->failure);
	vat->failure = NULL;
	if (dispatch_shape(vdo, &why) == -1) {
		*out = json_pack("[sss]", "err", "Error", why);
		return *out == NULL ? -1 : 0;
	}
	t = json_string_value(json_array_get(vdo, 0));
	if (strcmp(t, "startVat") == 0)
		rc = dispatch_start(vat, vdo);
	else if (strcmp(t, "message") == 0)
		rc = dispatch_message(vat, vdo);
	else if (strcmp(t, "notify") == 0)
		rc = dispatch_notify(vat, vdo);
	else if (strcmp(t, "bringOutYourDead") == 0)
		rc = gc_bring_out_your_dead(vat);
	else if (strcmp(t, "dropExports") == 0 ||
	    strcmp(t, "retireExports") == 0 || strcmp(t, "retireImports") == 0)
		rc = gc_deliver(vat, t, json_array_get(vdo, 1));
	if (rc == -1 || vat->failure != NULL)
		*out = json_pack("[ss+n]", "error", "Error: ",
		    vat->failure != NULL ? vat->failure : "failed");
	else if (strcmp(t, "bringOutYourDead") == 0)
		*out = json_pack("[s{}n]", "ok");
	else
		*out = json_pack("[snn]", "ok");
	return *out == NULL ? -1 : 0;
}
