/*
 * create.c — dynamic vats (ARCHITECTURE.md "Vat creation", kernel-
 * semantics.md §13): the request the vatAdmin device makes (allocate the
 * vat ID, record the options, push the ID on the creation queue), the
 * pseudo-crank for the queue's head (inside one crank: the startVat
 * delivery, made once the new worker's ready handshake is in; after it,
 * the root's export and newVatCallback), and the terminations the device
 * asks for, with their vatTerminated callback.
 *
 * Keys: vN.options (sorted JSON), vN.source {"bundleID"}, vN.vatParameters
 * (capdata) are written with the request, in the requesting vat's crank;
 * vat.dynamicIDs gains the vat in its pseudo-crank.  createQueue holds the
 * IDs waiting (state.c).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/smallcaps.h"
#include "protocol/log.h"

/* Options a creation request may carry, and the JSON type each needs
 * ('s' string, 'b' boolean, 'n' number or "never", '*' anything). */
static const struct {
	const char	*name;
	char		 type;
} create_opts[] = {
	{ "critical", 'b' }, { "enableDisavow", 'b' },
	{ "enablePipelining", 'b' }, { "enableSetup", 'b' },
	{ "managerType", 's' }, { "meterID", 's' }, { "name", 's' },
	{ "neverReap", 'b' }, { "nodeOptions", '*' }, { "reapGCKrefs", 'n' },
	{ "reapInterval", 'n' }, { "useTranscript", 'b' },
	{ "vatParameters", '*' },
};

static bool
undefined(const json_t *v)
{
	return json_is_string(v) && strcmp(json_string_value(v),
	    "#undefined") == 0;
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 200 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* One option's value, checked; plain JSON into rec.  NULL, or why not. */
static const char *
take_option(const char *key, char type, const json_t *v, json_t *rec)
{
	json_t		*plain;
	const char	*s;

	if (strcmp(key, "vatParameters") == 0)
		return NULL;		/* kept as capdata, not an option */
	if ((plain = smallcaps_decode_plain(v)) == NULL)
		return "must be plain data";
	s = json_string_value(plain);
	if ((type == 's' && s == NULL) || (type == 'b' &&
	    !json_is_boolean(plain)) || (type == 'n' &&
	    !json_is_number(plain) && (s == NULL || strcmp(s, "never"))))
		return json_decref(plain), "has the wrong type";
	if (strcmp(key, "name") == 0 && !name_ok(s))
		return json_decref(plain), "must match ^[A-Za-z0-9._-]+$ and "
		    "be shorter than 200 characters";
	if (strcmp(key, "managerType") == 0 && strcmp(s, "xs-worker") == 0)
		json_string_set(plain, "xsnap");
	if (strcmp(key, "critical") == 0 && json_is_true(plain))
		return json_decref(plain), "critical dynamic vats are not "
		    "supported by swingsetd yet";
	json_object_set_new(rec, key, plain);
	return NULL;
}

/*
 * Whether a static vat runs on manager type mt.  A dynamic vat may use
 * only those: the daemon checked at start that they have workers, and the
 * answer depends on the state alone, not on this node's worker settings.
 */
static bool
manager_in_use(struct kernel *k, const char *mt)
{
	json_t	*names = kv_get_json(k->st, "vat.names"), *x, *opts;
	char	*key, *id;
	size_t	 i;
	bool	 found = false;

	json_array_foreach(names, i, x) {
		if (found || asprintf(&key, "vat.name.%s",
		    json_string_value(x)) < 0)
			continue;
		id = kv_get(k->st, key);
		free(key);
		key = NULL;
		if (id != NULL && asprintf(&key, "%s.options", id) >= 0) {
			opts = kv_get_json(k->st, key);
			found = json_is_string(json_object_get(opts,
			    "managerType")) && strcmp(json_string_value(
			    json_object_get(opts, "managerType")), mt) == 0;
			json_decref(opts);
			free(key);
		}
		free(id);
	}
	json_decref(names);
	return found;
}

/* The recorded options from the request's options record (encoded);
 * NULL with *why (malloc'd) when the request is refused. */
static json_t *
options_record(struct kernel *k, const json_t *enc, char **why)
{
	json_t		*rec = json_object(), *v;
	const char	*key, *bad = NULL, *meter;
	char		*mt;
	size_t		 i;

	if (enc != NULL && !undefined(enc) && !json_is_object(enc)) {
		*why = strdup("the options must be a record");
		json_decref(rec);
		return NULL;
	}
	json_object_foreach((json_t *)(uintptr_t)enc, key, v) {
		if (bad != NULL || undefined(v))
			continue;
		for (i = 0; i < sizeof(create_opts) / sizeof(create_opts[0]);
		    i++)
			if (strcmp(create_opts[i].name, key) == 0)
				break;
		bad = i == sizeof(create_opts) / sizeof(create_opts[0]) ?
		    "is not a known option" : take_option(key,
		    create_opts[i].type, v, rec);
		if (bad != NULL)
			break;
	}
	if (bad != NULL) {
		if (asprintf(why, "option '%s' %s", key, bad) < 0)
			*why = NULL;
		json_decref(rec);
		return NULL;
	}
	meter = json_string_value(json_object_get(rec, "meterID"));
	if (meter != NULL && !kmeter_exists(k, meter)) {
		if (asprintf(why, "option 'meterID': no meter '%s'", meter) < 0)
			*why = NULL;
		json_decref(rec);
		return NULL;
	}
	if (json_object_get(rec, "managerType") == NULL &&
	    (mt = kv_get(k->st, "kernel.defaultManagerType")) != NULL) {
		json_object_set_new(rec, "managerType", json_string(mt));
		free(mt);
	}
	mt = (char *)(uintptr_t)json_string_value(json_object_get(rec,
	    "managerType"));
	if (mt == NULL || !manager_in_use(k, mt)) {
		if (asprintf(why, "managerType '%s' is not one this kernel's "
		    "static vats use, so it may have no worker here",
		    mt ? mt : "?") < 0)
			*why = NULL;
		json_decref(rec);
		return NULL;
	}
	return rec;
}

static int
put_sorted(struct kernel *k, const char *key, const json_t *v)
{
	char	*text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
	int	 rc = text ? kv_put(k->st, key, text) : STORE_ENOMEM;

	free(text);
	return rc;
}

/*
 * A creation request from the vatAdmin device: bundle_id, the options
 * (encoded, a piece of args), args (the callNow's capdata, for the slots
 * of vatParameters).  STORE_OK with *vid, or with *why when refused.
 */
int
kcreate_request(struct kernel *k, const char *bundle_id, const json_t *opts,
    const json_t *args, char **vid, char **why)
{
	json_t		*rec, *params = NULL, *src = NULL, *id = NULL;
	char		 key[64];
	uint64_t	 n;
	int		 rc;

	*vid = *why = NULL;
	if ((rec = options_record(k, opts, why)) == NULL)
		return *why ? STORE_OK : STORE_ENOMEM;
	params = capdata_extract(args, json_object_get(opts, "vatParameters"));
	if (params == NULL) {
		json_decref(rec);
		*why = strdup("vatParameters refer to a slot the call lacks");
		return *why ? STORE_OK : STORE_ENOMEM;
	}
	rc = kv_alloc(k->st, "vat.nextID", 1, &n);
	if (rc == STORE_OK)
		kstat_add(k, KS_VATS, 1);	/* allocateUnusedVatID */
	if (rc == STORE_OK && asprintf(vid, "v%" PRIu64, n) < 0) {
		*vid = NULL;
		rc = STORE_ENOMEM;
	}
	src = json_pack("{s:s}", "bundleID", bundle_id);
	snprintf(key, sizeof(key), "v%" PRIu64 ".options", n);
	if (rc == STORE_OK)
		rc = put_sorted(k, key, rec);
	snprintf(key, sizeof(key), "v%" PRIu64 ".source", n);
	if (rc == STORE_OK)
		rc = src ? put_sorted(k, key, src) : STORE_ENOMEM;
	/* no dirt yet (SwingSet's initializeVatState writes it so) */
	snprintf(key, sizeof(key), "v%" PRIu64 ".reapDirt", n);
	if (rc == STORE_OK)
		rc = kv_put(k->st, key, "{}");
	snprintf(key, sizeof(key), "v%" PRIu64 ".vatParameters", n);
	if (rc == STORE_OK)
		rc = kv_put_json(k->st, key, params);
	/* the vat's parameters hold their slots (SwingSet: the create-vat
	 * event's count, then vN.vatParameters's) */
	if (rc == STORE_OK)
		rc = kref_incref_slots(k, params);
	if (rc == STORE_OK)
		rc = (id = json_string(*vid)) ? kst_push(k, &k->createq, id) :
		    STORE_ENOMEM;
	json_decref(rec);
	json_decref(params);
	json_decref(src);
	json_decref(id);
	return rc;
}

/* Vat vid's table entry, or NULL when there is no such vat.  A vat that
 * exists only as a creation request so far (its options are recorded, it
 * is no static vat) gets its entry now. */
struct kvat *
kcreate_entry(struct kernel *k, const char *vid)
{
	struct kvat	*v = vats_find(&k->vats, vid);
	char		 key[64], *opts;

	if (v != NULL)
		return v;
	if (strlen(vid) >= sizeof(v->id))
		return NULL;
	snprintf(key, sizeof(key), "%s.options", vid);
	if ((opts = kv_get(k->st, key)) == NULL)
		return NULL;
	free(opts);
	return vats_add(&k->vats, vid);
}

/*
 * The device's terminateWithFailure: terminate the dynamic vat vid now,
 * inside the calling vat's crank, rejecting with reason (kernel capdata).
 * A vat still waiting in the creation queue is terminated before it is
 * ever created.  STORE_OK, with *why when refused.
 */
int
kcreate_terminate(struct kernel *k, const char *vid, const json_t *reason,
    char **why)
{
	struct kvat *v;

	*why = NULL;
	if (strlen(vid) >= sizeof(v->id) || (v = kcreate_entry(k, vid)) == NULL)
		return asprintf(why, "no vat %s", vid) < 0 ? STORE_ENOMEM :
		    STORE_OK;
	if (!v->dynamic)
		return asprintf(why, "%s is a static vat", vid) < 0 ?
		    STORE_ENOMEM : STORE_OK;
	if (v->state == KVAT_TERMINATED)
		return STORE_OK;
	if (k->in_crank && k->cr.vat == v) {
		/* the caller itself, mid-delivery: end its crank as
		 * exit(failure, reason) would */
		if (k->cr.exiting == 0) {
			k->cr.exiting = 2;
			k->cr.exit_info = json_deep_copy(reason);
		}
		return STORE_OK;
	}
	return terminate_vat(k, v, true, reason);
}

/*
 * The pseudo-crank's first step, inside its crank, with vid just taken
 * from the creation queue: the vat joins vat.dynamicIDs, and *vdo is its
 * startVat.  *vat NULL: nothing to do (terminated while it waited).
 */
int
kcreate_start(struct kernel *k, const char *vid, struct kvat **vat,
    json_t **vdo)
{
	struct kvat	*v;
	json_t		*params, *vp;
	char		 key[64];
	int		 rc;

	*vat = NULL;
	*vdo = NULL;
	if (strlen(vid) >= sizeof(v->id) || (v = kcreate_entry(k, vid)) == NULL)
		return STORE_ESTATE;
	if (v->state == KVAT_TERMINATED)
		return STORE_OK;
	if ((rc = kst_list_edit(k, "vat.dynamicIDs", vid, true)) !=
	    STORE_OK)
		return rc;
	snprintf(key, sizeof(key), "%s.vatParameters", vid);
	if ((params = kv_get_json(k->st, key)) == NULL)
		return STORE_ESTATE;
	vp = clist_capdata_to_vat(k, v, params);
	json_decref(params);
	if (vp == NULL || (*vdo = json_pack("[s, o]", "startVat", vp)) == NULL)
		return STORE_ENOMEM;
	*vat = v;
	return STORE_OK;
}

/* After a successful startVat: export the root object and tell the
 * vat-admin vat, newVatCallback(vid, {rootObject}). */
int
kcreate_finish(struct kernel *k, struct kvat *v)
{
	char	*root = NULL, *pre = NULL;
	json_t	*tail = NULL;
	int	 rc = clist_to_kref(k, v, "o+0", true, &root);

	if (rc == STORE_OK) {
		tail = json_pack("{s:s, s:[s]}", "body",
		    "#{\"rootObject\":\"$0.Alleged: undefined\"}", "slots",
		    root);
		rc = tail == NULL || asprintf(&pre, "\"%s\"", v->id) < 0 ?
		    STORE_ENOMEM : kp_tell_admin(k, "newVatCallback", pre,
		    tail);
	}
	json_decref(tail);
	free(pre);
	free(root);
	return rc;
}
