/*
 * refcount.c — SwingSet's reference counts (kernel-semantics.md §9.1–
 * §9.3): who holds a kernel object or promise, and what the end of a
 * crank does with one that nobody holds any more.
 *
 * Keys: koN.refCount = "<reachable>,<recognizable>" (written "0,0" when
 * the object is made), kpN.refCount = "<n>" (written "0" with the
 * promise).  Device nodes (kd) are not counted.
 *
 * What holds a count: an importer's c-list entry (an object's owner's
 * entry does not; a promise's every entry does), every reference in a
 * queued send (target, result, argument slots) or notify (its kpid),
 * a settled promise's resolution data, a vat's vatParameters, a device's
 * c-list import, a pin ("pinnedObjects") and the host's interest in a
 * result it will read ("external": bootstrap(), the queue op).
 *
 * A count that reaches zero puts the kref on the maybe-free list, which
 * lives in memory, in insertion order, each kref once, and is examined
 * at the end of every crank (kref_process), inside its transaction.  A
 * promise nobody holds is deleted there (its resolution data released
 * first, which may free more: those are examined in the same pass).
 * An object nobody reaches gives GC actions for its owner (dropExport,
 * retireExport) or, ownerless, for its importers (retireImport), which
 * gc.c turns into deliveries; an ownerless object nobody reaches is
 * deleted.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

static bool
is_object(const char *kref)
{
	return strncmp(kref, "ko", 2) == 0;
}

static bool
is_promise(const char *kref)
{
	return strncmp(kref, "kp", 2) == 0;
}

/* kref joins the maybe-free list (once).  A store code: STORE_ENOMEM
 * when it could not (the crank then fails rather than lose it). */
static int
maybe_free(struct kernel *k, const char *kref)
{
	json_t *s;

	if (k->maybe_free_set == NULL)
		k->maybe_free_set = json_object();
	if (k->maybe_free == NULL)
		k->maybe_free = json_array();
	if (k->maybe_free_set == NULL || k->maybe_free == NULL)
		return STORE_ENOMEM;
	if (json_object_get(k->maybe_free_set, kref) != NULL)
		return STORE_OK;
	if ((s = json_string(kref)) == NULL ||
	    json_array_append_new(k->maybe_free, s) != 0)
		return STORE_ENOMEM;
	return json_object_set_new(k->maybe_free_set, kref, json_true()) == 0 ?
	    STORE_OK : STORE_ENOMEM;
}

/* A count that cannot be read or would go below zero: the kernel's own
 * bookkeeping is wrong, and SwingSet panics. */
static int
count_broken(struct kernel *k, const char *kref, const char *what)
{
	kernel_panic(k, "reference count of %s %s", kref, what);
	return STORE_OK;
}

static int
object_count(struct kernel *k, const char *kref, int64_t *reach,
    int64_t *recog, bool *exists)
{
	char	 kb[64], *v, *end;

	snprintf(kb, sizeof(kb), "%s.refCount", kref);
	*exists = false;
	if ((v = kv_get(k->st, kb)) == NULL)
		return store_crank_status(k->st);
	*reach = strtoll(v, &end, 10);
	*recog = *end == ',' ? strtoll(end + 1, &end, 10) : -1;
	*exists = *end == '\0' && *reach >= 0 && *recog >= 0;
	free(v);
	return *exists ? STORE_OK : count_broken(k, kref, "is unreadable");
}

static int
adjust_object(struct kernel *k, const char *kref, int delta, int how)
{
	int64_t	 reach, recog;
	bool	 exists;
	char	 kb[64];
	int	 rc;

	if ((how & KREF_EXPORT) != 0)
		return STORE_OK;	/* the owner's entry does not count */
	if ((rc = object_count(k, kref, &reach, &recog, &exists)) !=
	    STORE_OK || !exists)
		return rc;	/* SwingSet: a deleted object is not counted */
	if ((how & KREF_RECOGNIZE) == 0)
		reach += delta;
	if ((how & KREF_REACHABLE) == 0)
		recog += delta;
	if (reach < 0 || recog < 0 || reach > recog)
		return count_broken(k, kref, delta < 0 ? "went below zero" :
		    "says reachable but not recognizable");
	if ((reach == 0 || recog == 0) && (rc = maybe_free(k, kref)) !=
	    STORE_OK)
		return rc;
	snprintf(kb, sizeof(kb), "%s.refCount", kref);
	return kv_putf(k->st, kb, "%" PRId64 ",%" PRId64, reach, recog);
}

static int
adjust_promise(struct kernel *k, const char *kref, int delta)
{
	char	 kb[64], *v, *end;
	int64_t	 n;

	snprintf(kb, sizeof(kb), "%s.refCount", kref);
	if ((v = kv_get(k->st, kb)) == NULL)
		return store_crank_status(k->st) != STORE_OK ?
		    store_crank_status(k->st) :
		    count_broken(k, kref, "is missing");
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n + delta < 0) {
		free(v);
		return count_broken(k, kref, *end != '\0' ? "is unreadable" :
		    "went below zero");
	}
	free(v);
	n += delta;
	if (n == 0 && maybe_free(k, kref) != STORE_OK)
		return STORE_ENOMEM;
	return kv_putf(k->st, kb, "%" PRId64, n);
}

static int
adjust(struct kernel *k, const char *kref, int delta, int how)
{
	if (kref == NULL)
		return STORE_OK;
	if (is_object(kref))
		return adjust_object(k, kref, delta, how);
	if (is_promise(kref))
		return adjust_promise(k, kref, delta);
	return STORE_OK;		/* device nodes are not counted */
}

int
kref_incref(struct kernel *k, const char *kref, int how)
{
	return adjust(k, kref, 1, how);
}

int
kref_decref(struct kernel *k, const char *kref, int how)
{
	return adjust(k, kref, -1, how);
}

/* Each slot of capdata (borrowed), one count up or down. */
static int
adjust_slots(struct kernel *k, const json_t *capdata, int delta)
{
	const json_t	*slots = json_object_get(capdata, "slots");
	size_t		 i;
	int		 rc = STORE_OK;

	for (i = 0; rc == STORE_OK && i < json_array_size(slots); i++)
		rc = adjust(k, json_string_value(json_array_get(slots, i)),
		    delta, 0);
	return rc;
}

int
kref_incref_slots(struct kernel *k, const json_t *capdata)
{
	return adjust_slots(k, capdata, 1);
}

int
kref_decref_slots(struct kernel *k, const json_t *capdata)
{
	return adjust_slots(k, capdata, -1);
}

/* A queue event's references: a send's target, result and argument
 * slots; a notify's kpid; nothing in other events. */
static int
adjust_event(struct kernel *k, const json_t *item, int delta)
{
	const char	*type = json_string_value(json_object_get(item, "type"));
	const json_t	*msg = json_object_get(item, "msg");
	int		 rc;

	if (type != NULL && strcmp(type, "notify") == 0)
		return adjust(k, json_string_value(json_object_get(item,
		    "kpid")), delta, 0);
	if (type == NULL || strcmp(type, "send") != 0)
		return STORE_OK;
	rc = adjust(k, json_string_value(json_object_get(item, "target")),
	    delta, 0);
	if (rc == STORE_OK)
		rc = adjust(k, json_string_value(json_object_get(msg,
		    "result")), delta, 0);
	return rc == STORE_OK ? adjust_slots(k, json_object_get(msg,
	    "methargs"), delta) : rc;
}

int
kref_incref_event(struct kernel *k, const json_t *item)
{
	return adjust_event(k, item, 1);
}

int
kref_decref_event(struct kernel *k, const json_t *item)
{
	return adjust_event(k, item, -1);
}

/* Pin kref ("pinnedObjects", sorted, comma-joined): held for ever. */
int
kref_pin(struct kernel *k, const char *kref)
{
	char	*list = kv_get(k->st, "pinnedObjects"), *out;
	bool	 had;
	int	 rc;

	out = kst_csv_with(list, kref, &had);
	free(list);
	if (out == NULL)
		return STORE_ENOMEM;
	if (had) {
		free(out);
		return STORE_OK;
	}
	rc = kref_incref(k, kref, 0);
	if (rc == STORE_OK)
		rc = kv_put(k->st, "pinnedObjects", out);
	free(out);
	return rc;
}

/* Delete every key of promise kpid (it is unreferenced). */
static int
delete_promise(struct kernel *k, const char *kpid)
{
	static const char *const fields[] = { "state", "decider",
	    "subscribers", "policy", "queue.nextID", "data.body",
	    "data.slots", "refCount", "external" };
	char		 kb[96], *s;
	uint64_t	 n;
	int		 rc = STORE_OK;

	kstat_promise_gone(k, kpid);
	snprintf(kb, sizeof(kb), "%s.queue.nextID", kpid);
	s = kv_get(k->st, kb);
	n = s ? strtoull(s, NULL, 10) : 0;
	free(s);
	for (uint64_t i = 0; rc == STORE_OK && i < n; i++) {
		snprintf(kb, sizeof(kb), "%s.queue.%" PRIu64, kpid, i);
		rc = kv_del(k->st, kb);
	}
	for (size_t i = 0; rc == STORE_OK &&
	    i < sizeof(fields) / sizeof(fields[0]); i++) {
		snprintf(kb, sizeof(kb), "%s.%s", kpid, fields[i]);
		rc = kv_del(k->st, kb);
	}
	return rc;
}

/* A promise on the maybe-free list: deleted if nobody holds it, its
 * resolution data released first. */
static int
process_promise(struct kernel *k, const char *kpid)
{
	char	 kb[64], *count, *state;
	json_t	*data;
	int	 rc = STORE_OK;

	snprintf(kb, sizeof(kb), "%s.refCount", kpid);
	if ((count = kv_get(k->st, kb)) == NULL)
		return store_crank_status(k->st);	/* gone already */
	if (strcmp(count, "0") != 0) {
		free(count);
		return STORE_OK;
	}
	free(count);
	snprintf(kb, sizeof(kb), "%s.state", kpid);
	state = kv_get(k->st, kb);
	if (state != NULL && strcmp(state, "unresolved") != 0) {
		data = kp_data(k, kpid);
		rc = data ? kref_decref_slots(k, data) : STORE_ENOMEM;
		json_decref(data);
	}
	free(state);
	return rc == STORE_OK ? delete_promise(k, kpid) : rc;
}

static int
add_action(json_t *actions, const char *vat, const char *what,
    const char *kref)
{
	char	*a = NULL;
	int	 rc;

	if (asprintf(&a, "%s %s %s", vat, what, kref) < 0)
		return STORE_ENOMEM;
	rc = json_object_set_new(actions, a, json_true()) == 0 ? STORE_OK :
	    STORE_ENOMEM;
	free(a);
	return rc;
}

/* Delete object kref's records (it is unreachable and ownerless, or its
 * owner retired it). */
int
kref_delete_object(struct kernel *k, const char *kref)
{
	char	kb[64];
	int	rc;

	kstat_add(k, KS_KERNEL_OBJECTS, -1);
	snprintf(kb, sizeof(kb), "%s.owner", kref);
	if ((rc = kv_del(k->st, kb)) != STORE_OK)
		return rc;
	snprintf(kb, sizeof(kb), "%s.refCount", kref);
	return kv_del(k->st, kb);
}

/* An ownerless object nobody can reach, or one its owner retired: every
 * live vat still importing it is told to retire it (in vat-ID order),
 * and it is deleted. */
static int
retire_object(struct kernel *k, const char *kref, json_t *actions)
{
	char	 kb[192], *have;
	int	 rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < k->vats.n; i++) {
		struct kvat *v = k->vats.v[i];

		if (!vats_alive(&k->vats, v->id))
			continue;
		snprintf(kb, sizeof(kb), "%s.c.%s", v->id, kref);
		if ((have = kv_get(k->st, kb)) != NULL)
			rc = add_action(actions, v->id, "retireImport", kref);
		free(have);
	}
	return rc == STORE_OK ? kref_delete_object(k, kref) : rc;
}

/* A terminated owner's entry for kref goes now (the abandonment its
 * cleanup would do): the object is ownerless from here. */
static int
abandon_now(struct kernel *k, const char *owner, const char *kref)
{
	char	 kb[192], *entry;
	int	 rc;

	snprintf(kb, sizeof(kb), "%s.owner", kref);
	if ((rc = kv_del(k->st, kb)) != STORE_OK)
		return rc;
	snprintf(kb, sizeof(kb), "%s.c.%s", owner, kref);
	entry = kv_get(k->st, kb);
	if ((rc = kv_del(k->st, kb)) == STORE_OK && entry != NULL &&
	    strlen(entry) > 2) {
		snprintf(kb, sizeof(kb), "%s.c.%s", owner, entry + 2);
		rc = kv_del(k->st, kb);
	}
	free(entry);
	return rc;
}

/* The objects a retireExports syscall named (SwingSet's
 * retireKernelObjects): each is retired from its importers and deleted;
 * the retireImport actions join gcActions now. */
int
kref_retire_objects(struct kernel *k, const json_t *krefs)
{
	json_t	*actions = json_object();
	size_t	 i;
	int	 rc = actions ? STORE_OK : STORE_ENOMEM;

	for (i = 0; rc == STORE_OK && i < json_array_size(krefs); i++)
		rc = retire_object(k, json_string_value(json_array_get(krefs,
		    i)), actions);
	if (rc == STORE_OK && json_object_size(actions) > 0)
		rc = kgc_add_actions(k, actions);
	json_decref(actions);
	return rc;
}

/* owner gives up its export kref (abandonExports; SwingSet's
 * orphanKernelObject): no owner and no entry from now, and collected
 * once nobody holds it. */
int
kref_orphan(struct kernel *k, const char *owner, const char *kref)
{
	int rc = abandon_now(k, owner, kref);

	return rc == STORE_OK ? maybe_free(k, kref) : rc;
}

/*
 * An object on the maybe-free list (SwingSet's processRefcounts): nobody
 * reaches it any more.  Its live owner is told to drop it (when it still
 * says reachable) and, if nobody recognizes it either, to retire it; an
 * ownerless one is retired from its importers and deleted.
 */
static int
process_object(struct kernel *k, const char *kref, json_t *actions)
{
	int64_t	 reach, recog;
	bool	 exists;
	char	 kb[192], *owner, *entry;
	int	 rc = object_count(k, kref, &reach, &recog, &exists);

	if (rc != STORE_OK || !exists || reach != 0)
		return rc;
	snprintf(kb, sizeof(kb), "%s.owner", kref);
	owner = kv_get(k->st, kb);
	if (owner != NULL && !vats_alive(&k->vats, owner)) {
		rc = abandon_now(k, owner, kref);
		free(owner);
		owner = NULL;
	} else if (owner != NULL) {
		snprintf(kb, sizeof(kb), "%s.c.%s", owner, kref);
		entry = kv_get(k->st, kb);
		if (entry != NULL && entry[0] == 'R')
			rc = add_action(actions, owner, "dropExport", kref);
		if (rc == STORE_OK && recog == 0)
			rc = add_action(actions, owner, "retireExport", kref);
		free(entry);
	}
	if (rc == STORE_OK && owner == NULL)
		rc = recog > 0 ? retire_object(k, kref, actions) :
		    kref_delete_object(k, kref);
	free(owner);
	return rc;
}

/*
 * SwingSet's processRefcounts, at the end of every crank: each kref on
 * the maybe-free list, in order, once (krefs the pass frees join the
 * list's end and are examined too); the GC actions found join the
 * persisted set (gc.c).  Then the list is empty.
 */
int
kref_process(struct kernel *k)
{
	json_t	*actions = json_object();
	int	 rc = actions ? STORE_OK : STORE_ENOMEM;

	for (size_t i = 0; rc == STORE_OK && i < json_array_size(k->maybe_free);
	    i++) {
		const char *kref = json_string_value(json_array_get(
		    k->maybe_free, i));

		rc = is_promise(kref) ? process_promise(k, kref) :
		    process_object(k, kref, actions);
	}
	if (rc == STORE_OK && json_object_size(actions) > 0)
		rc = kgc_add_actions(k, actions);
	json_decref(actions);
	kref_forget(k);
	return rc;
}

/* An aborted crank's maybe-free list goes with it. */
void
kref_forget(struct kernel *k)
{
	json_decref(k->maybe_free);
	json_decref(k->maybe_free_set);
	k->maybe_free = NULL;
	k->maybe_free_set = NULL;
}
