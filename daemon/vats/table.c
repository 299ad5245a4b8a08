/*
 * table.c — the vat table: which vats exist and whether they are alive
 * (from the kv state: vat.names, vat.dynamicIDs, vats.terminated, each
 * vat's vN.options), loading it at start, adding created vats, dropping
 * rolled-back ones.  Terminating a vat is the kernel's (it changes kernel
 * state); a vat's worker is online.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/vats/vats.h"
#include "daemon/vats/vats_impl.h"
#include "protocol/log.h"

struct kvat *
vats_find(struct vats *vs, const char *vat_id)
{
	for (size_t i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i]->id, vat_id) == 0)
			return vs->v[i];
	return NULL;
}

/* The position of vat_id in the table (ID order), or 0. */
size_t
vats_index(struct vats *vs, const char *vat_id)
{
	for (size_t i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i]->id, vat_id) == 0)
			return i;
	return 0;
}

bool
vats_alive(struct vats *vs, const char *vat_id)
{
	struct kvat *v = vats_find(vs, vat_id);

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
kvat_init(struct vats *vs, struct kvat *v, const char *id, const char *name,
    bool dynamic, const json_t *terminated)
{
	char	 key[64];
	json_t	*opts;

	if (strlen(id) >= sizeof(v->id))
		return -1;
	v->vs = vs;
	snprintf(v->id, sizeof(v->id), "%s", id);
	v->dynamic = dynamic;
	snprintf(key, sizeof(key), "%s.options", v->id);
	opts = kv_get_json(vs->st, key);
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
	v->tlen = transcript_length(v);
	return v->name ? 0 : -1;
}

/* Append a new entry to the table (which only grows: pointers stay). */
static struct kvat *
kvat_append(struct vats *vs)
{
	struct kvat **nv = realloc(vs->v, (vs->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return NULL;
	vs->v = nv;
	if ((nv[vs->n] = calloc(1, sizeof(struct kvat))) == NULL)
		return NULL;
	return nv[vs->n++];
}

static void
kvat_free(struct kvat *v)
{
	vat_offline(v);
	free(v->name);
	free(v);
}

/*
 * Take v out of the table (its creation was rolled back).  Callers up the
 * stack may still hold v, so it is kept, workerless, until kernel_close.
 * false when the memory for that runs out: v stays in the table, offline.
 */
static bool
kvat_bury(struct vats *vs, struct kvat *v)
{
	struct kvat **g = realloc(vs->graveyard, (vs->ngraveyard + 1) *
	    sizeof(*g));

	vat_offline(v);
	if (g == NULL) {
		log_error("kernel", "%s: out of memory dropping the entry",
		    v->id);
		return false;
	}
	vs->graveyard = g;
	g[vs->ngraveyard++] = v;
	return true;
}

/* Free the entries of rolled-back creations, once no caller can hold
 * them (between cranks, from the loop). */
void
vats_empty_graveyard(struct vats *vs)
{
	for (size_t i = 0; i < vs->ngraveyard; i++)
		kvat_free(vs->graveyard[i]);
	vs->ngraveyard = 0;
}

/* Free the table and the graveyard. */
static void
vats_free_all(struct vats *vs)
{
	for (size_t i = 0; vs->v != NULL && i < vs->n; i++)
		if (vs->v[i] != NULL)		/* a load that failed midway */
			kvat_free(vs->v[i]);
	for (size_t i = 0; i < vs->ngraveyard; i++)
		kvat_free(vs->graveyard[i]);
	free(vs->v);
	free(vs->graveyard);
}

/* A dynamic vat's entry, added to the table (its options recorded). */
struct kvat *
vats_add(struct vats *vs, const char *vat_id)
{
	json_t		*term = kv_get_json(vs->st, "vats.terminated");
	struct kvat	*v = kvat_append(vs);

	if (v != NULL && kvat_init(vs, v, vat_id, NULL, true, term) == -1) {
		vs->n--;
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
dynamic_ids(struct vats *vs, const json_t *term)
{
	json_t	*ids = kv_get_json(vs->st, "vat.dynamicIDs"), *x, **v;
	json_t	*out = json_array();
	size_t	 i, n = 0;

	if (!json_is_array(ids))
		ids = (json_decref(ids), json_array());
	/* a terminated vat that is not static (loaded already) is dynamic */
	json_array_foreach(term, i, x)
		if (json_is_string(x) && vats_find(vs, json_string_value(x)) ==
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

static int
vats_load(struct vats *vs, char *errbuf, size_t errlen)
{
	json_t		*names = kv_get_json(vs->st, "vat.names");
	json_t		*term = kv_get_json(vs->st, "vats.terminated"), *x;
	json_t		*dyn = NULL;
	struct kvat	*v;
	char		 key[256], *id;
	size_t		 i;
	int		 rc = 0;

	json_array_foreach(names, i, x) {
		snprintf(key, sizeof(key), "vat.name.%s", json_string_value(x));
		id = kv_get(vs->st, key);
		if (id == NULL || (v = kvat_append(vs)) == NULL ||
		    kvat_init(vs, v, id, json_string_value(x), false, term))
			rc = -1;
		free(id);
		if (rc == -1)
			break;
	}
	if (rc == 0 && (dyn = dynamic_ids(vs, term)) == NULL)
		rc = -1;
	json_array_foreach(dyn, i, x)
		if (rc == 0 && vats_add(vs, json_string_value(x)) == NULL)
			rc = -1;
	if (rc == -1)
		snprintf(errbuf, errlen, "the vat table in the state is "
		    "damaged or memory ran out");
	json_decref(names);
	json_decref(term);
	json_decref(dyn);
	return rc;
}

static bool
has_options(struct vats *vs, const struct kvat *v)
{
	char	 key[64], *opts;
	bool	 has;

	snprintf(key, sizeof(key), "%s.options", v->id);
	opts = kv_get(vs->st, key);
	has = opts != NULL;
	free(opts);
	return has;
}

/*
 * After a crank abort: a vat marked terminated by the aborted crank is
 * alive again, and a dynamic vat the aborted crank added is gone again
 * (vats.terminated and vat.dynamicIDs are the truth).
 */
void
vats_resync(struct vats *vs)
{
	json_t	*term = kv_get_json(vs->st, "vats.terminated");
	json_t	*dyn = kv_get_json(vs->st, "vat.dynamicIDs");
	size_t	 i, n = 0;

	for (i = 0; i < vs->n; i++) {
		struct kvat *v = vs->v[i];

		if (v->dynamic && !in_array(term, v->id) &&
		    !in_array(dyn, v->id) && kvat_bury(vs, v))
			continue;
		/* a static vat whose cleanup is done: no state left */
		if (v->state == KVAT_TERMINATED && !in_array(term, v->id) &&
		    !has_options(vs, v) && kvat_bury(vs, v))
			continue;
		if (v->state == KVAT_TERMINATED && !in_array(term, v->id))
			v->state = KVAT_OFFLINE;
		vs->v[n++] = v;
	}
	vs->n = n;
	json_decref(term);
	json_decref(dyn);
}


int
vats_open(struct vats *vs, struct ev_loop *loop, struct store *st,
    const struct config *cfg, const char *state_dir, json_t *xsnap_boot,
    const struct vats_events *ev, void *arg, char *errbuf, size_t errlen)
{
	memset(vs, 0, sizeof(*vs));
	vs->loop = loop;
	vs->st = st;
	vs->cfg = cfg;
	vs->xsnap_boot = xsnap_boot;
	vs->ev = ev;
	vs->ev_arg = arg;
	if (vats_load(vs, errbuf, errlen) == -1)
		return -1;
	return snapshot_open(vs, state_dir, errbuf, errlen);
}

void
vats_close(struct vats *vs)
{
	vats_free_all(vs);
	snapshot_close(vs);
	vs->v = vs->graveyard = NULL;
	vs->n = vs->ngraveyard = 0;
}
