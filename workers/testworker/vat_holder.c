/*
 * vat_holder.c — the "holder" behaviour: a vat that holds and releases
 * references on request, so that the kernel's garbage collection can be
 * driven from tests (gc.c does the collecting).
 *
 * What it holds is the array vat->state.held, in the order it took the
 * refs (the same vref may be held more than once).  Root methods:
 *
 *   hold(...values) → count: keeps every object ref in values, imports
 *       o-N and this vat's own exports o+N (promises and devices are not
 *       taken).
 *   release(...values) → count: lets go of every held entry whose vref
 *       occurs in values.
 *   dropAll() → how many entries it let go of.
 *   count() → how many entries are held.
 *   held() → the array of held refs.
 *   sendTo(i, method, args) → the answer of held[i]~[method](...args)
 *       (args optional, an array); held[i] must exist.
 *   sendToAll(method) → count: held[i]~[method]() send-only, for every
 *       held import, in order.
 *   makeObjects(n) → an array of n new exports "item", which the vat does
 *       not hold (0 <= n <= 100000).
 *   makeHeldObjects(n) → the same, each also held.
 *   recognize(...values) → count: keeps a recognizer (as a weak-map key
 *       would) for every import o-N in values; the count of recognizers.
 *   forgetRecognizers() → how many recognizers it forgot.
 *
 * An item has name() → its vref and hello() → "hello" (the methods of
 * vat_promises.c's "thing").
 */
#include <stdlib.h>
#include <string.h>

#include "workers/testworker/testworker.h"

#define HOLDER_MAX_OBJECTS	100000

static json_t	*hd_held(struct tw_vat *);
static void	 hd_append(json_t *, json_t *);
static int	 hd_take(void *, const char *, json_t *);
static int	 hd_note(void *, const char *, json_t *);
static int	 hd_hold(struct tw_call *);
static int	 hd_release(struct tw_call *);
static int	 hd_drop_all(struct tw_call *);
static int	 hd_count(struct tw_call *);
static int	 hd_held_refs(struct tw_call *);
static int	 hd_send_to(struct tw_call *);
static int	 hd_send_to_all(struct tw_call *);
static int	 hd_make(struct tw_call *, int);
static int	 hd_make_objects(struct tw_call *);
static int	 hd_make_held(struct tw_call *);
static int	 hd_recognize(struct tw_call *);
static int	 hd_forget(struct tw_call *);

static const struct tw_method holder_methods[] = {
	{ "hold", hd_hold },
	{ "release", hd_release },
	{ "dropAll", hd_drop_all },
	{ "count", hd_count },
	{ "held", hd_held_refs },
	{ "sendTo", hd_send_to },
	{ "sendToAll", hd_send_to_all },
	{ "makeObjects", hd_make_objects },
	{ "makeHeldObjects", hd_make_held },
	{ "recognize", hd_recognize },
	{ "forgetRecognizers", hd_forget },
	{ NULL, NULL }
};

const struct behaviour vat_holder = { "holder", holder_methods, NULL };

/* vat->state.held, made when absent. */
static json_t *
hd_held(struct tw_vat *vat)
{
	json_t	*h = json_object_get(vat->state, "held");

	if (h == NULL && (json_object_set_new(vat->state, "held",
	    h = json_array()) == -1 || h == NULL))
		tw_fatal(TW_EXIT_IO, "out of memory");
	return h;
}

static void
hd_append(json_t *a, json_t *v)
{
	if (json_array_append(a, v) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
}

/* gc_walk callback: hold an object ref (arg: the held array). */
static int
hd_take(void *arg, const char *vref, json_t *ref)
{
	if (vref[0] == 'o')
		hd_append(arg, ref);
	return 0;
}

/* gc_walk callback: note an object vref in the set arg. */
static int
hd_note(void *arg, const char *vref, json_t *ref)
{
	(void)ref;
	if (vref[0] == 'o' && json_object_set_new(arg, vref, json_true())
	    == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	return 0;
}

static int
hd_hold(struct tw_call *call)
{
	json_t	*held = hd_held(call->vat);

	(void)gc_walk(call->args, hd_take, held);
	call_return(call, json_integer((json_int_t)json_array_size(held)));
	return 0;
}

static int
hd_release(struct tw_call *call)
{
	json_t	*held = hd_held(call->vat), *gone, *keep, *v;
	size_t	 i;

	if ((gone = json_object()) == NULL || (keep = json_array()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	(void)gc_walk(call->args, hd_note, gone);
	json_array_foreach(held, i, v)
		if (json_object_get(gone, marshal_ref_vref(v)) == NULL)
			hd_append(keep, v);
	json_decref(gone);
	call_return(call, json_integer((json_int_t)json_array_size(keep)));
	if (json_object_set_new(call->vat->state, "held", keep) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	return 0;
}

static int
hd_drop_all(struct tw_call *call)
{
	json_t	*held = hd_held(call->vat);

	call_return(call, json_integer((json_int_t)json_array_size(held)));
	json_array_clear(held);
	return 0;
}

static int
hd_count(struct tw_call *call)
{
	call_return(call, json_integer((json_int_t)json_array_size(
	    hd_held(call->vat))));
	return 0;
}

static int
hd_held_refs(struct tw_call *call)
{
	call_return(call, json_copy(hd_held(call->vat)));
	return 0;
}

static int
hd_send_to(struct tw_call *call)
{
	json_t		*i = json_array_get(call->args, 0);
	const char	*method = json_string_value(json_array_get(call->args,
			    1));
	json_t		*args = json_array_get(call->args, 2), *target, *p;
	int		 rc;

	target = json_is_integer(i) && json_integer_value(i) >= 0 ?
	    json_array_get(hd_held(call->vat), (size_t)json_integer_value(i)) :
	    NULL;
	if (target == NULL || method == NULL ||
	    (args != NULL && !json_is_array(args))) {
		call_throw(call, "sendTo needs (index of a held ref, method,"
		    " [args])");
		return 0;
	}
	args = args != NULL ? json_incref(args) : json_array();
	rc = syscall_send(call->vat, marshal_ref_vref(target), method, args,
	    &p);
	json_decref(args);
	if (rc == 0)
		call_await(call, p);
	return rc;
}

static int
hd_send_to_all(struct tw_call *call)
{
	const char	*method = json_string_value(json_array_get(call->args,
			    0));
	const char	*vref;
	json_t		*held = hd_held(call->vat), *none, *v;
	json_int_t	 n = 0;
	size_t		 i;

	if (method == NULL) {
		call_throw(call, "sendToAll needs a method");
		return 0;
	}
	if ((none = json_array()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_array_foreach(held, i, v) {
		vref = marshal_ref_vref(v);
		if (vref[1] != '-')
			continue;
		if (syscall_send(call->vat, vref, method, none, NULL) == -1)
			break;
		n++;
	}
	json_decref(none);
	call_return(call, json_integer(n));
	return call->vat->failure != NULL ? -1 : 0;
}

/* makeObjects / makeHeldObjects: n new items, held or not. */
static int
hd_make(struct tw_call *call, int hold)
{
	json_t			*n = json_array_get(call->args, 0), *out;
	struct tw_object	*o;
	json_int_t		 i;

	if (!json_is_integer(n) || json_integer_value(n) < 0 ||
	    json_integer_value(n) > HOLDER_MAX_OBJECTS) {
		call_throw(call, "makeObjects needs a count from 0 to %d",
		    HOLDER_MAX_OBJECTS);
		return 0;
	}
	if ((out = json_array()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	for (i = 0; i < json_integer_value(n); i++) {
		o = object_new(call->vat, "item", vat_thing_methods, NULL);
		if (json_array_append_new(out, object_ref(o)) == -1)
			tw_fatal(TW_EXIT_IO, "out of memory");
	}
	if (hold && json_array_extend(hd_held(call->vat), out) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	meter_add((uint64_t)json_integer_value(n));
	call_return(call, out);
	return 0;
}

static int
hd_make_objects(struct tw_call *call)
{
	return hd_make(call, 0);
}

static int
hd_make_held(struct tw_call *call)
{
	return hd_make(call, 1);
}

static int
hd_recognize(struct tw_call *call)
{
	json_t		*seen, *x;
	const char	*vref;

	if ((seen = json_object()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	(void)gc_walk(call->args, hd_note, seen);
	json_object_foreach(seen, vref, x)
		if (vref[1] == '-' && json_object_set_new(
		    call->vat->recognizers, vref, json_true()) == -1)
			tw_fatal(TW_EXIT_IO, "out of memory");
	json_decref(seen);
	call_return(call, json_integer((json_int_t)json_object_size(
	    call->vat->recognizers)));
	return 0;
}

/* Each recognizer that goes makes its vref possibly retired
 * (removeRecognizableVref). */
static int
hd_forget(struct tw_call *call)
{
	json_t		*x;
	const char	*vref;

	call_return(call, json_integer((json_int_t)json_object_size(
	    call->vat->recognizers)));
	json_object_foreach(call->vat->recognizers, vref, x)
		if (json_object_set_new(call->vat->maybe_retired, vref,
		    json_true()) == -1)
			tw_fatal(TW_EXIT_IO, "out of memory");
	json_object_clear(call->vat->recognizers);
	return 0;
}
