/*
 * kvat.c — the vat table: which vats exist and whether they are alive
 * (from the kv state), loading it at start, adding created vats, dropping
 * rolled-back ones, and terminating a vat (its promises rejected, the
 * vat-admin vat told).  A vat's worker — starting it, restoring it from
 * a heap snapshot, replaying its transcript — is kworker.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel.h"
#include "protocol/log.h"

struct kvat *
kvat_find(struct kernel *k, const char *vat_id)
{
	for (size_t i = 0; i < k->nvats; i++)
		if (strcmp(k->vats[i]->id, vat_id) == 0)
			return k->vats[i];
	return NULL;
}

/* The position of vat_id in the table (ID order), or 0. */
size_t
kvat_index(struct kernel *k, const char *vat_id)
{
	for (size_t i = 0; i < k->nvats; i++)
		if (strcmp(k->vats[i]->id, vat_id) == 0)
			return i;
	return 0;
}

bool
kvat_alive(struct kernel *k, const char *vat_id)
{
	struct kvat *v = kvat_find(k, vat_id);

	return v != NULL && v->state != KVAT_TERMINATED;
}

static bool
in_array(const json_t *arr, const char *s)
{
	size_t	 i;
	json_t	*x;

	json_array_foreach(arr, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x), s) == 0)
			return true;
	return false;
}

/* Fill in v for vat id, from its recorded options. */
static int
kvat_init(struct kernel *k, struct kvat *v, const char *id, const char *name,
    bool dynamic, const json_t *terminated)
{
	char	 key[64];
	json_t	*opts;

	if (strlen(id) >= sizeof(v->id))
		return -1;
	v->k = k;
	snprintf(v->id, sizeof(v->id), "%s", id);
	v->dynamic = dynamic;
	snprintf(key, sizeof(key), "%s.options", v->id);
	opts = kst_get_json(k, key);
	v->pipelining = json_is_true(json_object_get(opts, "enablePipelining"));
	if (json_is_string(json_object_get(opts, "meterID")))
		snprintf(v->meter_id, sizeof(v->meter_id), "%s",
		    json_string_value(json_object_get(opts, "meterID")));
	if (name == NULL)
		name = json_string_value(json_object_get(opts, "name"));
	v->name = strdup(name ? name : id);
	json_decref(opts);
	v->state = in_array(terminated, v->id) ? KVAT_TERMINATED :
	    KVAT_OFFLINE;
	v->tlen = transcript_length(k, v);
	return v->name ? 0 : -1;
}

/* Append a new entry to the table (which only grows: pointers stay). */
static struct kvat *
kvat_append(struct kernel *k)
{
	struct kvat **nv = realloc(k->vats, (k->nvats + 1) * sizeof(*nv));

	if (nv == NULL)
		return NULL;
	k->vats = nv;
	if ((nv[k->nvats] = calloc(1, sizeof(struct kvat))) == NULL)
		return NULL;
	return nv[k->nvats++];
}

static void
kvat_free(struct kvat *v)
{
	kvat_offline(v);
	free(v->name);
	free(v);
}

/*
 * Take v out of the table (its creation was rolled back).  Callers up the
 * stack may still hold v, so it is kept, workerless, until kernel_close.
 * false when the memory for that runs out: v stays in the table, offline.
 */
static bool
kvat_bury(struct kernel *k, struct kvat *v)
{
	struct kvat **g = realloc(k->graveyard, (k->ngraveyard + 1) *
	    sizeof(*g));

	kvat_offline(v);
	if (g == NULL) {
		log_error("kernel", "%s: out of memory dropping the entry",
		    v->id);
		return false;
	}
	k->graveyard = g;
	g[k->ngraveyard++] = v;
	return true;
}

/* Free the entries of rolled-back creations, once no caller can hold
 * them (between cranks, from the loop). */
void
kvat_empty_graveyard(struct kernel *k)
{
	for (size_t i = 0; i < k->ngraveyard; i++)
		kvat_free(k->graveyard[i]);
	k->ngraveyard = 0;
}

/* Free the table and the graveyard (kernel_close). */
void
kvat_free_all(struct kernel *k)
{
	for (size_t i = 0; k->vats != NULL && i < k->nvats; i++)
		if (k->vats[i] != NULL)		/* a load that failed midway */
			kvat_free(k->vats[i]);
	for (size_t i = 0; i < k->ngraveyard; i++)
		kvat_free(k->graveyard[i]);
	free(k->vats);
	free(k->graveyard);
}

/* A dynamic vat's entry, added to the table (its options recorded). */
struct kvat *
kvat_add(struct kernel *k, const char *vat_id)
{
	json_t		*term = kst_get_json(k, "vats.terminated");
	struct kvat	*v = kvat_append(k);

	if (v != NULL && kvat_init(k, v, vat_id, NULL, true, term) == -1) {
		k->nvats--;
		free(v->name);
		free(v);
		v = NULL;
	}
	json_decref(term);
	return v;
}

static int
cmp_vat_id(const void *a, const void *b)
{
	unsigned long x = strtoul(json_string_value(*(json_t *const *)a) + 1,
	    NULL, 10), y = strtoul(json_string_value(*(json_t *const *)b) + 1,
	    NULL, 10);

	return x < y ? -1 : x > y;
}

/* The dynamic vats, live and terminated, in creation (ID) order. */
static json_t *
dynamic_ids(struct kernel *k, const json_t *term)
{
	json_t	*ids = kst_get_json(k, "vat.dynamicIDs"), *x, **v;
	json_t	*out = json_array();
	size_t	 i, n = 0;

	if (!json_is_array(ids))
		ids = (json_decref(ids), json_array());
	/* a terminated vat that is not static (loaded already) is dynamic */
	json_array_foreach(term, i, x)
		if (json_is_string(x) && kvat_find(k, json_string_value(x)) ==
		    NULL && !in_array(ids, json_string_value(x)))
			json_array_append(ids, x);
	if ((v = calloc(json_array_size(ids) + 1, sizeof(json_t *))) == NULL) {
		json_decref(ids);
		json_decref(out);
		return NULL;
	}
	json_array_foreach(ids, i, x)
		if (v != NULL && json_is_string(x) && json_string_value(x)[0]
		    == 'v')
			v[n++] = x;
	if (v != NULL)
		qsort(v, n, sizeof(json_t *), cmp_vat_id);
	for (i = 0; v != NULL && i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(ids);
	return out;
}

int
kvat_load(struct kernel *k, char *errbuf, size_t errlen)
{
	json_t		*names = kst_get_json(k, "vat.names");
	json_t		*term = kst_get_json(k, "vats.terminated"), *x;
	json_t		*dyn = NULL;
	struct kvat	*v;
	char		 key[256], *id;
	size_t		 i;
	int		 rc = 0;

	json_array_foreach(names, i, x) {
		snprintf(key, sizeof(key), "vat.name.%s", json_string_value(x));
		id = kst_get(k, key);
		if (id == NULL || (v = kvat_append(k)) == NULL ||
		    kvat_init(k, v, id, json_string_value(x), false, term))
			rc = -1;
		free(id);
		if (rc == -1)
			break;
	}
	if (rc == 0 && (dyn = dynamic_ids(k, term)) == NULL)
		rc = -1;
	json_array_foreach(dyn, i, x)
		if (rc == 0 && kvat_add(k, json_string_value(x)) == NULL)
			rc = -1;
	if (rc == -1)
		snprintf(errbuf, errlen, "the vat table in the state is "
		    "damaged or memory ran out");
	json_decref(names);
	json_decref(term);
	json_decref(dyn);
	return rc;
}

static int
reject_if_decider(struct kernel *k, struct kvat *v, const char *clkey,
    const json_t *err)
{
	char	*kpid = kst_get(k, clkey), *dec = NULL, *d = NULL;
	int	 rc = STORE_OK;

	if (kpid != NULL && asprintf(&dec, "%s.decider", kpid) >= 0)
		d = kst_get(k, dec);
	if (d != NULL && strcmp(d, v->id) == 0)
		rc = kp_resolve(k, kpid, true, err);
	free(d);
	free(dec);
	free(kpid);
	return rc;
}

/* Reject every unresolved promise v decides, in c-list key order. */
static int
reject_decided(struct kernel *k, struct kvat *v)
{
	char		 prefix[48], *cur;
	const void	*next;
	size_t		 nlen, plen;
	json_t		*err = km_error("vat terminated");
	int		 rc = err ? STORE_OK : STORE_ENOMEM;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s.c.p", v->id);
	cur = strdup(prefix);
	while (rc == STORE_OK && cur != NULL) {
		if (store_next_key(k->st, STORE_KV, cur, strlen(cur), &next,
		    &nlen) != STORE_OK || nlen < plen ||
		    memcmp(next, prefix, plen) != 0)
			break;
		free(cur);
		if ((cur = strndup(next, nlen)) == NULL)
			rc = STORE_ENOMEM;
		else
			rc = reject_if_decider(k, v, cur, err);
	}
	free(cur);
	json_decref(err);
	return rc;
}

/*
 * After a crank abort: a vat marked terminated by the aborted crank is
 * alive again, and a dynamic vat the aborted crank added is gone again
 * (vats.terminated and vat.dynamicIDs are the truth).
 */
void
kvat_resync(struct kernel *k)
{
	json_t	*term = kst_get_json(k, "vats.terminated");
	json_t	*dyn = kst_get_json(k, "vat.dynamicIDs");
	size_t	 i, n = 0;

	for (i = 0; i < k->nvats; i++) {
		struct kvat *v = k->vats[i];

		if (v->dynamic && !in_array(term, v->id) &&
		    !in_array(dyn, v->id) && kvat_bury(k, v))
			continue;
		if (v->state == KVAT_TERMINATED && !in_array(term, v->id))
			v->state = KVAT_OFFLINE;
		k->vats[n++] = v;
	}
	k->nvats = n;
	json_decref(term);
	json_decref(dyn);
}

/*
 * Terminate v inside the open crank: record it in vats.terminated (and
 * out of vat.dynamicIDs), reject the promises it decides with "vat
 * terminated", tell the vat-admin vat (vatTerminated(id, reject, info),
 * info being kernel capdata), and let its worker go.  Its objects stay;
 * messages to them splat with "vat terminated".
 */
int
kvat_terminate(struct kernel *k, struct kvat *v, bool reject,
    const json_t *info)
{
	int rc = kcreate_list_edit(k, "vats.terminated", v->id, true);

	if (rc == STORE_OK && v->dynamic)
		rc = kcreate_list_edit(k, "vat.dynamicIDs", v->id, false);
	if (rc == STORE_OK)
		rc = reject_decided(k, v);
	if (rc == STORE_OK)
		rc = kcreate_notify_terminated(k, v->id, reject, info);
	if (rc == STORE_OK)
		rc = ksnap_forget(k, v->id);
	if (rc == STORE_OK) {
		kvat_offline(v);
		v->state = KVAT_TERMINATED;
	}
	return rc;
}
