/*
 * vat_bootstrap.c — the "bootstrap" behaviour: receives the vats and
 * devices records and drives a scripted scenario through them.
 *
 *   bootstrap(vats, devices) → undefined.  Keeps both records, then
 *       starts options.script (if any).
 *   run(script) → a promise for the array of step results, in step
 *       order, once every step has settled.
 *
 * A script is an array of steps, run in order, each after the previous
 * one's result arrived (options.parallel = true: all at once):
 *
 *   {"send":"alice", "method":"echo", "args":[…], "log":true,
 *    "sendOnly":false}
 *   {"to":K, "method":"incr", …}     target = step K's result: the object
 *        it resolved to, or (not yet settled, parallel) its promise —
 *        a pipelined send.
 *
 *   {"createVat":"b1-…" | "@NAME", "options":{…}, "name":"kid",
 *    "log":true}     create a vat: the first such step sends
 *        vats.vatAdmin~.createVatAdminService(devices.vatAdmin) and waits
 *        for the service (kept for the vat's life); then
 *        service~.createVat(bundleID, options), or
 *        createVatByName(NAME, options) for "@NAME".  The child's name is
 *        "name", else options.name, else the bundleID / NAME; the log
 *        line is "createVat <child> -> <{adminNode, root}>" (or
 *        "-> rejected: <reason>"), and the record is kept.
 *   {"send":"@child:kid", …}   send to a created child's root;
 *        "@admin:kid" is its adminNode (done, terminateWithFailure).
 *
 * In args, options and "send", "@NAME" stands for the root of vat NAME
 * (from the vats record), "@vatAdminService" for the service once
 * known, "@child:C" / "@admin:C" for a created child's root / adminNode,
 * and "@@…" for the literal string "@…" ("send" accepts the name with
 * or without the "@").  With "log": true the
 * step's settlement is reported as testLog "<vat>.<method> -> <value>"
 * or "<vat>.<method> -> rejected: <value>" (<vat> is "result<K>" for a
 * "to" step), the value in its smallcaps encoding, e.g. "hi" or
 * "$0.Alleged: counter".  A malformed step fails the delivery.
 */
#include <stdlib.h>
#include <string.h>

#include "workers/testworker/testworker.h"

static void	 bs_put(json_t *, const char *, json_t *);
static void	 bs_aset(json_t *, const char *, size_t, json_t *);
static int	 bs_bootstrap(struct tw_call *);
static int	 bs_run(struct tw_call *);
static json_t	*bs_names(struct tw_vat *, json_t *);
static int	 bs_create(struct tw_vat *, json_t *, size_t);
static int	 bs_service(struct tw_vat *, json_t *, int, json_t *);
static int	 bs_create_send(struct tw_vat *, json_t *, size_t);
static char	*bs_child_name(json_t *);
static json_t	*bs_create_arg(json_t *, size_t);
static int	 bs_target(struct tw_vat *, json_t *, json_t *, size_t,
		    const char **, char **);
static int	 bs_fire(struct tw_vat *, json_t *, size_t);
static int	 bs_then(struct tw_vat *, json_t *, int, json_t *);
static int	 bs_advance(struct tw_vat *, json_t *);
static int	 bs_script(struct tw_vat *, json_t *, json_t *, json_t *);

static const struct tw_method bootstrap_methods[] = {
	{ "bootstrap", bs_bootstrap },
	{ "run", bs_run },
	{ NULL, NULL }
};

const struct behaviour vat_bootstrap = {
	"bootstrap", bootstrap_methods, NULL
};

/* st[key] = v (stolen); only running out of memory can fail. */
static void
bs_put(json_t *st, const char *key, json_t *v)
{
	if (json_object_set_new(st, key, v) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
}

/* st[key][idx] = v (stolen). */
static void
bs_aset(json_t *st, const char *key, size_t idx, json_t *v)
{
	if (json_array_set_new(json_object_get(st, key), idx, v) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
}

/* Substitute "@NAME" by names[NAME] in a copy of args. */
json_t *
bootstrap_subst(json_t *args, json_t *vats)
{
	json_t		*r, *x;
	const char	*s, *k;
	size_t		 i;

	switch (json_typeof(args)) {
	case JSON_STRING:
		s = json_string_value(args);
		if (s[0] != '@')
			return json_incref(args);
		if (s[1] == '@')
			return json_string(s + 1);
		x = json_object_get(vats, s + 1);
		return x != NULL ? json_incref(x) : json_incref(args);
	case JSON_ARRAY:
		if ((r = json_array()) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		json_array_foreach(args, i, x)
			if (json_array_append_new(r, bootstrap_subst(x, vats)) == -1)
				tw_fatal(TW_EXIT_IO, "out of memory");
		return r;
	case JSON_OBJECT:
		if ((r = json_object()) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		json_object_foreach(args, k, x)
			bs_put(r, k, bootstrap_subst(x, vats));
		return r;
	default:
		return json_incref(args);
	}
}

/*
 * What "@NAME" may name: the vats record, plus "vatAdminService" once
 * known, "child:C" and "admin:C" for each created child C (its root and
 * adminNode).  A new reference.
 */
static json_t *
bs_names(struct tw_vat *vat, json_t *st)
{
	json_t		*names, *svc, *rec;
	const char	*k;

	names = json_is_object(json_object_get(st, "vats")) ?
	    json_copy(json_object_get(st, "vats")) : json_object();
	if (names == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	if ((svc = json_object_get(vat->state, "vatAdminService")) != NULL)
		bs_put(names, "vatAdminService", json_incref(svc));
	json_object_foreach(json_object_get(vat->state, "children"), k, rec) {
		char	*a, *b;

		if (asprintf(&a, "child:%s", k) == -1 ||
		    asprintf(&b, "admin:%s", k) == -1)
			tw_fatal(TW_EXIT_IO, "out of memory");
		if (json_object_get(rec, "root") != NULL)
			bs_put(names, a, json_incref(json_object_get(rec,
			    "root")));
		if (json_object_get(rec, "adminNode") != NULL)
			bs_put(names, b, json_incref(json_object_get(rec,
			    "adminNode")));
		free(a);
		free(b);
	}
	return names;
}

/* The vref a step sends to, and its label for logs (malloc'd). */
static int
bs_target(struct tw_vat *vat, json_t *st, json_t *step, size_t idx,
    const char **vref, char **label)
{
	json_t		*to = json_object_get(step, "to"), *res;
	const char	*name;
	json_int_t	 k;

	*vref = NULL;
	*label = NULL;
	name = json_string_value(json_object_get(step, "send"));
	if (name != NULL && name[0] == '@')
		name++;
	if (name != NULL) {
		res = bs_names(vat, st);
		*vref = marshal_ref_vref(json_object_get(res, name));
		/* a vref string lives in the ref marker, which st or
		 * vat->state still holds once names is gone */
		json_decref(res);
		if (*vref == NULL)
			return liveslots_fail(vat, "script step %zu: no vat"
			    " named '%s'", idx, name);
		*label = strdup(name);
	} else if (json_is_integer(to) && (k = json_integer_value(to)) >= 0 &&
	    (size_t)k < idx) {
		res = json_array_get(json_object_get(st, "results"), (size_t)k);
		if ((*vref = marshal_ref_vref(res)) == NULL)
			*vref = json_string_value(json_array_get(
			    json_object_get(st, "promises"), (size_t)k));
		if (*vref == NULL)
			return liveslots_fail(vat, "script step %zu: step %lld"
			    " did not give an object", idx, (long long)k);
		if (asprintf(label, "result%lld", (long long)k) == -1)
			*label = NULL;
	} else
		return liveslots_fail(vat, "script step %zu: needs \"send\""
		    " or an earlier \"to\"", idx);
	if (*label == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	return 0;
}

/* Send step idx of the script st. */
static int
bs_fire(struct tw_vat *vat, json_t *st, size_t idx)
{
	json_t		*steps = json_object_get(st, "steps");
	json_t		*step = json_array_get(steps, idx);
	json_t		*args, *p = NULL;
	const char	*method, *vref;
	char		*label;
	int		 rc, only;

	if (json_object_get(step, "createVat") != NULL)
		return bs_create(vat, st, idx);
	method = json_string_value(json_object_get(step, "method"));
	if (method == NULL)
		return liveslots_fail(vat, "script step %zu: no method", idx);
	if (bs_target(vat, st, step, idx, &vref, &label) == -1)
		return -1;
	args = json_object_get(step, "args");
	if (args != NULL) {
		p = bs_names(vat, st);
		args = bootstrap_subst(args, p);
		json_decref(p);
		p = NULL;
	} else
		args = json_array();
	only = json_is_true(json_object_get(step, "sendOnly"));
	rc = syscall_send(vat, vref, method, args, only ? NULL : &p);
	json_decref(args);
	if (rc == 0 && only)
		bs_aset(st, "results", idx, marshal_undefined());
	if (rc == 0 && !only) {
		bs_aset(st, "promises", idx, json_string(marshal_ref_vref(p)));
		bs_put(st, "pending", json_integer(json_integer_value(
		    json_object_get(st, "pending")) + 1));
		rc = promise_then(vat, marshal_ref_vref(p), bs_then,
		    json_pack("[OIss]", st, (json_int_t)idx, label, method));
	}
	json_decref(p);
	free(label);
	return rc;
}

/* The name a createVat step gives its child ([out] malloc'd). */
static char *
bs_child_name(json_t *step)
{
	const char	*n = json_string_value(json_object_get(step, "name"));
	char		*r;

	if (n == NULL)
		n = json_string_value(json_object_get(json_object_get(step,
		    "options"), "name"));
	if (n == NULL) {
		n = json_string_value(json_object_get(step, "createVat"));
		if (n != NULL && n[0] == '@')
			n++;
	}
	if ((r = strdup(n != NULL ? n : "?")) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	return r;
}

/* The continuation argument of a createVat step: [st, idx, label, null,
 * child name]. */
static json_t *
bs_create_arg(json_t *st, size_t idx)
{
	json_t	*step = json_array_get(json_object_get(st, "steps"), idx);
	json_t	*arg;
	char	*name, *label;

	name = bs_child_name(step);
	if (asprintf(&label, "createVat %s", name) == -1 ||
	    (arg = json_pack("[OIsns]", st, (json_int_t)idx, label, name))
	    == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	free(label);
	free(name);
	return arg;
}

/*
 * A createVat step: get the vatAdminService (once per vat: sends
 * vats.vatAdmin~.createVatAdminService(devices.vatAdmin) and waits for
 * it), then send it createVat.
 */
static int
bs_create(struct tw_vat *vat, json_t *st, size_t idx)
{
	const char	*admin, *dev, *vpid;
	json_t		*args, *p;
	int		 rc;

	if (!json_is_string(json_object_get(json_array_get(json_object_get(st,
	    "steps"), idx), "createVat")))
		return liveslots_fail(vat, "script step %zu: createVat needs"
		    " a bundleID or \"@name\"", idx);
	bs_put(st, "pending", json_integer(json_integer_value(
	    json_object_get(st, "pending")) + 1));
	if (json_object_get(vat->state, "vatAdminService") != NULL)
		return bs_create_send(vat, st, idx);
	vpid = json_string_value(json_object_get(vat->state,
	    "vatAdminServiceP"));
	if (vpid != NULL)
		return promise_then(vat, vpid, bs_service,
		    json_pack("[OI]", st, (json_int_t)idx));
	admin = marshal_ref_vref(json_object_get(json_object_get(st, "vats"),
	    "vatAdmin"));
	dev = marshal_ref_vref(json_object_get(json_object_get(st, "devices"),
	    "vatAdmin"));
	if (admin == NULL || dev == NULL)
		return liveslots_fail(vat, "script step %zu: createVat needs"
		    " vats.vatAdmin and devices.vatAdmin", idx);
	args = json_pack("[O]", json_object_get(json_object_get(st,
	    "devices"), "vatAdmin"));
	rc = syscall_send(vat, admin, "createVatAdminService", args, &p);
	json_decref(args);
	if (rc == 0) {
		bs_put(vat->state, "vatAdminServiceP",
		    json_string(marshal_ref_vref(p)));
		rc = promise_then(vat, marshal_ref_vref(p), bs_service,
		    json_pack("[OI]", st, (json_int_t)idx));
	}
	json_decref(p);
	return rc;
}

/* The vatAdminService arrived (arg = [st, idx]): send createVat. */
static int
bs_service(struct tw_vat *vat, json_t *arg, int rejected, json_t *value)
{
	json_t	*st = json_array_get(arg, 0);
	size_t	 idx = (size_t)json_integer_value(json_array_get(arg, 1));
	json_t	*carg;
	int	 rc;

	json_object_del(vat->state, "vatAdminServiceP");
	if (!rejected && marshal_ref_vref(value) != NULL) {
		if (json_object_get(vat->state, "vatAdminService") == NULL)
			bs_put(vat->state, "vatAdminService",
			    json_incref(value));
		return bs_create_send(vat, st, idx);
	}
	carg = bs_create_arg(st, idx);
	rc = bs_then(vat, carg, 1, value);
	json_decref(carg);
	return rc;
}

/* Send vatAdminService~.createVat(bundleID, options) for step idx, or
 * createVatByName(name, options) for "createVat": "@name". */
static int
bs_create_send(struct tw_vat *vat, json_t *st, size_t idx)
{
	json_t		*step = json_array_get(json_object_get(st, "steps"), idx);
	const char	*what = json_string_value(json_object_get(step,
			    "createVat"));
	const char	*svc = marshal_ref_vref(json_object_get(vat->state,
			    "vatAdminService"));
	json_t		*names, *opts, *args, *p;
	int		 rc;

	names = bs_names(vat, st);
	opts = json_object_get(step, "options");
	opts = opts != NULL ? bootstrap_subst(opts, names) : json_object();
	json_decref(names);
	args = json_pack("[so]", what[0] == '@' ? what + 1 : what, opts);
	if (args == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = syscall_send(vat, svc, what[0] == '@' ? "createVatByName" :
	    "createVat", args, &p);
	json_decref(args);
	if (rc == 0) {
		bs_aset(st, "promises", idx, json_string(marshal_ref_vref(p)));
		rc = promise_then(vat, marshal_ref_vref(p), bs_then,
		    bs_create_arg(st, idx));
	}
	json_decref(p);
	return rc;
}

/* A step's result arrived: log it, record it, go on. */
static int
bs_then(struct tw_vat *vat, json_t *arg, int rejected, json_t *value)
{
	json_t	*st = json_array_get(arg, 0);
	size_t	 idx = (size_t)json_integer_value(json_array_get(arg, 1));
	json_t	*step = json_array_get(json_object_get(st, "steps"), idx);
	const char *method;
	char	*text;
	int	 rc = 0;

	if (json_is_true(json_object_get(step, "log"))) {
		if ((text = marshal_render(value)) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		method = json_string_value(json_array_get(arg, 3));
		rc = syscall_test_log(vat, "%s%s%s -> %s%s",
		    json_string_value(json_array_get(arg, 2)),
		    method != NULL ? "." : "", method != NULL ? method : "",
		    rejected ? "rejected: " : "", text);
		free(text);
	}
	if (json_object_get(step, "createVat") != NULL && !rejected) {
		if (json_object_get(vat->state, "children") == NULL)
			bs_put(vat->state, "children", json_object());
		bs_put(json_object_get(vat->state, "children"),
		    json_string_value(json_array_get(arg, 4)),
		    json_incref(value));
	}
	bs_aset(st, "results", idx, json_incref(value));
	bs_aset(st, "promises", idx, json_null());
	bs_put(st, "pending", json_integer(json_integer_value(
	    json_object_get(st, "pending")) - 1));
	return rc == 0 ? bs_advance(vat, st) : rc;
}

/* Fire what may be fired now; settle "done" when all have settled. */
static int
bs_advance(struct tw_vat *vat, json_t *st)
{
	json_t		*steps = json_object_get(st, "steps");
	json_t		*done;
	size_t		 i;
	int		 parallel;

	parallel = json_is_true(json_object_get(st, "parallel"));
	for (;;) {
		i = (size_t)json_integer_value(json_object_get(st, "next"));
		if (i >= json_array_size(steps))
			break;
		if (!parallel && json_integer_value(json_object_get(st,
		    "pending")) > 0)
			return 0;
		bs_put(st, "next", json_integer((json_int_t)i + 1));
		if (bs_fire(vat, st, i) == -1)
			return -1;
	}
	if (json_integer_value(json_object_get(st, "pending")) > 0 ||
	    json_is_true(json_object_get(st, "finished")))
		return 0;
	bs_put(st, "finished", json_true());
	done = json_object_get(st, "done");
	if (!json_is_string(done))
		return 0;
	return promise_settle(vat, json_string_value(done), 0,
	    json_object_get(st, "results"));
}

/*
 * Start script (an array of steps); the vpid in done (a JSON string, or
 * NULL) is settled with the results once every step has.
 */
static int
bs_script(struct tw_vat *vat, json_t *root_state, json_t *script,
    json_t *done)
{
	json_t	*st, *results, *promises;
	size_t	 i;
	int	 rc;

	if (!json_is_array(script))
		return liveslots_fail(vat, "script is not an array of steps");
	results = json_array();
	promises = json_array();
	for (i = 0; i < json_array_size(script); i++)
		if (json_array_append_new(results, json_null()) == -1 ||
		    json_array_append_new(promises, json_null()) == -1)
			tw_fatal(TW_EXIT_IO, "out of memory");
	st = json_pack("{sOsO?sO?sososO?sisb}", "steps", script, "vats",
	    json_object_get(root_state, "vats"), "devices",
	    json_object_get(root_state, "devices"), "results", results,
	    "promises", promises, "done", done, "next", 0,
	    "parallel", json_is_true(json_object_get(vat->options,
	    "parallel")));
	if (st == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = bs_advance(vat, st);
	json_decref(st);
	return rc;
}

static int
bs_bootstrap(struct tw_call *call)
{
	json_t	*vats = json_array_get(call->args, 0);
	json_t	*devices = json_array_get(call->args, 1);
	json_t	*script;
	json_t	*state = call->self->state;

	bs_put(state, "vats", vats != NULL ? json_incref(vats) : json_null());
	bs_put(state, "devices", devices != NULL ? json_incref(devices) :
	    json_null());
	call_return(call, NULL);
	if ((script = json_object_get(call->vat->options, "script")) == NULL)
		return 0;
	return bs_script(call->vat, state, script, NULL);
}

static int
bs_run(struct tw_call *call)
{
	json_t	*done;
	int	 rc;

	done = call->result != NULL ? json_string(call->result) : NULL;
	call_defer(call);
	rc = bs_script(call->vat, call->self->state,
	    json_array_get(call->args, 0), done);
	json_decref(done);
	return rc;
}
