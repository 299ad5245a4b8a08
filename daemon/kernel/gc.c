/*
 * gc.c — GC actions (kernel-semantics.md §9.3–§9.4): the persisted set
 * "gcActions" (a sorted JSON array of "<vatID> <type> <koN>", type
 * dropExport, retireExport or retireImport) that refcount.c adds to,
 * and SwingSet's processGCActionSet, which turns the first group still
 * worth doing into one delivery: dropExports, retireExports or
 * retireImports to one vat, its krefs sorted.  Groups go by vat ID (as
 * strings: v10 before v2), then by type in that priority.  An action
 * the state no longer calls for (the object is reachable again, or
 * gone, or the entry is gone) is dropped; a crank that only dropped
 * stale actions delivers nothing.
 *
 * The delivery's translation happens here too: retireExports deletes
 * the kernel object first; dropExports marks the owner's entry
 * unreachable ("_ o+N"); retireExports and retireImports delete the
 * receiver's entries.  GC deliveries are not metered.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

static const char *const types[] = { "dropExport", "retireExport",
    "retireImport" };

static json_t *
load_actions(struct kernel *k)
{
	json_t *a = kv_get_json(k->st, "gcActions");

	if (json_is_array(a))
		return a;
	json_decref(a);
	return json_array();
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Write the set (an object whose keys are the actions), sorted. */
static int
store_actions(struct kernel *k, const json_t *set)
{
	const char	**v = calloc(json_object_size(set) + 1, sizeof(*v));
	const char	 *key;
	json_t		 *val, *arr = json_array();
	size_t		  n = 0;
	int		  rc;

	if (v == NULL || arr == NULL) {
		free(v);
		json_decref(arr);
		return STORE_ENOMEM;
	}
	json_object_foreach((json_t *)(uintptr_t)set, key, val)
		v[n++] = key;
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	rc = kv_put_json(k->st, "gcActions", arr);
	json_decref(arr);
	free(v);
	return rc;
}

/* The persisted set as an object (keys = actions). */
static json_t *
action_set(struct kernel *k)
{
	json_t	*arr = load_actions(k), *set = json_object(), *e;
	size_t	 i;

	json_array_foreach(arr, i, e)
		if (set != NULL && json_is_string(e) && json_object_set_new(set,
		    json_string_value(e), json_true()) != 0) {
			json_decref(set);
			set = NULL;
		}
	json_decref(arr);
	return set;
}

/* The actions of set (keys) join the persisted set. */
int
kgc_add_actions(struct kernel *k, const json_t *add)
{
	json_t		*set = action_set(k), *val;
	const char	*key;
	int		 rc;

	if (set == NULL)
		return STORE_ENOMEM;
	json_object_foreach((json_t *)(uintptr_t)add, key, val)
		json_object_set_new(set, key, json_true());
	rc = store_actions(k, set);
	json_decref(set);
	return rc;
}

uint64_t
kernel_gc_actions_length(struct kernel *k)
{
	return kst_list_length(k, "gcActions");
}

/* Checked before every crank (store_actions writes an empty set as
 * "[]"). */
bool
kgc_pending(struct kernel *k)
{
	return kst_list_nonempty(k, "gcActions");
}

/* One action, parsed: its text, vat, type (index in types[]), kref. */
struct gc_action {
	const char	*text;
	char		*buf;		/* text split at spaces */
	const char	*vat, *kref;
	int		 type;
};

/* Parse "v3 dropExport ko21"; false when malformed. */
static bool
parse_action(const char *text, struct gc_action *a)
{
	char	*t;

	a->text = text;
	if ((a->buf = strdup(text)) == NULL)
		return false;
	a->vat = strtok(a->buf, " ");
	t = strtok(NULL, " ");
	a->kref = strtok(NULL, " ");
	a->type = -1;
	for (int i = 0; t != NULL && i < 3; i++)
		if (strcmp(t, types[i]) == 0)
			a->type = i;
	return a->vat != NULL && a->type >= 0 && a->kref != NULL &&
	    strtok(NULL, " ") == NULL && strncmp(a->kref, "ko", 2) == 0;
}

/* By vat ID (as strings), then type priority, then kref. */
static int
cmp_action(const void *x, const void *y)
{
	const struct gc_action *a = x, *b = y;
	int c = strcmp(a->vat, b->vat);

	if (c == 0)
		c = a->type - b->type;
	return c != 0 ? c : strcmp(a->kref, b->kref);
}

/* Whether the state still calls for action a (SwingSet's
 * shouldProcessAction). */
static bool
still_wanted(struct kernel *k, const struct gc_action *a)
{
	char	 kb[192], *entry, *count;
	long	 reach = 0, recog = 0;
	bool	 exists, ok;

	snprintf(kb, sizeof(kb), "%s.c.%s", a->vat, a->kref);
	entry = kv_get(k->st, kb);
	snprintf(kb, sizeof(kb), "%s.refCount", a->kref);
	count = kv_get(k->st, kb);
	exists = count != NULL;
	if (count != NULL && sscanf(count, "%ld,%ld", &reach, &recog) != 2)
		reach = recog = 1;	/* unreadable: never act on it */
	if (a->type == 0)
		ok = exists && reach == 0 && entry != NULL && entry[0] == 'R';
	else if (a->type == 1)
		ok = exists && reach == 0 && recog == 0 && entry != NULL;
	else
		ok = entry != NULL;
	free(entry);
	free(count);
	return ok;
}

/*
 * The group's krefs still wanted (sorted already), each action of the
 * group taken off set; *end is where the next group starts.
 */
static json_t *
take_group(struct kernel *k, struct gc_action *v, size_t n, size_t from,
    size_t *end, json_t *set)
{
	json_t	*krefs = json_array();
	size_t	 i;

	for (i = from; i < n && strcmp(v[i].vat, v[from].vat) == 0 &&
	    v[i].type == v[from].type; i++) {
		if (still_wanted(k, &v[i]))
			json_array_append_new(krefs, json_string(v[i].kref));
		json_object_del(set, v[i].text);
	}
	*end = i;
	return krefs;
}

/* The vat's refs for krefs, its entries changed as the delivery type
 * says (see the top of the file); a new array, or NULL. */
static json_t *
translate(struct kernel *k, struct kvat *v, int type, const json_t *krefs)
{
	json_t		*vrefs = json_array(), *e;
	char		 kb[192], *entry;
	const char	*kref;
	size_t		 i;
	int		 rc = STORE_OK;

	json_array_foreach(krefs, i, e) {
		kref = json_string_value(e);
		if (type == 1)
			rc = kref_delete_object(k, kref);
		snprintf(kb, sizeof(kb), "%s.c.%s", v->id, kref);
		entry = rc == STORE_OK ? kv_get(k->st, kb) : NULL;
		if (entry == NULL || strlen(entry) < 3) {
			free(entry);
			json_decref(vrefs);
			return NULL;
		}
		json_array_append_new(vrefs, json_string(entry + 2));
		if (type == 0)
			rc = kv_putf(k->st, kb, "_ %s", entry + 2);
		else
			rc = clist_forget(k, v, kref);
		free(entry);
		if (rc != STORE_OK) {
			json_decref(vrefs);
			return NULL;
		}
	}
	return vrefs;
}

static const char *const deliveries[] = { "dropExports", "retireExports",
    "retireImports" };

/* The delivery for one group (vat dead: none). */
static int
gc_delivery(struct kernel *k, const struct gc_action *a, json_t *krefs,
    struct kvat **vat, json_t **vdo)
{
	struct kvat	*v = vats_find(&k->vats, a->vat);
	json_t		*vrefs;

	if (v == NULL || !vats_alive(&k->vats, a->vat))
		return STORE_OK;	/* SwingSet skips a dead vat's */
	if ((vrefs = translate(k, v, a->type, krefs)) == NULL)
		return store_crank_status(k->st) != STORE_OK ?
		    store_crank_status(k->st) : STORE_ESTATE;
	if ((*vdo = json_pack("[s, o]", deliveries[a->type], vrefs)) == NULL)
		return STORE_ENOMEM;
	*vat = v;
	return STORE_OK;
}

/*
 * SwingSet's processGCActionSet, inside the open crank: the first group
 * with work left becomes *vat / *vdo (both NULL when there is none: the
 * crank only dropped stale actions, or the vat is dead).
 */
int
kgc_next(struct kernel *k, struct kvat **vat, json_t **vdo)
{
	json_t		*arr = load_actions(k), *set = action_set(k), *krefs, *e;
	struct gc_action *v = calloc(json_array_size(arr) + 1, sizeof(*v));
	size_t		 n = 0, i, end;
	int		 rc = STORE_OK;

	*vat = NULL;
	*vdo = NULL;
	if (v == NULL || set == NULL)
		rc = STORE_ENOMEM;
	json_array_foreach(arr, i, e) {
		if (rc != STORE_OK)
			break;
		if (json_is_string(e) && parse_action(json_string_value(e),
		    &v[n]))
			n++;
		else if (json_is_string(e) && v[n].buf == NULL)
			rc = STORE_ENOMEM;
		else {		/* never acted on, and not kept */
			free(v[n].buf);
			v[n].buf = NULL;
			if (json_is_string(e))
				json_object_del(set, json_string_value(e));
		}
	}
	if (rc == STORE_OK)
		qsort(v, n, sizeof(*v), cmp_action);
	for (i = 0; rc == STORE_OK && i < n; i = end) {
		if ((krefs = take_group(k, v, n, i, &end, set)) == NULL) {
			rc = STORE_ENOMEM;
			break;
		}
		if (json_array_size(krefs) > 0) {
			if ((rc = store_actions(k, set)) == STORE_OK)
				rc = gc_delivery(k, &v[i], krefs, vat, vdo);
			json_decref(krefs);
			goto out;
		}
		json_decref(krefs);
	}
	if (rc == STORE_OK)
		rc = store_actions(k, set);
out:
	for (i = 0; v != NULL && i < n; i++)
		free(v[i].buf);
	free(v);
	json_decref(set);
	json_decref(arr);
	return rc;
}
