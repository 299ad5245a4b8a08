/*
 * liveslots.c — a small C stand-in for SwingSet's liveslots: the vat's
 * own references and what it imports, its exported objects and their
 * methods, its promises and their continuations, and the deliveries
 * (worker-protocol.md §10, kernel-semantics.md §2, §8.5).
 *
 * The deliveries themselves are in dispatch.c.
 *
 * Allocation follows liveslots: the root is o+0, other exports o+10,
 * o+11, …; promises p+5, p+6, … (send results and promises the vat
 * makes).  Imports o-N / d-N are remembered (vat->imports, with their
 * liveslots GC state); an imported p-N found in data is subscribed to at
 * once.  Exports live in vat->objects, indexed by N; what the vat holds
 * and what bringOutYourDead collects is gc.c's.  A message's method
 * returns a value (fulfils the result), throws (rejects it with an
 * Error), or hands back a promise whose settlement is forwarded to the
 * result — never a resolution to a promise, which the kernel refuses.  Continuations run
 * synchronously, in registration order, when a promise settles.
 *
 * A syscall that fails (or anything a real liveslots would throw on)
 * records vat->failure; every later syscall of the delivery is skipped
 * and the delivery answers ["error","Error: <failure>",null].
 * Not done: pipelined deliveries to promises this vat decides.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/testworker/testworker.h"

static int		 ls_export_id(const char *, uint64_t *);
static void		 ls_objects_grow(struct tw_vat *, uint64_t);
static void		 ls_object_free(struct tw_object *);
static void		 ls_promise_free(struct tw_promise *);
static void		 ls_promise_unlink(struct tw_vat *,
			    struct tw_promise *);
static int		 ls_run_thens(struct tw_vat *, struct tw_then *, int,
			    json_t *);

struct tw_vat *
liveslots_new(const char *vat_id, json_t *bundle)
{
	struct tw_vat	*vat;
	json_t		*opts = json_object_get(bundle, "options");

	if ((vat = calloc(1, sizeof(*vat))) == NULL)
		return NULL;
	vat->vat_id = strdup(vat_id);
	vat->bundle = json_incref(bundle);
	vat->options = json_is_object(opts) ? json_incref(opts) : json_object();
	vat->imports = json_object();
	vat->held = json_array();
	vat->recognizers = json_object();
	vat->maybe_retired = json_object();
	vat->state = json_object();
	vat->next_export = 10;
	vat->next_promise = 5;
	if (vat->vat_id == NULL || vat->options == NULL ||
	    vat->imports == NULL || vat->held == NULL ||
	    vat->recognizers == NULL || vat->maybe_retired == NULL ||
	    vat->state == NULL) {
		liveslots_free(vat);
		return NULL;
	}
	return vat;
}

void
liveslots_free(struct tw_vat *vat)
{
	struct tw_promise	*p;
	size_t			 i;

	if (vat == NULL)
		return;
	for (i = 0; i < vat->objects_cap; i++)
		ls_object_free(vat->objects[i]);
	free(vat->objects);
	while ((p = vat->promises) != NULL) {
		vat->promises = p->next;
		ls_promise_free(p);
	}
	json_decref(vat->bundle);
	json_decref(vat->options);
	json_decref(vat->imports);
	json_decref(vat->held);
	json_decref(vat->recognizers);
	json_decref(vat->maybe_retired);
	json_decref(vat->state);
	free(vat->failure);
	free(vat->vat_id);
	free(vat);
}

/* How many things the vat holds (for the meter's heap numbers). */
size_t
liveslots_live(const struct tw_vat *vat)
{
	const struct tw_promise	*p;
	size_t			 n = json_object_size(vat->imports) +
				    vat->objects_live;

	for (p = vat->promises; p != NULL; p = p->next)
		n++;
	return n;
}

/* Record why the delivery fails (the first reason wins); returns -1. */
int
liveslots_fail(struct tw_vat *vat, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	if (vat->failure != NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	va_end(ap);
	vat->failure = s;
	return -1;
}

/* ---- objects ----------------------------------------------------------- */

/* The N of an "o+N" vref; -1 when vref is not one. */
static int
ls_export_id(const char *vref, uint64_t *id)
{
	char	*end;

	if (vref == NULL || strncmp(vref, "o+", 2) != 0 || vref[2] < '0' ||
	    vref[2] > '9')
		return -1;
	*id = strtoull(vref + 2, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* Room for objects[id]: the table doubles as N grows. */
static void
ls_objects_grow(struct tw_vat *vat, uint64_t id)
{
	struct tw_object	**t;
	size_t			  cap = vat->objects_cap ? vat->objects_cap : 16;

	if (id < vat->objects_cap)
		return;
	while (cap <= id)
		cap *= 2;
	if ((t = realloc(vat->objects, cap * sizeof(*t))) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	memset(t + vat->objects_cap, 0, (cap - vat->objects_cap) *
	    sizeof(*t));
	vat->objects = t;
	vat->objects_cap = cap;
}

/* Add an export under vref ("o+N", malloc'd, stolen); state is stolen. */
struct tw_object *
object_add(struct tw_vat *vat, char *vref, const char *name,
    const struct tw_method *methods, json_t *state)
{
	struct tw_object	*o;
	uint64_t		 id;

	if (ls_export_id(vref, &id) == -1 || object_find(vat, vref) != NULL)
		tw_fatal(TW_EXIT_IO, "can't happen: export %s", vref);
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    asprintf(&o->iface, "Alleged: %s", name) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	o->vref = vref;
	o->id = id;
	o->methods = methods;
	o->state = state != NULL ? state : json_object();
	ls_objects_grow(vat, id);
	vat->objects[id] = o;
	vat->objects_live++;
	return o;
}

/* A new exported object o+N with the given methods; state is stolen. */
struct tw_object *
object_new(struct tw_vat *vat, const char *name,
    const struct tw_method *methods, json_t *state)
{
	char	*vref;

	if (asprintf(&vref, "o+%llu",
	    (unsigned long long)vat->next_export++) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	return object_add(vat, vref, name, methods, state);
}

/* A ref marker for o, to put in values. */
json_t *
object_ref(const struct tw_object *o)
{
	return marshal_ref(o->vref, o->iface);
}

struct tw_object *
object_find(struct tw_vat *vat, const char *vref)
{
	uint64_t	 id;

	if (ls_export_id(vref, &id) == -1 || id >= vat->objects_cap)
		return NULL;
	return vat->objects[id];
}

static void
ls_object_free(struct tw_object *o)
{
	if (o == NULL)
		return;
	json_decref(o->state);
	free(o->iface);
	free(o->vref);
	free(o);
}

/* gc.c collected o: forget the export. */
void
object_free(struct tw_vat *vat, struct tw_object *o)
{
	vat->objects[o->id] = NULL;
	vat->objects_live--;
	ls_object_free(o);
}

/* The vat keeps ref (a marker, stolen) for the rest of its life. */
void
liveslots_hold(struct tw_vat *vat, json_t *ref)
{
	if (ref == NULL || json_array_append_new(vat->held, ref) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
}

/* ---- promises ---------------------------------------------------------- */

/* A fresh vpid p+N, malloc'd. */
char *
liveslots_next_vpid(struct tw_vat *vat)
{
	char	*vpid;

	if (asprintf(&vpid, "p+%llu",
	    (unsigned long long)vat->next_promise++) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	return vpid;
}

struct tw_promise *
promise_find(struct tw_vat *vat, const char *vpid)
{
	struct tw_promise	*p;

	for (p = vat->promises; p != NULL; p = p->next)
		if (strcmp(p->vpid, vpid) == 0)
			return p;
	return NULL;
}

/* Start tracking vpid, which the kernel knows. */
struct tw_promise *
promise_track(struct tw_vat *vat, const char *vpid, int decider)
{
	struct tw_promise	*p;

	if ((p = promise_find(vat, vpid)) != NULL) {
		p->decider = decider;
		return p;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->vpid = strdup(vpid)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	p->decider = decider;
	p->exported = 1;
	p->next = vat->promises;
	vat->promises = p;
	return p;
}

/* A promise this vat makes and decides; a ref marker for it. */
json_t *
promise_new(struct tw_vat *vat)
{
	struct tw_promise	*p;
	char			*vpid = liveslots_next_vpid(vat);
	json_t			*ref;

	p = promise_track(vat, vpid, 1);
	p->exported = 0;
	p->local = 1;
	ref = marshal_ref(vpid, NULL);
	free(vpid);
	return ref;
}

static void
ls_promise_free(struct tw_promise *p)
{
	struct tw_then	*t;

	while ((t = p->thens) != NULL) {
		p->thens = t->next;
		json_decref(t->arg);
		free(t);
	}
	json_decref(p->value);
	free(p->vpid);
	free(p);
}

static void
ls_promise_unlink(struct tw_vat *vat, struct tw_promise *p)
{
	struct tw_promise	**pp;

	for (pp = &vat->promises; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

/* Run and free a detached list of continuations; stop at a failure. */
static int
ls_run_thens(struct tw_vat *vat, struct tw_then *t, int rejected,
    json_t *value)
{
	struct tw_then	*next;
	int		 rc = 0;

	for (; t != NULL; t = next) {
		next = t->next;
		if (rc == 0 && t->fn(vat, t->arg, rejected, value) == -1)
			rc = -1;
		json_decref(t->arg);
		free(t);
	}
	return rc;
}

/*
 * Settle vpid (value borrowed).  For a promise this vat decides and the
 * kernel knows, that is a resolve syscall.  Then its continuations run.
 * A promise not made by promise_new is forgotten afterwards, as
 * liveslots forgets resolved vpids.  Settling twice does nothing.
 */
int
promise_settle(struct tw_vat *vat, const char *vpid, int rejected,
    json_t *value)
{
	struct tw_promise	*p;
	struct tw_then		*t;
	int			 rc;

	if ((p = promise_find(vat, vpid)) == NULL)
		return liveslots_fail(vat, "settling unknown promise %s",
		    vpid);
	if (p->settled)
		return 0;
	if (p->decider && p->exported &&
	    syscall_resolve(vat, p->vpid, rejected, value) == -1)
		return -1;
	p->settled = 1;
	p->rejected = rejected;
	p->value = json_incref(value);
	t = p->thens;
	p->thens = NULL;
	rc = ls_run_thens(vat, t, rejected, value);
	if (!p->local) {
		ls_promise_unlink(vat, p);
		ls_promise_free(p);
	}
	return rc;
}

/* Call fn(arg, …) when vpid settles (now, if it has); arg is stolen. */
int
promise_then(struct tw_vat *vat, const char *vpid, tw_then_fn *fn,
    json_t *arg)
{
	struct tw_promise	*p;
	struct tw_then		*t, **tail;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	t->fn = fn;
	t->arg = arg;
	if ((p = promise_find(vat, vpid)) == NULL) {
		free(t);
		json_decref(arg);
		return liveslots_fail(vat, "waiting on unknown promise %s",
		    vpid);
	}
	if (p->settled)
		return ls_run_thens(vat, t, p->rejected, p->value);
	for (tail = &p->thens; *tail != NULL; tail = &(*tail)->next)
		continue;
	*tail = t;
	return 0;
}

/*
 * Note the vrefs in slots of received data: imports are remembered, a
 * new imported promise (other than except, a message's result) is
 * subscribed to.
 */
int
liveslots_import(struct tw_vat *vat, json_t *slots, const char *except)
{
	const char	*vref;
	size_t		 i;
	json_t		*sub;

	json_array_foreach(slots, i, sub) {
		vref = json_string_value(sub);
		if (vref == NULL || vref[0] == '\0' || vref[1] != '-')
			continue;
		if (vref[0] != 'p') {
			/* new, or re-imported after a drop: a Presence */
			if (json_object_set_new(vat->imports, vref,
			    json_integer(TW_IMPORT_REACHABLE)) == -1)
				tw_fatal(TW_EXIT_IO, "out of memory");
			continue;
		}
		if ((except != NULL && strcmp(vref, except) == 0) ||
		    promise_find(vat, vref) != NULL)
			continue;
		promise_track(vat, vref, 0);
		sub = json_pack("[ss]", "subscribe", vref);
		if (syscall_do(vat, sub, NULL) == -1)
			return -1;
	}
	return 0;
}

/*
 * The kernel has now seen the vrefs in slots: an object of ours is
 * retained as exported (gc.c), a promise of ours becomes exported, and
 * one that already settled is resolved right away.
 */
int
liveslots_exported(struct tw_vat *vat, json_t *slots)
{
	struct tw_promise	*p;
	const char		*vref;
	size_t			 i;
	json_t			*s;

	gc_retain(vat, slots);
	json_array_foreach(slots, i, s) {
		vref = json_string_value(s);
		if (vref == NULL || strncmp(vref, "p+", 2) != 0 ||
		    (p = promise_find(vat, vref)) == NULL || p->exported)
			continue;
		p->exported = 1;
		if (p->settled && syscall_resolve(vat, p->vpid, p->rejected,
		    p->value) == -1)
			return -1;
	}
	return 0;
}

/* ---- method calls ------------------------------------------------------ */

void
call_return(struct tw_call *call, json_t *value)
{
	json_decref(call->value);
	call->outcome = TW_RETURN;
	call->value = value;
}

void
call_throw(struct tw_call *call, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	va_end(ap);
	json_decref(call->value);
	call->outcome = TW_THROW;
	call->value = json_string(s);
	free(s);
}

/* The result follows promise (a marker, stolen) when it settles. */
void
call_await(struct tw_call *call, json_t *promise)
{
	json_decref(call->value);
	call->outcome = TW_AWAIT;
	call->value = promise;
}

/* The behaviour keeps call->result (copy it) and settles it later. */
void
call_defer(struct tw_call *call)
{
	json_decref(call->value);
	call->outcome = TW_DEFER;
	call->value = NULL;
}
