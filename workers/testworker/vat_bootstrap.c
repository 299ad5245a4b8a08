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
 * In args, a string "@NAME" stands for the root of vat NAME (from the vats
 * record) and "@@…" for the literal string "@…".  With "log": true the
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
static json_t	*bs_args(json_t *, json_t *);
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

/* Substitute "@NAME" by vats[NAME] in a copy of args. */
static json_t *
bs_args(json_t *args, json_t *vats)
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
			if (json_array_append_new(r, bs_args(x, vats)) == -1)
				tw_fatal(TW_EXIT_IO, "out of memory");
		return r;
	case JSON_OBJECT:
		if ((r = json_object()) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		json_object_foreach(args, k, x)
			bs_put(r, k, bs_args(x, vats));
		return r;
	default:
		return json_incref(args);
	}
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
	if (name != NULL) {
		*vref = marshal_ref_vref(json_object_get(json_object_get(st,
		    "vats"), name));
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

	method = json_string_value(json_object_get(step, "method"));
	if (method == NULL)
		return liveslots_fail(vat, "script step %zu: no method", idx);
	if (bs_target(vat, st, step, idx, &vref, &label) == -1)
		return -1;
	args = json_object_get(step, "args");
	args = args != NULL ? bs_args(args, json_object_get(st, "vats")) :
	    json_array();
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

/* A step's result arrived: log it, record it, go on. */
static int
bs_then(struct tw_vat *vat, json_t *arg, int rejected, json_t *value)
{
	json_t	*st = json_array_get(arg, 0);
	size_t	 idx = (size_t)json_integer_value(json_array_get(arg, 1));
	json_t	*step = json_array_get(json_object_get(st, "steps"), idx);
	char	*text;
	int	 rc = 0;

	if (json_is_true(json_object_get(step, "log"))) {
		if ((text = marshal_render(value)) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		rc = syscall_test_log(vat, "%s.%s -> %s%s",
		    json_string_value(json_array_get(arg, 2)),
		    json_string_value(json_array_get(arg, 3)),
		    rejected ? "rejected: " : "", text);
		free(text);
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
