/*
 * clist.c — each vat's c-list: the two-way table between the refs a vat
 * uses (vrefs: o+N, p-N, …) and kernel refs (ko, kp, kd), with SwingSet's
 * allocation directions (kernel-semantics.md §2–§3).  A vat may introduce
 * only what it allocates itself (o+, p+); a kernel-allocated vref (o-, p-,
 * d-) it names must already be in its c-list.  Anything else is an
 * illegal reference, which the caller turns into the vat's termination.
 *
 * Keys: vN.c.<vref> = <kref>;  vN.c.<kref> = "R <vref>".
 * Import counters: vN.o.nextID (50), vN.p.nextID (60), vN.d.nextID (70).
 *
 * Every entry holds a reference count (refcount.c) as SwingSet's do: an
 * import of an object counts as reachable and recognizable while its
 * flag is R, a promise's entry counts either way, an object's owner's
 * entry does not count.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

/* A well-formed vref: [opd][+-] then [0-9a-z/:]+ ; no separators. */
static bool
vref_valid(const char *vref)
{
	size_t n = strlen(vref);

	if (n < 3 || n > 128 || strchr("opd", vref[0]) == NULL ||
	    (vref[1] != '+' && vref[1] != '-'))
		return false;
	for (size_t i = 2; i < n; i++)
		if (!isdigit((unsigned char)vref[i]) &&
		    !islower((unsigned char)vref[i]) && vref[i] != '/' &&
		    vref[i] != ':')
			return false;
	return true;
}

static int
clist_add(struct kernel *k, struct kvat *v, const char *vref,
    const char *kref)
{
	char	key[192];
	int	rc;

	kstat_add(k, KS_CLIST_ENTRIES, 1);
	snprintf(key, sizeof(key), "%s.c.%s", v->id, vref);
	if ((rc = kv_put(k->st, key, kref)) != STORE_OK)
		return rc;
	snprintf(key, sizeof(key), "%s.c.%s", v->id, kref);
	return kv_putf(k->st, key, "R %s", vref);
}

/* A new kernel object or promise for an export the vat just named. */
static int
clist_export(struct kernel *k, struct kvat *v, const char *vref, char **kref)
{
	char		 key[64], *kp = NULL;
	uint64_t	 n;
	int		 rc;

	if (vref[0] == 'o') {
		if ((rc = kv_alloc(k->st, "ko.nextID", 20, &n)) != STORE_OK ||
		    asprintf(kref, "ko%" PRIu64, n) < 0)
			return rc != STORE_OK ? rc : STORE_ENOMEM;
		kstat_add(k, KS_KERNEL_OBJECTS, 1);
		snprintf(key, sizeof(key), "%s.owner", *kref);
		rc = kv_put(k->st, key, v->id);
		snprintf(key, sizeof(key), "%s.refCount", *kref);
		if (rc == STORE_OK)
			rc = kv_put(k->st, key, "0,0");
	} else {
		rc = kp_new(k, v->id, &kp);
		*kref = kp;
	}
	if (rc == STORE_OK)
		rc = kref_incref(k, *kref, KREF_EXPORT);
	if (rc == STORE_OK)
		rc = clist_add(k, v, vref, *kref);
	return rc;
}

/* The vat names its export again: it is reachable ("R") once more if
 * a dropExports said otherwise (SwingSet's setReachable). */
static int
export_reachable(struct kernel *k, struct kvat *v, const char *kref)
{
	char	 key[192], *val;
	int	 rc = STORE_OK;

	snprintf(key, sizeof(key), "%s.c.%s", v->id, kref);
	if ((val = kv_get(k->st, key)) != NULL && val[0] == '_')
		rc = kv_putf(k->st, key, "R %s", val + 2);
	free(val);
	return rc;
}

/* The vat names an import: one it said it dropped (dropImports: "_")
 * is out of its reach, and naming it is illegal (1), as in SwingSet. */
static int
import_reachable(struct kernel *k, struct kvat *v, const char *kref)
{
	char	 key[192], *val;
	bool	 dropped;

	snprintf(key, sizeof(key), "%s.c.%s", v->id, kref);
	if ((val = kv_get(k->st, key)) == NULL)
		return store_crank_status(k->st);
	dropped = val[0] == '_';
	free(val);
	return dropped ? 1 : STORE_OK;
}

/*
 * vref (from the vat) -> kref (malloc'd into *kref).  Returns STORE_OK,
 * a store error, or 1 when the reference is illegal for this vat.
 */
int
clist_to_kref(struct kernel *k, struct kvat *v, const char *vref,
    bool may_export, char **kref)
{
	char	key[192];

	*kref = NULL;
	if (!vref_valid(vref))
		return 1;
	snprintf(key, sizeof(key), "%s.c.%s", v->id, vref);
	if ((*kref = kv_get(k->st, key)) != NULL) {
		int rc = vref[1] == '+' ? export_reachable(k, v, *kref) :
		    import_reachable(k, v, *kref);

		if (rc != STORE_OK) {
			free(*kref);
			*kref = NULL;
		}
		return rc;
	}
	if (vref[1] != '+' || vref[0] == 'd' || !may_export)
		return 1;
	return clist_export(k, v, vref, kref);
}

/* kref -> the vat's vref (malloc'd), importing it if it is new here. */
int
clist_to_vref(struct kernel *k, struct kvat *v, const char *kref, char **vref)
{
	const char	*counter;
	char		 key[192], *val;
	uint64_t	 first, n;
	int		 rc;

	snprintf(key, sizeof(key), "%s.c.%s", v->id, kref);
	if ((val = kv_get(k->st, key)) != NULL) {
		*vref = strdup(val + 2);	/* skip "R " */
		rc = *vref ? STORE_OK : STORE_ENOMEM;
		/* an import it dropped is reachable again; so is an export
		 * the kernel dropped that something now sends it (only the
		 * host can: SwingSet would panic) */
		if (rc == STORE_OK && val[0] == '_' &&
		    (rc = kv_putf(k->st, key, "R %s", *vref)) == STORE_OK &&
		    val[3] == '-')
			rc = kref_incref(k, kref, KREF_REACHABLE);
		free(val);
		return rc;
	}
	if (strncmp(kref, "ko", 2) == 0)
		counter = "o", first = 50;
	else if (strncmp(kref, "kp", 2) == 0)
		counter = "p", first = 60;
	else
		counter = "d", first = 70;
	snprintf(key, sizeof(key), "%s.%s.nextID", v->id, counter);
	if ((rc = kv_alloc(k->st, key, first, &n)) != STORE_OK)
		return rc;
	if (asprintf(vref, "%s-%" PRIu64, counter, n) < 0)
		return STORE_ENOMEM;
	if ((rc = kref_incref(k, kref, 0)) != STORE_OK)
		return rc;
	return clist_add(k, v, *vref, kref);
}

/* Drop the vat's entries for kref (both directions), if any. */
int
clist_forget(struct kernel *k, struct kvat *v, const char *kref)
{
	return clist_forget_id(k, v->id, kref);
}

/* The same, for a vat named by its ID (one being cleaned up). */
int
clist_forget_id(struct kernel *k, const char *vid, const char *kref)
{
	char	key[192], *val;
	int	rc;

	snprintf(key, sizeof(key), "%s.c.%s", vid, kref);
	if ((val = kv_get(k->st, key)) == NULL)
		return STORE_OK;
	kstat_add(k, KS_CLIST_ENTRIES, -1);
	/* an import that is R held both counts, one that is _ only the
	 * recognizable one; an export holds a promise's count only */
	rc = kref_decref(k, kref, strlen(val) > 3 && val[3] == '+' ?
	    KREF_EXPORT : val[0] == 'R' ? 0 : KREF_RECOGNIZE);
	if (rc == STORE_OK)
		rc = kv_del(k->st, key);
	snprintf(key, sizeof(key), "%s.c.%s", vid, val + 2);
	if (rc == STORE_OK)
		rc = kv_del(k->st, key);
	free(val);
	return rc;
}

/*
 * The objects among a device call's argument slots (capdata, kernel
 * refs) join device dev's c-list as imports (dN.c.o-N = koM, dN.c.koM =
 * o-N; counter dN.o.nextID from 10), each holding both counts for ever,
 * as SwingSet's device c-lists do: a device never says it dropped one.
 * Native devices keep krefs in their state; the entries are what SwingSet
 * would have, so the counts agree.
 */
int
clist_device_import(struct kernel *k, const char *dev, const json_t *cd)
{
	const json_t	*slots = json_object_get(cd, "slots");
	const char	*kref;
	char		 key[192], *have;
	uint64_t	 n;
	int		 rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < json_array_size(slots); i++) {
		kref = json_string_value(json_array_get(slots, i));
		if (kref == NULL || strncmp(kref, "ko", 2) != 0)
			continue;
		snprintf(key, sizeof(key), "%s.c.%s", dev, kref);
		if ((have = kv_get(k->st, key)) != NULL) {
			free(have);
			continue;
		}
		snprintf(key, sizeof(key), "%s.o.nextID", dev);
		if ((rc = kv_alloc(k->st, key, 10, &n)) != STORE_OK ||
		    (rc = kref_incref(k, kref, 0)) != STORE_OK)
			break;
		snprintf(key, sizeof(key), "%s.c.o-%" PRIu64, dev, n);
		if ((rc = kv_put(k->st, key, kref)) != STORE_OK)
			break;
		snprintf(key, sizeof(key), "%s.c.%s", dev, kref);
		rc = kv_putf(k->st, key, "o-%" PRIu64, n);
	}
	return rc;
}

static json_t *
map_capdata(struct kernel *k, struct kvat *v, const json_t *cd, bool to_kernel,
    bool *ok)
{
	json_t		*slots = json_object_get(cd, "slots"), *out, *s;
	json_t		*bodyv = json_object_get(cd, "body");
	const char	*body = json_string_value(bodyv);
	char		*ref;
	size_t		 i;
	int		 rc;

	*ok = false;
	if (body == NULL || !json_is_array(slots))
		return NULL;
	out = json_array();
	json_array_foreach(slots, i, s) {
		if (!ksys_ref_ok(s))
			goto fail;
		rc = to_kernel ? clist_to_kref(k, v, json_string_value(s),
		    true, &ref) : clist_to_vref(k, v, json_string_value(s),
		    &ref);
		if (rc != STORE_OK)
			goto fail;
		json_array_append_new(out, json_string(ref));
		free(ref);
	}
	*ok = true;
	return json_pack("{s:s%, s:o}", "body", body,
	    json_string_length(bodyv), "slots", out);
fail:
	json_decref(out);
	return NULL;
}

/* Capdata from the vat, slots to krefs; *ok false on an illegal slot. */
json_t *
clist_capdata_to_kernel(struct kernel *k, struct kvat *v, const json_t *cd,
    bool *ok)
{
	return map_capdata(k, v, cd, true, ok);
}

/* Capdata for the vat, slots to vrefs (imports allocated as needed). */
json_t *
clist_capdata_to_vat(struct kernel *k, struct kvat *v, const json_t *cd)
{
	bool ok;

	return map_capdata(k, v, cd, false, &ok);
}
