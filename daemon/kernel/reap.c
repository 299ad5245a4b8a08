/*
 * reap.c — when a vat brings out its dead (kernel-semantics.md §9.7):
 * the dirt each delivery leaves on its vat, weighed against the vat's
 * thresholds, and the reap queue of vats due for a bringOutYourDead (the
 * operator's reapAllVats, which queues every vat, is host.c's).
 *
 * Keys:
 *   kernel.defaultReapDirtThreshold  {"deliveries":N|"never",
 *                                     "gcKrefs":N|"never",
 *                                     "computrons":"never"}, recorded at
 *                                     the first start (boot.c)
 *   vN.options                       the vat's own: reapInterval
 *                                     (deliveries), reapGCKrefs
 *                                     (gcKrefs), neverReap
 *   vN.reapDirt                      {"deliveries":N,…}: what has piled up
 *                                     since its last bringOutYourDead
 *   reapQueue                        ["v3",…]: vats due, each once
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

/* The dirt counters, in SwingSet's order of a delivery's dirt. */
static const char *const dirt_keys[] = { "deliveries", "computrons",
    "gcKrefs" };

/* The vat's thresholds: the kernel's defaults, then the vat's own
 * (new reference; NULL when memory ran out). */
static json_t *
thresholds(struct kernel *k, const struct kvat *v)
{
	json_t	*t = kv_get_json(k->st, "kernel.defaultReapDirtThreshold");
	json_t	*opts, *x;
	char	 key[64];

	if (t == NULL)
		t = json_object();
	snprintf(key, sizeof(key), "%s.options", v->id);
	opts = kv_get_json(k->st, key);
	if ((x = json_object_get(opts, "reapInterval")) != NULL)
		json_object_set(t, "deliveries", x);
	if ((x = json_object_get(opts, "reapGCKrefs")) != NULL)
		json_object_set(t, "gcKrefs", x);
	if (json_is_true(json_object_get(opts, "neverReap")))
		json_object_set_new(t, "never", json_true());
	json_decref(opts);
	return t;
}

/* Put vid on the reap queue unless it is there already. */
int
kreap_schedule(struct kernel *k, const char *vid)
{
	json_t	*q = kv_get_json(k->st, "reapQueue"), *x;
	size_t	 i;
	int	 rc;

	if (q == NULL)
		q = json_array();
	json_array_foreach(q, i, x)
		if (strcmp(json_string_value(x) ? json_string_value(x) : "",
		    vid) == 0) {
			json_decref(q);
			return STORE_OK;
		}
	rc = q != NULL && json_array_append_new(q, json_string(vid)) == 0 ?
	    kv_put_json(k->st, "reapQueue", q) : STORE_ENOMEM;
	json_decref(q);
	return rc;
}

/*
 * A delivery to v ended well: add its dirt (one delivery, its
 * computrons, gc_krefs krefs) for each counter whose threshold is a
 * number, and put v on the reap queue when one reaches its threshold.
 * A vat that never reaps keeps no dirt.
 */
int
kreap_add_dirt(struct kernel *k, struct kvat *v, uint64_t computrons,
    uint64_t gc_krefs)
{
	const uint64_t	 more[] = { 1, computrons, gc_krefs };
	json_t		*t = thresholds(k, v), *dirt, *lim;
	char		 key[64];
	bool		 reap = false;
	json_int_t	 now;
	int		 rc;

	if (t == NULL)
		return STORE_ENOMEM;
	if (json_is_true(json_object_get(t, "never"))) {
		json_decref(t);
		return STORE_OK;
	}
	snprintf(key, sizeof(key), "%s.reapDirt", v->id);
	if ((dirt = kv_get_json(k->st, key)) == NULL)
		dirt = json_object();
	for (size_t i = 0; dirt != NULL && i < 3; i++) {
		/* as SwingSet's addDirt: a threshold that is absent, "never"
		 * or 0 (falsy) keeps no dirt; any other number is compared
		 * as a number (a dynamic vat's options may hold 0.5) */
		lim = json_object_get(t, dirt_keys[i]);
		if (more[i] == 0 || !json_is_number(lim) ||
		    json_number_value(lim) == 0)
			continue;
		now = json_integer_value(json_object_get(dirt, dirt_keys[i])) +
		    (json_int_t)more[i];
		json_object_set_new(dirt, dirt_keys[i], json_integer(now));
		reap |= (double)now >= json_number_value(lim);
	}
	rc = dirt ? kv_put_json(k->st, key, dirt) : STORE_ENOMEM;
	if (rc == STORE_OK && reap)
		rc = kreap_schedule(k, v->id);
	json_decref(dirt);
	json_decref(t);
	return rc;
}

/* After v's bringOutYourDead: its dirt starts again from nothing. */
int
kreap_clear_dirt(struct kernel *k, struct kvat *v)
{
	char key[64];

	snprintf(key, sizeof(key), "%s.reapDirt", v->id);
	return kv_put(k->st, key, "{}");
}

/*
 * The reap queue's head, taken from it, inside the open crank: *vat gets
 * ["bringOutYourDead"] as *vdo, or both stay NULL when the queue held a
 * vat terminated since.
 */
int
kreap_next(struct kernel *k, struct kvat **vat, json_t **vdo)
{
	json_t		*q = kv_get_json(k->st, "reapQueue");
	const char	*vid = json_string_value(json_array_get(q, 0));
	struct kvat	*v = vid ? vats_find(&k->vats, vid) : NULL;
	int		 rc;

	*vat = NULL;
	*vdo = NULL;
	if (json_array_size(q) == 0) {
		json_decref(q);
		return store_crank_status(k->st);
	}
	if (v != NULL && !vats_alive(&k->vats, v->id))
		v = NULL;
	json_array_remove(q, 0);
	rc = kv_put_json(k->st, "reapQueue", q);
	json_decref(q);
	if (rc == STORE_OK && v != NULL &&
	    (*vdo = json_pack("[s]", "bringOutYourDead")) == NULL)
		rc = STORE_ENOMEM;
	if (rc == STORE_OK && v != NULL)
		*vat = v;
	return rc;
}

/* Whether a vat waits for its bringOutYourDead. */
bool
kreap_pending(struct kernel *k)
{
	return kst_list_nonempty(k, "reapQueue");
}

uint64_t
kernel_reap_queue_length(struct kernel *k)
{
	return kst_list_length(k, "reapQueue");
}
