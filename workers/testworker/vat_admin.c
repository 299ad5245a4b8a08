/*
 * vat_admin.c — the "vatAdmin" behaviour: the vat-admin vat for test
 * configs (kernel-semantics.md §12), reaching the kernel's vatAdmin
 * device with callNow (§11.1); and the createOnStart option, with which
 * any testworker vat creates vats during its own startVat.
 *
 * Root (what bootstrap and the kernel call):
 *   createVatAdminService(device) → vatAdminService (an export, made
 *       once; a second call returns the same one).  Keeps device.
 *   newVatCallback(vatID, {rootObject}) → undefined: the pending createVat
 *       for vatID is fulfilled with {adminNode, root: rootObject}, with a
 *       new export "adminNode" for that vat.
 *   newVatCallback(vatID, {error}) → undefined: it is rejected with
 *       Error("Vat Creation Error: <error as String() would give>").
 *   vatTerminated(vatID, shouldReject, info) → undefined: a pending
 *       createVat for vatID is rejected as newVatCallback(vatID, {error:
 *       info}) would; then the vat's done() promise is rejected with info
 *       (shouldReject) or fulfilled with it.  Unknown vatIDs are ignored.
 * vatAdminService:
 *   createVat(bundleID | bundlecap, options) → {adminNode, root}, once
 *       newVatCallback arrives.  A bundlecap (a device node) is first
 *       asked callNow(cap, "getBundleID", []).  Then
 *       callNow(device, "createByBundleID", [bundleID, options]) whose
 *       answer is the vatID; options are passed as given ({} if absent),
 *       not normalised as the JavaScript vat-admin does.
 *   createVatByName(name, options) → the same, after
 *       callNow(device, "getBundleIDByName", [name]).
 *   A device error (["error", msg]) throws Error(msg): createVat's
 *   result is rejected and the vat carries on.
 * adminNode:
 *   done() → a promise settled by vatTerminated.
 *   terminateWithFailure(reason) → undefined, after
 *       callNow(device, "terminateWithFailure", [vatID, reason]).
 *
 * State (vat->state): device (dref), service (vref), pending {vatID:
 * vpid}, done {vatID: vpid} — local promises (promise_new) that the
 * method results follow — and nodes {vatID: adminNode vref}.  The
 * service and every adminNode are held for the vat's life
 * (liveslots_hold), as the JavaScript vat-admin keeps them.
 */
#include <stdlib.h>
#include <string.h>

#include "workers/testworker/testworker.h"

static json_t	*va_table(struct tw_vat *, const char *);
static const char *va_get(struct tw_vat *, const char *, const char *);
static int	 va_settle(struct tw_vat *, const char *, const char *, int,
		    json_t *);
static int	 va_reject_pending(struct tw_vat *, const char *, json_t *);
static int	 va_device_call(struct tw_call *, const char *, const char *,
		    json_t *, json_t **);
static int	 va_create_id(struct tw_call *, const char *, json_t *);
static int	 va_root_service(struct tw_call *);
static int	 va_root_new_vat(struct tw_call *);
static int	 va_root_terminated(struct tw_call *);
static int	 va_create(struct tw_call *);
static int	 va_create_by_name(struct tw_call *);
static int	 va_node_done(struct tw_call *);
static int	 va_node_terminate(struct tw_call *);
static int	 va_on_start_log(struct tw_vat *, json_t *, int, json_t *);

static const struct tw_method admin_root_methods[] = {
	{ "createVatAdminService", va_root_service },
	{ "newVatCallback", va_root_new_vat },
	{ "vatTerminated", va_root_terminated },
	{ NULL, NULL }
};

static const struct tw_method service_methods[] = {
	{ "createVat", va_create },
	{ "createVatByName", va_create_by_name },
	{ NULL, NULL }
};

static const struct tw_method node_methods[] = {
	{ "done", va_node_done },
	{ "terminateWithFailure", va_node_terminate },
	{ NULL, NULL }
};

const struct behaviour vat_admin = {
	"vatAdmin", admin_root_methods, NULL
};

/* vat->state[name], an object, made when absent. */
static json_t *
va_table(struct tw_vat *vat, const char *name)
{
	json_t	*t = json_object_get(vat->state, name);

	if (t == NULL && (json_object_set_new(vat->state, name,
	    t = json_object()) == -1 || t == NULL))
		tw_fatal(TW_EXIT_IO, "out of memory");
	return t;
}

/* vat->state[table][key] as a string, or NULL. */
static const char *
va_get(struct tw_vat *vat, const char *table, const char *key)
{
	return json_string_value(json_object_get(json_object_get(vat->state,
	    table), key));
}

/*
 * What String(value) gives in JavaScript, roughly: a string as is, an
 * Error as "<name>: <message>", anything else its smallcaps encoding.
 * malloc'd.
 */
char *
vat_admin_describe(json_t *value)
{
	json_t		*raw = json_object_get(value, TW_KEY_RAW);
	const char	*msg, *name;
	char		*s;

	if (json_is_string(value))
		s = strdup(json_string_value(value));
	else if ((msg = json_string_value(json_object_get(raw, "#error")))
	    != NULL) {
		name = json_string_value(json_object_get(raw, "name"));
		if (msg[0] == '!')
			msg++;
		if (asprintf(&s, "%s: %s", name != NULL ? name : "Error",
		    msg) == -1)
			s = NULL;
	} else
		s = marshal_render(value);
	if (s == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	return s;
}

/*
 * Settle vat->state[table][vatID] (a local promise).  A pending creation
 * is dropped then; a done() promise is kept (local promises stay known
 * once settled, so a later done() still gets the outcome).
 */
static int
va_settle(struct tw_vat *vat, const char *table, const char *vat_id,
    int rejected, json_t *value)
{
	const char	*vpid = va_get(vat, table, vat_id);
	char		*copy;
	int		 rc;

	if (vpid == NULL)
		return 0;
	if ((copy = strdup(vpid)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	if (strcmp(table, "pending") == 0)
		json_object_del(va_table(vat, table), vat_id);
	rc = promise_settle(vat, copy, rejected, value);
	free(copy);
	return rc;
}

/* Reject vatID's pending creation with "Vat Creation Error: <error>". */
static int
va_reject_pending(struct tw_vat *vat, const char *vat_id, json_t *error)
{
	json_t	*e;
	char	*text, *msg;
	int	 rc;

	if (va_get(vat, "pending", vat_id) == NULL)
		return 0;
	text = vat_admin_describe(error);
	if (asprintf(&msg, "Vat Creation Error: %s", text) == -1 ||
	    (e = marshal_error(msg)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = va_settle(vat, "pending", vat_id, 1, e);
	json_decref(e);
	free(msg);
	free(text);
	return rc;
}

/*
 * callNow(dref or the kept device, method, args (stolen)).  0 with
 * [out] *value; 1 when the call threw (the outcome is set); -1 when the
 * delivery fails.
 */
static int
va_device_call(struct tw_call *call, const char *dref, const char *method,
    json_t *args, json_t **value)
{
	char	*error;
	int	 rc;

	*value = NULL;
	if (dref == NULL)
		dref = json_string_value(json_object_get(call->vat->state,
		    "device"));
	if (dref == NULL) {
		json_decref(args);
		call_throw(call, "no vatAdmin device: createVatAdminService"
		    " was not called");
		return 1;
	}
	if (args == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = syscall_call_now(call->vat, dref, method, args, value, &error);
	json_decref(args);
	if (rc == 1) {
		call_throw(call, "%s", error);
		free(error);
	}
	return rc;
}

static int
va_root_service(struct tw_call *call)
{
	const char		*dref = marshal_ref_vref(json_array_get(
				    call->args, 0));
	const char		*svc;
	struct tw_object	*o;

	if (dref == NULL || dref[0] != 'd') {
		call_throw(call, "createVatAdminService needs the vatAdmin"
		    " device");
		return 0;
	}
	if (json_object_set_new(call->vat->state, "device", json_string(dref))
	    == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	svc = json_string_value(json_object_get(call->vat->state, "service"));
	if (svc != NULL && (o = object_find(call->vat, svc)) != NULL) {
		call_return(call, object_ref(o));
		return 0;
	}
	o = object_new(call->vat, "vatAdminService", service_methods, NULL);
	if (json_object_set_new(call->vat->state, "service",
	    json_string(o->vref)) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	liveslots_hold(call->vat, object_ref(o));
	call_return(call, object_ref(o));
	return 0;
}

static int
va_root_new_vat(struct tw_call *call)
{
	const char		*vat_id = json_string_value(json_array_get(
				    call->args, 0));
	json_t			*info = json_array_get(call->args, 1);
	json_t			*root = json_object_get(info, "rootObject");
	json_t			*rec;
	struct tw_object	*node;

	if (vat_id == NULL || !json_is_object(info)) {
		call_throw(call, "newVatCallback needs (vatID, {rootObject})");
		return 0;
	}
	call_return(call, NULL);
	if (va_get(call->vat, "pending", vat_id) == NULL)
		return syscall_test_log(call->vat, "vatAdmin: newVatCallback"
		    " for %s, which is not pending", vat_id);
	if (syscall_test_log(call->vat, "vatAdmin: newVatCallback %s %s",
	    vat_id, root ? "rootObject" : "error") == -1)
		return -1;
	if (root == NULL)
		return va_reject_pending(call->vat, vat_id,
		    json_object_get(info, "error"));
	node = object_new(call->vat, "adminNode", node_methods,
	    json_pack("{ss}", "vatID", vat_id));
	liveslots_hold(call->vat, object_ref(node));
	if (json_object_set_new(va_table(call->vat, "nodes"), vat_id,
	    json_string(node->vref)) == -1 ||
	    (rec = json_pack("{soso}", "adminNode", object_ref(node), "root",
	    json_incref(root))) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	if (va_settle(call->vat, "pending", vat_id, 0, rec) == -1) {
		json_decref(rec);
		return -1;
	}
	json_decref(rec);
	return 0;
}

static int
va_root_terminated(struct tw_call *call)
{
	const char	*vat_id = json_string_value(json_array_get(call->args,
			    0));
	json_t		*info = json_array_get(call->args, 2);
	json_t		*undef = NULL;
	int		 rc;

	if (vat_id == NULL) {
		call_throw(call, "vatTerminated needs (vatID, shouldReject,"
		    " info)");
		return 0;
	}
	call_return(call, NULL);
	if (syscall_test_log(call->vat, "vatAdmin: vatTerminated %s %s", vat_id,
	    json_is_true(json_array_get(call->args, 1)) ? "reject" :
	    "resolve") == -1)
		return -1;
	if (info == NULL)
		info = undef = marshal_undefined();
	rc = va_reject_pending(call->vat, vat_id, info);
	if (rc == 0)
		rc = va_settle(call->vat, "done", vat_id,
		    json_is_true(json_array_get(call->args, 1)), info);
	json_decref(undef);
	return rc;
}

/*
 * callNow(device, "createByBundleID", [bundleID, options]) and await the
 * creation: the result follows a local promise newVatCallback settles.
 */
static int
va_create_id(struct tw_call *call, const char *bundle_id, json_t *options)
{
	json_t		*v, *pending, *done;
	const char	*vat_id;
	int		 rc;

	rc = va_device_call(call, NULL, "createByBundleID", json_pack("[sO]",
	    bundle_id, options), &v);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	if ((vat_id = json_string_value(v)) == NULL) {
		json_decref(v);
		call_throw(call, "createByBundleID did not give a vatID");
		return 0;
	}
	pending = promise_new(call->vat);
	done = promise_new(call->vat);
	if (json_object_set_new(va_table(call->vat, "pending"), vat_id,
	    json_string(marshal_ref_vref(pending))) == -1 ||
	    json_object_set_new(va_table(call->vat, "done"), vat_id,
	    json_string(marshal_ref_vref(done))) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_decref(done);
	json_decref(v);
	call_await(call, pending);
	return 0;
}

static int
va_create(struct tw_call *call)
{
	json_t		*what = json_array_get(call->args, 0);
	json_t		*options = json_array_get(call->args, 1);
	json_t		*id = NULL, *empty = NULL;
	const char	*cap = marshal_ref_vref(what);
	int		 rc;

	if (cap != NULL && cap[0] == 'd') {
		rc = va_device_call(call, cap, "getBundleID", json_array(),
		    &id);
		if (rc != 0)
			return rc == 1 ? 0 : -1;
		what = id;
	}
	if (!json_is_string(what)) {
		json_decref(id);
		call_throw(call, "createVat needs a bundleID or a bundlecap");
		return 0;
	}
	if (options == NULL || !json_is_object(options))
		options = empty = json_object();
	rc = va_create_id(call, json_string_value(what), options);
	json_decref(empty);
	json_decref(id);
	return rc;
}

static int
va_create_by_name(struct tw_call *call)
{
	json_t		*name = json_array_get(call->args, 0);
	json_t		*options = json_array_get(call->args, 1);
	json_t		*id, *empty = NULL;
	int		 rc;

	if (!json_is_string(name)) {
		call_throw(call, "createVatByName needs a bundle name");
		return 0;
	}
	rc = va_device_call(call, NULL, "getBundleIDByName", json_pack("[O]",
	    name), &id);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	if (!json_is_string(id)) {
		json_decref(id);
		call_throw(call, "getBundleIDByName did not give a bundleID");
		return 0;
	}
	if (options == NULL || !json_is_object(options))
		options = empty = json_object();
	rc = va_create_id(call, json_string_value(id), options);
	json_decref(empty);
	json_decref(id);
	return rc;
}

static int
va_node_done(struct tw_call *call)
{
	const char	*vat_id = json_string_value(json_object_get(
			    call->self->state, "vatID"));
	const char	*vpid = va_get(call->vat, "done", vat_id);
	json_t		*done;

	if (vpid == NULL) {
		call_throw(call, "no done() promise for %s", vat_id);
		return 0;
	}
	if ((done = marshal_ref(vpid, NULL)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	call_await(call, done);
	return 0;
}

static int
va_node_terminate(struct tw_call *call)
{
	json_t		*vat_id = json_object_get(call->self->state, "vatID");
	json_t		*reason = json_array_get(call->args, 0);
	json_t		*v, *args;
	int		 rc;

	if (reason == NULL)
		args = json_pack("[Oo]", vat_id, marshal_undefined());
	else
		args = json_pack("[OO]", vat_id, reason);
	rc = va_device_call(call, NULL, "terminateWithFailure", args, &v);
	json_decref(v);
	if (rc == 0)
		call_return(call, NULL);
	return rc == -1 ? -1 : 0;
}

/* ---- createOnStart (any behaviour) ------------------------------------- */

/* Continuation: testLog "createOnStart <what> -> [rejected: ]<value>". */
static int
va_on_start_log(struct tw_vat *vat, json_t *arg, int rejected, json_t *value)
{
	char	*text;
	int	 rc;

	if ((text = marshal_render(value)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = syscall_test_log(vat, "createOnStart %s -> %s%s",
	    json_string_value(arg), rejected ? "rejected: " : "", text);
	free(text);
	return rc;
}

/*
 * options.createOnStart = [{"bundleID": B | "name": N, "options": {…}},
 * …]: for each entry, in order, send vatParameters.vatAdminService~
 * .createVat(B, options) (or createVatByName(N, options)) and testLog
 * the settlement.  "@vatAdminService" in an entry's options stands for
 * the service itself (to hand it on to a grandchild).
 */
int
vat_admin_create_on_start(struct tw_vat *vat, json_t *params)
{
	json_t		*list = json_object_get(vat->options, "createOnStart");
	json_t		*svc = json_object_get(params, "vatAdminService");
	json_t		*entry, *names, *opts, *args, *p;
	const char	*target = marshal_ref_vref(svc), *what, *method;
	size_t		 i;
	int		 rc = 0;

	if (list == NULL)
		return 0;
	if (!json_is_array(list))
		return liveslots_fail(vat, "createOnStart is not an array");
	if (target == NULL)
		return liveslots_fail(vat, "createOnStart needs"
		    " vatParameters.vatAdminService");
	if ((names = json_pack("{sO}", "vatAdminService", svc)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_array_foreach(list, i, entry) {
		method = "createVat";
		if ((what = json_string_value(json_object_get(entry,
		    "bundleID"))) == NULL) {
			method = "createVatByName";
			what = json_string_value(json_object_get(entry,
			    "name"));
		}
		if (what == NULL) {
			rc = liveslots_fail(vat, "createOnStart entry %zu:"
			    " needs bundleID or name", i);
			break;
		}
		opts = json_object_get(entry, "options");
		opts = opts != NULL ? bootstrap_subst(opts, names) :
		    json_object();
		args = json_pack("[so]", what, opts);
		if (args == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		rc = syscall_send(vat, target, method, args, &p);
		json_decref(args);
		if (rc == 0)
			rc = promise_then(vat, marshal_ref_vref(p),
			    va_on_start_log, json_string(what));
		json_decref(p);
		if (rc == -1)
			break;
	}
	json_decref(names);
	return rc;
}
