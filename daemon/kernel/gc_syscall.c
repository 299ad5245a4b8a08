/*
 * gc_syscall.c — the GC syscalls a vat makes when it brings out its
 * dead (kernel-semantics.md §9.5, SwingSet's vatTranslator.js and
 * kernelSyscall.js): dropImports, retireImports, retireExports and
 * abandonExports.  Each names object vrefs that must be in the vat's
 * c-list in the state the syscall needs; anything else is an illegal
 * syscall (the crank aborts and the vat is terminated, so what the
 * syscall did to earlier vrefs of the same list is undone with it).
 *
 *   dropImports [o-N…]     the import's flag goes "_": its reachable
 *                          count falls by one (at 0 the owner will be
 *                          asked to drop it)
 *   retireImports [o-N…]   an import already "_" leaves the c-list: its
 *                          recognizable count falls by one
 *   retireExports [o+N…]   an export already "_" leaves the c-list, and
 *                          the object is retired: every vat importing it
 *                          gets a retireImport action, and it is deleted
 *   abandonExports [o+N…]  the vat gives up an export: the object loses
 *                          its owner and the entry (messages to it now
 *                          splat), and is collected when nobody holds it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

enum gc_op { GC_DROP_IMPORTS, GC_RETIRE_IMPORTS, GC_RETIRE_EXPORTS,
    GC_ABANDON_EXPORTS };

static const char *const gc_names[] = { "dropImports", "retireImports",
    "retireExports", "abandonExports" };

/* One vref of the list, found in the vat's c-list. */
struct gc_ref {
	const char	*vref;
	char		*kref;		/* vN.c.<vref> */
	char		*entry;		/* vN.c.<kref>: "R o-5" or "_ o-5" */
};

static void
gc_ref_free(struct gc_ref *r)
{
	free(r->kref);
	free(r->entry);
}

/* Whether vref is an object vref the syscall may name: imports for the
 * first two, exports for the others. */
static bool
gc_vref_ok(enum gc_op op, const json_t *ref)
{
	const char *s = json_string_value(ref);

	if (!ksys_ref_ok(ref) || json_string_length(ref) > 128)
		return false;
	if (op == GC_DROP_IMPORTS || op == GC_RETIRE_IMPORTS)
		return strncmp(s, "o-", 2) == 0;
	return strncmp(s, "o+", 2) == 0;
}

/* Look the vref up in both directions of v's c-list.  STORE_OK with
 * r->entry NULL when it is not there. */
static int
gc_lookup(struct kernel *k, struct kvat *v, const char *vref,
    struct gc_ref *r)
{
	char key[192];

	memset(r, 0, sizeof(*r));
	r->vref = vref;
	snprintf(key, sizeof(key), "%s.c.%s", v->id, vref);
	if ((r->kref = kv_get(k->st, key)) == NULL)
		return store_crank_status(k->st);
	snprintf(key, sizeof(key), "%s.c.%s", v->id, r->kref);
	if ((r->entry = kv_get(k->st, key)) == NULL)
		return store_crank_status(k->st);
	return STORE_OK;
}

/* dropImports: the import's flag "_", its reachable count one less. */
static int
gc_drop_import(struct kernel *k, struct kvat *v, const struct gc_ref *r)
{
	char	key[192];
	int	rc;

	if (r->entry[0] != 'R')
		return STORE_OK;
	snprintf(key, sizeof(key), "%s.c.%s", v->id, r->kref);
	if ((rc = kv_putf(k->st, key, "_ %s", r->vref)) != STORE_OK)
		return rc;
	return kref_decref(k, r->kref, KREF_REACHABLE);
}

/* One vref's work; NULL when done, else the illegal syscall's reason
 * (static text).  *rc carries a store failure. */
static const char *
gc_one(struct kernel *k, struct kvat *v, enum gc_op op,
    const struct gc_ref *r, json_t *retired, int *rc)
{
	char key[64], *owner;

	*rc = STORE_OK;
	switch (op) {
	case GC_DROP_IMPORTS:
		*rc = gc_drop_import(k, v, r);
		return NULL;
	case GC_RETIRE_IMPORTS:
	case GC_RETIRE_EXPORTS:
		if (r->entry[0] == 'R')
			return "is still reachable";
		*rc = clist_forget(k, v, r->kref);
		if (*rc == STORE_OK && op == GC_RETIRE_EXPORTS &&
		    json_array_append_new(retired, json_string(r->kref)) != 0)
			*rc = STORE_ENOMEM;
		return NULL;
	case GC_ABANDON_EXPORTS:
		snprintf(key, sizeof(key), "%s.owner", r->kref);
		owner = kv_get(k->st, key);
		if (owner == NULL || strcmp(owner, v->id) != 0) {
			free(owner);
			*rc = store_crank_status(k->st);
			return "is not an object it owns";
		}
		free(owner);
		*rc = kref_orphan(k, v->id, r->kref);
		return NULL;
	}
	return "is not a GC syscall";
}

static json_t *
gc_list(struct kernel *k, struct kvat *v, enum gc_op op, const json_t *list,
    json_t *retired)
{
	struct gc_ref	 r;
	const json_t	*ref;
	const char	*why;
	size_t		 i;
	int		 rc;

	json_array_foreach(list, i, ref) {
		if (!gc_vref_ok(op, ref))
			return ksys_illegal(k, v, "%s: not a vref it may name "
			    "there", gc_names[op]);
		if ((rc = gc_lookup(k, v, json_string_value(ref), &r)) !=
		    STORE_OK) {
			gc_ref_free(&r);
			return ksys_store_failed(k, rc);
		}
		why = r.entry == NULL ? "is not in its c-list" :
		    gc_one(k, v, op, &r, retired, &rc);
		gc_ref_free(&r);
		if (rc != STORE_OK)
			return ksys_store_failed(k, rc);
		if (why != NULL)
			return ksys_illegal(k, v, "%s: %s %s", gc_names[op],
			    json_string_value(ref), why);
	}
	return NULL;
}

json_t *
ksys_gc(struct kernel *k, struct kvat *v, json_t *vso)
{
	const json_t	*list = json_array_get(vso, 1);
	const char	*tag = json_string_value(json_array_get(vso, 0));
	json_t		*retired, *err;
	enum gc_op	 op;
	int		 rc;

	/* syscall.c sends only the four names here */
	for (op = GC_DROP_IMPORTS; op < GC_ABANDON_EXPORTS; op++)
		if (strcmp(tag, gc_names[op]) == 0)
			break;
	if (json_array_size(vso) != 2 || !json_is_array(list))
		return ksys_illegal(k, v, "%s: malformed", tag);
	if ((retired = json_array()) == NULL)
		return ksys_store_failed(k, STORE_ENOMEM);
	if ((err = gc_list(k, v, op, list, retired)) != NULL) {
		json_decref(retired);
		return err;
	}
	rc = json_array_size(retired) > 0 ?
	    kref_retire_objects(k, retired) : STORE_OK;
	json_decref(retired);
	return rc == STORE_OK ? ksys_ok(NULL) : ksys_store_failed(k, rc);
}
