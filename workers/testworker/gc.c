/*
 * gc.c — what the vat still holds, and what it tells the kernel it no
 * longer holds: liveslots' garbage collection (boyd-gc.js, liveslots.js
 * dropExports / retireExports / retireImports; kernel-semantics.md §9).
 *
 * Owns the reachability walk, bringOutYourDead and its GC syscalls, the
 * three GC deliveries, and the export flags that stand for liveslots'
 * exportedRemotables (kernel_reachable) and kernelRecognizableRemotables
 * (kernel_recognizable).  It does not own the tables themselves
 * (liveslots.c) nor what a behaviour keeps (its state).
 *
 * The heap is the C vat's JSON: a value the vat can still reach is a ref
 * marker inside one of the roots — vat->state, vat->held, every promise
 * record (its value and its continuations' arguments), the root object
 * o+0 and every export the kernel can still reach (not yet dropped) —
 * or inside the state of an export so reached.  At bringOutYourDead the
 * walk runs once (one full collection, as gcAndFinalize is), then:
 *
 *   1. every import o-N the vat held (a Presence) and cannot reach now
 *      is dropped and becomes "possibly retired";
 *   2. every export o+N (not o+0) that neither the vat nor the kernel
 *      reaches is freed; if the kernel could still recognize it, it is
 *      to be retired (checkExportRemotable);
 *   3. every possibly-retired import (sorted) that is neither reachable
 *      nor kept by a recognizer is retired and forgotten;
 *   4. the syscalls, in liveslots' order, each list sorted as
 *      Array.prototype.sort sorts strings (vrefs are ASCII: strcmp):
 *      dropImports, retireImports, retireExports.
 *
 * Device nodes d-N are never dropped (liveslots' importedDevices holds
 * them).  Promises are never in GC syscalls: an imported one is held
 * until its notify, then forgotten (liveslots.c).  abandonExports is
 * never made (liveslots 0.11 does not make it).  With options.gcProbes
 * the vatstore reads liveslots makes for virtual data come first
 * (gc_probe).  The walks are iterative, with an explicit stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/testworker/testworker.h"

/* One bringOutYourDead's findings. */
struct gc_boyd {
	struct tw_vat	*vat;
	int		 probes;		/* options.gcProbes */
	json_t		*drop;			/* set: imports to drop */
	json_t		*freed;			/* set: exports freed */
	json_t		*retire_exports;	/* set */
	json_t		*retire_imports;	/* array, in sorted order */
};

struct gc_mark {
	struct tw_vat	*vat;
	json_t		*reached;	/* set of imports reached */
	json_t		*stack;		/* values still to walk */
};

static void	 gc_push(json_t *, json_t *);
static void	 gc_push_members(json_t *, json_t *);
static int	 gc_cmp(const void *, const void *);
static json_t	*gc_sorted(json_t *);
static int	 gc_reach(void *, const char *, json_t *);
static void	 gc_mark_object(struct gc_mark *, struct tw_object *);
static json_t	*gc_mark(struct tw_vat *);
static json_t	*gc_drop_imports(struct tw_vat *, json_t *);
static void	 gc_collect_exports(struct gc_boyd *);
static int	 gc_probe(struct gc_boyd *, int, const char *, int *);
static int	 gc_probe_dead(struct gc_boyd *);
static int	 gc_still_known(struct gc_boyd *, const char *, json_t *,
		    int *);
static int	 gc_retire_imports(struct gc_boyd *);
static int	 gc_syscall(struct tw_vat *, const char *, json_t *);
static int	 gc_report(struct gc_boyd *);
static int	 gc_check(struct tw_vat *, const char *, json_t *);

/* Append v (borrowed) to the array a. */
static void
gc_push(json_t *a, json_t *v)
{
	if (json_array_append(a, v) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
}

/* Push the members of the record o so that they pop in key order. */
static void
gc_push_members(json_t *stack, json_t *o)
{
	json_t		*members, *x;
	const char	*k;
	size_t		 i;

	if ((members = json_array()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_object_foreach(o, k, x)
		gc_push(members, x);
	for (i = json_array_size(members); i > 0; i--)
		gc_push(stack, json_array_get(members, i - 1));
	json_decref(members);
}

/*
 * Call fn(arg, vref, marker) for every ref marker in value, depth first
 * in document order; raw markers are opaque.  Iterative: the stack is a
 * JSON array.  Stops with -1 when fn does.
 */
int
gc_walk(json_t *value, gc_ref_fn *fn, void *arg)
{
	json_t		*stack, *v;
	const char	*vref;
	size_t		 n, i;
	int		 rc = 0;

	if (value == NULL)
		return 0;
	if ((stack = json_array()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	gc_push(stack, value);
	while (rc == 0 && (n = json_array_size(stack)) > 0) {
		v = json_incref(json_array_get(stack, n - 1));
		json_array_remove(stack, n - 1);
		if (json_is_array(v)) {
			for (i = json_array_size(v); i > 0; i--)
				gc_push(stack, json_array_get(v, i - 1));
		} else if (json_is_object(v) &&
		    json_object_get(v, TW_KEY_RAW) == NULL) {
			if ((vref = marshal_ref_vref(v)) != NULL)
				rc = fn(arg, vref, v);
			else
				gc_push_members(stack, v);
		}
		json_decref(v);
	}
	json_decref(stack);
	return rc;
}

/* The vrefs in slots went to the kernel: our objects among them are
 * exported, reachable and recognizable by it (retainExportedVref). */
void
gc_retain(struct tw_vat *vat, json_t *slots)
{
	struct tw_object	*o;
	json_t			*s;
	size_t			 i;

	json_array_foreach(slots, i, s)
		if ((o = object_find(vat, json_string_value(s))) != NULL) {
			o->kernel_reachable = 1;
			o->kernel_recognizable = 1;
		}
}

static int
gc_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	    json_string_value(*(json_t *const *)b));
}

/* The keys of the set (a JSON object), sorted, as a new array. */
static json_t *
gc_sorted(json_t *set)
{
	json_t		**v, *r;
	const char	 *k;
	json_t		 *x;
	size_t		  n = json_object_size(set), i = 0;

	if ((v = calloc(n + 1, sizeof(*v))) == NULL ||
	    (r = json_array()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_object_foreach(set, k, x)
		if ((v[i++] = json_string(k)) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
	qsort(v, n, sizeof(*v), gc_cmp);
	for (i = 0; i < n; i++)
		if (json_array_append_new(r, v[i]) == -1)
			tw_fatal(TW_EXIT_IO, "out of memory");
	free(v);
	return r;
}

static void
gc_mark_object(struct gc_mark *m, struct tw_object *o)
{
	if (o == NULL || o->mark == m->vat->gc_epoch)
		return;
	o->mark = m->vat->gc_epoch;
	gc_push(m->stack, o->state);
}

/* gc_walk callback: note what a live value references. */
static int
gc_reach(void *arg, const char *vref, json_t *ref)
{
	struct gc_mark	*m = arg;

	(void)ref;
	if (vref[0] == 'o' && vref[1] == '+')
		gc_mark_object(m, object_find(m->vat, vref));
	else if (vref[1] == '-' && json_object_set_new(m->reached, vref,
	    json_true()) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	return 0;
}

/* Mark everything the vat can reach; the imports reached, as a set. */
static json_t *
gc_mark(struct tw_vat *vat)
{
	struct gc_mark		 m;
	struct tw_promise	*p;
	struct tw_then		*t;
	json_t			*v;
	size_t			 i, n;

	m.vat = vat;
	vat->gc_epoch++;
	if ((m.reached = json_object()) == NULL ||
	    (m.stack = json_array()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	gc_push(m.stack, vat->state);
	gc_push(m.stack, vat->held);
	for (p = vat->promises; p != NULL; p = p->next) {
		if (p->value != NULL)
			gc_push(m.stack, p->value);
		for (t = p->thens; t != NULL; t = t->next)
			if (t->arg != NULL)
				gc_push(m.stack, t->arg);
	}
	for (i = 0; i < vat->objects_cap; i++)
		if (vat->objects[i] != NULL && (i == 0 ||
		    vat->objects[i]->kernel_reachable))
			gc_mark_object(&m, vat->objects[i]);
	while ((n = json_array_size(m.stack)) > 0) {
		v = json_incref(json_array_get(m.stack, n - 1));
		json_array_remove(m.stack, n - 1);
		(void)gc_walk(v, gc_reach, &m);
		json_decref(v);
	}
	json_decref(m.stack);
	return m.reached;
}

/* Step 1: the Presences no longer reached, as a set; each becomes
 * possibly retired. */
static json_t *
gc_drop_imports(struct tw_vat *vat, json_t *reached)
{
	json_t		*drop, *state;
	const char	*vref;

	if ((drop = json_object()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_object_foreach(vat->imports, vref, state) {
		if (vref[0] != 'o' ||
		    json_integer_value(state) != TW_IMPORT_REACHABLE ||
		    json_object_get(reached, vref) != NULL)
			continue;
		if (json_object_set_new(drop, vref, json_true()) == -1 ||
		    json_object_set_new(vat->maybe_retired, vref,
		    json_true()) == -1)
			tw_fatal(TW_EXIT_IO, "out of memory");
	}
	return drop;
}

/* Step 2: free the exports nobody reaches (into b->freed); those the
 * kernel still recognized go to b->retire_exports. */
static void
gc_collect_exports(struct gc_boyd *b)
{
	struct tw_vat		*vat = b->vat;
	struct tw_object	*o;
	size_t			 i;

	for (i = 1; i < vat->objects_cap; i++) {
		o = vat->objects[i];
		if (o == NULL || o->mark == vat->gc_epoch ||
		    o->kernel_reachable)
			continue;
		if (json_object_set_new(b->freed, o->vref, json_true()) == -1 ||
		    (o->kernel_recognizable && json_object_set_new(
		    b->retire_exports, o->vref, json_true()) == -1))
			tw_fatal(TW_EXIT_IO, "out of memory");
		object_free(vat, o);
	}
}

/*
 * With options.gcProbes, the vatstore read liveslots makes for a vref's
 * virtual data: vatstoreGet "vom.rc.<vref>" (get) or vatstoreGetNextKey
 * "vom.ir.<vref>|".  [out] *hit: a non-zero refcount, or a key under the
 * prefix.  Without the option, no syscall and no hit.
 */
static int
gc_probe(struct gc_boyd *b, int get, const char *vref, int *hit)
{
	json_t		*v;
	const char	*s;
	char		*key;
	int		 rc;

	*hit = 0;
	if (!b->probes)
		return 0;
	if (asprintf(&key, get ? "vom.rc.%s" : "vom.ir.%s|", vref) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = syscall_do(b->vat, json_pack("[ss]", get ? "vatstoreGet" :
	    "vatstoreGetNextKey", key), &v);
	if (rc == 0 && (s = json_string_value(v)) != NULL)
		*hit = get ? strtoll(s, NULL, 10) != 0 :
		    strncmp(s, key, strlen(key)) == 0;
	json_decref(v);
	free(key);
	return rc;
}

/*
 * The probes of scanForDeadObjects' first loop, over the dropped imports
 * and freed exports in sorted order: an import whose virtual-data
 * refcount is not 0 is still reachable (not dropped after all); an
 * export's weak-collection keys (ceaseRecognition) are looked for, and
 * there are none to delete (the test worker writes no vom.* keys).
 */
static int
gc_probe_dead(struct gc_boyd *b)
{
	json_t		*all, *sorted, *v;
	const char	*vref;
	size_t		 i;
	int		 hit, rc = 0;

	if (!b->probes)
		return 0;
	if ((all = json_copy(b->drop)) == NULL ||
	    json_object_update(all, b->freed) == -1)
		tw_fatal(TW_EXIT_IO, "out of memory");
	sorted = gc_sorted(all);
	json_decref(all);
	json_array_foreach(sorted, i, v) {
		vref = json_string_value(v);
		if ((rc = gc_probe(b, vref[1] == '-', vref, &hit)) == -1)
			break;
		if (hit && vref[1] == '-') {
			json_object_del(b->drop, vref);
			json_object_del(b->vat->maybe_retired, vref);
		}
	}
	json_decref(sorted);
	return rc;
}

/*
 * Whether the possibly-retired import vref (with the given state) can
 * still be reached or recognized, as the second loop decides it:
 * [out] *keep 0 (retire it), 1 (reachable), 2 (recognized only).
 */
static int
gc_still_known(struct gc_boyd *b, const char *vref, json_t *state,
    int *keep)
{
	int	 hit;

	*keep = 1;
	if (json_object_get(b->drop, vref) == NULL) {
		if (json_integer_value(state) == TW_IMPORT_REACHABLE)
			return 0;
		if (gc_probe(b, 1, vref, &hit) == -1)
			return -1;
		if (hit)
			return 0;
	}
	*keep = 2;
	if (json_object_get(b->vat->recognizers, vref) != NULL)
		return 0;
	if (gc_probe(b, 0, vref, &hit) == -1)
		return -1;
	*keep = hit ? 2 : 0;
	return 0;
}

/*
 * Step 3: the possibly-retired imports, in sorted order: one neither
 * reachable nor recognized is retired (b->retire_imports) and
 * forgotten; one dropped but recognized stays, dropped.
 */
static int
gc_retire_imports(struct gc_boyd *b)
{
	struct tw_vat	*vat = b->vat;
	json_t		*maybe, *state, *v;
	const char	*vref;
	size_t		 i;
	int		 keep, rc = 0;

	maybe = gc_sorted(vat->maybe_retired);
	json_object_clear(vat->maybe_retired);
	json_array_foreach(maybe, i, v) {
		vref = json_string_value(v);
		state = json_object_get(vat->imports, vref);
		if (vref[0] != 'o' || vref[1] != '-' || state == NULL)
			continue;	/* gone already: never retire twice */
		if ((rc = gc_still_known(b, vref, state, &keep)) == -1)
			break;
		if (keep == 2 && json_object_set_new(vat->imports, vref,
		    json_integer(TW_IMPORT_DROPPED)) == -1)
			tw_fatal(TW_EXIT_IO, "out of memory");
		if (keep == 0) {
			gc_push(b->retire_imports, v);
			json_object_del(vat->imports, vref);
		}
	}
	json_decref(maybe);
	return rc;
}

/* [type, vrefs] when vrefs (stolen) is not empty. */
static int
gc_syscall(struct tw_vat *vat, const char *type, json_t *vrefs)
{
	int	 rc = 0;

	if (json_array_size(vrefs) > 0)
		rc = syscall_do(vat, json_pack("[sO]", type, vrefs), NULL);
	json_decref(vrefs);
	return rc;
}

/* The steps after the walk; the syscalls in boyd-gc.js's order. */
static int
gc_report(struct gc_boyd *b)
{
	int	 rc;

	gc_collect_exports(b);
	rc = gc_probe_dead(b);
	if (rc == 0)
		rc = gc_retire_imports(b);
	if (rc == 0)
		rc = gc_syscall(b->vat, "dropImports", gc_sorted(b->drop));
	if (rc == 0)
		rc = gc_syscall(b->vat, "retireImports",
		    json_incref(b->retire_imports));
	if (rc == 0)
		rc = gc_syscall(b->vat, "retireExports",
		    gc_sorted(b->retire_exports));
	return rc;
}

/* ["bringOutYourDead"]: collect, then report as boyd-gc.js does. */
int
gc_bring_out_your_dead(struct tw_vat *vat)
{
	struct gc_boyd	 b;
	json_t		*reached;
	int		 rc;

	memset(&b, 0, sizeof(b));
	b.vat = vat;
	b.probes = json_is_true(json_object_get(vat->options, "gcProbes"));
	reached = gc_mark(vat);
	b.drop = gc_drop_imports(vat, reached);
	json_decref(reached);
	if ((b.freed = json_object()) == NULL ||
	    (b.retire_exports = json_object()) == NULL ||
	    (b.retire_imports = json_array()) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = gc_report(&b);
	json_decref(b.drop);
	json_decref(b.freed);
	json_decref(b.retire_exports);
	json_decref(b.retire_imports);
	return rc;
}

/*
 * liveslots' checks on a GC delivery's vrefs, all made before any is
 * acted on: objects (insistVatType), exports for dropExports and
 * retireExports, imports for retireImports (assert → "Check failed").
 */
static int
gc_check(struct tw_vat *vat, const char *type, json_t *vrefs)
{
	const char	*vref;
	json_t		*v;
	size_t		 i;
	int		 exports = strcmp(type, "retireImports") != 0;

	json_array_foreach(vrefs, i, v) {
		vref = json_string_value(v);
		if (strchr("opd", vref[0]) == NULL || vref[0] == '\0' ||
		    (vref[1] != '+' && vref[1] != '-'))
			return liveslots_fail(vat, "invalid vatSlot %s", vref);
		if (vref[0] != 'o')
			return liveslots_fail(vat, "vatSlot %s is not of type"
			    " object", vref);
	}
	json_array_foreach(vrefs, i, v)
		if ((json_string_value(v)[1] == '+') != exports)
			return liveslots_fail(vat, "Check failed");
	return 0;
}

/*
 * dropExports: the kernel no longer reaches these exports (the vat may
 * still); retireExports: nor recognizes them; retireImports: the
 * exporter retired these imports, which are forgotten with their
 * recognizers (and are not retired again by a later bringOutYourDead,
 * where liveslots would: see README).  An unknown vref is ignored, as
 * liveslots ignores it.
 */
int
gc_deliver(struct tw_vat *vat, const char *type, json_t *vrefs)
{
	struct tw_object	*o;
	const char		*vref;
	json_t			*v;
	size_t			 i;

	if (gc_check(vat, type, vrefs) == -1)
		return -1;
	json_array_foreach(vrefs, i, v) {
		vref = json_string_value(v);
		o = object_find(vat, vref);
		if (strcmp(type, "dropExports") == 0 && o != NULL)
			o->kernel_reachable = 0;
		else if (strcmp(type, "retireExports") == 0 && o != NULL)
			o->kernel_recognizable = 0;
		else if (strcmp(type, "retireImports") == 0) {
			json_object_del(vat->recognizers, vref);
			json_object_del(vat->maybe_retired, vref);
			if (json_integer_value(json_object_get(vat->imports,
			    vref)) == TW_IMPORT_DROPPED)
				json_object_del(vat->imports, vref);
		}
	}
	return 0;
}
