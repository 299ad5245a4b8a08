/*
 * vat_promises.c — the "promises" behaviour: promises this vat decides,
 * forwarding, and pipelined sends.
 *
 *   makePromise() → [p]: a new promise p+N this vat decides, wrapped in
 *       an array because a result cannot be fulfilled to a promise.  It
 *       becomes "the last promise".
 *   resolveIt(value) → undefined: fulfils the last promise with value.
 *   rejectIt(reason) → undefined: rejects it with reason (as given).
 *   resolveToObject() → thing: a fresh export "thing" (o+N); the last
 *       promise, if still unsettled, is fulfilled with it too.
 *   resolveToPromise(q) → undefined: the last promise follows q (an
 *       imported or own promise) and settles as q does.
 *   forward(peer, method, args) → peer~[method](...args)'s settlement,
 *       passed on once its notify arrives.
 *   pipeline(peer) → the result of incr(): sends peer~.makeCounter() to
 *       p+A, then immediately incr() to p+A itself (a pipelined send);
 *       logs "makeCounter -> <value>" and "incr -> <value>" (testLog)
 *       as each arrives.
 *
 * A "thing" has hello() → "hello" and name() → its vref.
 */
#include <stdlib.h>
#include <string.h>

#include "workers/testworker/testworker.h"

static int	pr_make(struct tw_call *);
static int	pr_last(struct tw_call *, const char **);
static int	pr_settle(struct tw_call *, int);
static int	pr_resolve(struct tw_call *);
static int	pr_reject(struct tw_call *);
static int	pr_to_object(struct tw_call *);
static int	pr_follow(struct tw_vat *, json_t *, int, json_t *);
static int	pr_to_promise(struct tw_call *);
static int	pr_forward(struct tw_call *);
static int	pr_log(struct tw_vat *, json_t *, int, json_t *);
static int	pr_pipeline(struct tw_call *);
static int	thing_hello(struct tw_call *);
static int	thing_name(struct tw_call *);

static const struct tw_method promises_methods[] = {
	{ "makePromise", pr_make },
	{ "resolveIt", pr_resolve },
	{ "rejectIt", pr_reject },
	{ "resolveToObject", pr_to_object },
	{ "resolveToPromise", pr_to_promise },
	{ "forward", pr_forward },
	{ "pipeline", pr_pipeline },
	{ NULL, NULL }
};

/* Also the methods of vat_holder.c's items. */
const struct tw_method vat_thing_methods[] = {
	{ "hello", thing_hello },
	{ "name", thing_name },
	{ NULL, NULL }
};

const struct behaviour vat_promises = {
	"promises", promises_methods, NULL
};

static int
pr_make(struct tw_call *call)
{
	json_t	*p = promise_new(call->vat);

	if (p == NULL || json_object_set_new(call->vat->state, "last",
	    json_string(marshal_ref_vref(p))) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	call_return(call, json_pack("[o]", p));
	return 0;
}

/* The last promise made; throws (returns -1 here) when there is none. */
static int
pr_last(struct tw_call *call, const char **vpid)
{
	*vpid = json_string_value(json_object_get(call->vat->state, "last"));
	if (*vpid == NULL) {
		call_throw(call, "no promise made yet");
		return -1;
	}
	return 0;
}

static int
pr_settle(struct tw_call *call, int rejected)
{
	json_t		*v = json_array_get(call->args, 0);
	json_t		*undef = NULL;
	const char	*vpid;
	int		 rc;

	if (pr_last(call, &vpid) == -1)
		return 0;
	if (v == NULL)
		v = undef = marshal_undefined();
	rc = promise_settle(call->vat, vpid, rejected, v);
	json_decref(undef);
	call_return(call, NULL);
	return rc;
}

static int
pr_resolve(struct tw_call *call)
{
	return pr_settle(call, 0);
}

static int
pr_reject(struct tw_call *call)
{
	return pr_settle(call, 1);
}

static int
pr_to_object(struct tw_call *call)
{
	struct tw_object	*o;
	json_t			*ref;
	const char		*vpid;
	int			 rc = 0;

	o = object_new(call->vat, "thing", vat_thing_methods, NULL);
	ref = object_ref(o);
	vpid = json_string_value(json_object_get(call->vat->state, "last"));
	if (vpid != NULL)
		rc = promise_settle(call->vat, vpid, 0, ref);
	call_return(call, ref);
	return rc;
}

/* Continuation: settle the promise named in arg the same way. */
static int
pr_follow(struct tw_vat *vat, json_t *arg, int rejected, json_t *value)
{
	return promise_settle(vat, json_string_value(arg), rejected, value);
}

static int
pr_to_promise(struct tw_call *call)
{
	const char	*q = marshal_ref_vref(json_array_get(call->args, 0));
	const char	*vpid;

	if (pr_last(call, &vpid) == -1)
		return 0;
	if (q == NULL || q[0] != 'p') {
		call_throw(call, "resolveToPromise needs a promise");
		return 0;
	}
	call_return(call, NULL);
	return promise_then(call->vat, q, pr_follow, json_string(vpid));
}

static int
pr_forward(struct tw_call *call)
{
	const char	*peer = marshal_ref_vref(json_array_get(call->args, 0));
	const char	*method = json_string_value(json_array_get(call->args,
			    1));
	json_t		*args = json_array_get(call->args, 2), *p;

	if (peer == NULL || method == NULL) {
		call_throw(call, "forward needs (peer, method, args)");
		return 0;
	}
	args = args != NULL ? json_incref(args) : json_array();
	if (syscall_send(call->vat, peer, method, args, &p) == -1) {
		json_decref(args);
		return -1;
	}
	json_decref(args);
	call_await(call, p);
	return 0;
}

/* Continuation: testLog "<what in arg> -> [rejected: ]<value>". */
static int
pr_log(struct tw_vat *vat, json_t *arg, int rejected, json_t *value)
{
	char	*text;
	int	 rc;

	if ((text = marshal_render(value)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = syscall_test_log(vat, "%s -> %s%s", json_string_value(arg),
	    rejected ? "rejected: " : "", text);
	free(text);
	return rc;
}

static int
pr_pipeline(struct tw_call *call)
{
	const char	*peer = marshal_ref_vref(json_array_get(call->args, 0));
	json_t		*none, *p1 = NULL, *p2 = NULL;
	int		 rc;

	if (peer == NULL) {
		call_throw(call, "pipeline needs a peer");
		return 0;
	}
	if ((none = json_array()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = syscall_send(call->vat, peer, "makeCounter", none, &p1);
	if (rc == 0)
		rc = syscall_send(call->vat, marshal_ref_vref(p1), "incr",
		    none, &p2);
	if (rc == 0)
		rc = promise_then(call->vat, marshal_ref_vref(p1), pr_log,
		    json_string("makeCounter"));
	if (rc == 0)
		rc = promise_then(call->vat, marshal_ref_vref(p2), pr_log,
		    json_string("incr"));
	json_decref(none);
	json_decref(p1);
	if (rc == 0)
		call_await(call, p2);
	else
		json_decref(p2);
	return rc;
}

static int
thing_hello(struct tw_call *call)
{
	call_return(call, json_string("hello"));
	return 0;
}

static int
thing_name(struct tw_call *call)
{
	call_return(call, json_string(call->self->vref));
	return 0;
}
