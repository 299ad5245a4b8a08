/*
 * host.c — what the process asks of the kernel between cranks: the
 * producer's queue, terminateVat and promise requests, and the figures
 * status shows
 * (queue lengths, the vats with their states, creation timings, the
 * open block's computrons, the halted reason).  Reads the committed
 * state plus the open block; writes only in kernel_queue's own crank.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/bundles/bundles.h"
#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

const char *
kernel_halted(const struct kernel *k)
{
	return k->halted;
}

uint64_t
kernel_acceptance_queue_length(struct kernel *k)
{
	return kst_length(k, &k->accq);
}

uint64_t
kernel_run_queue_length(struct kernel *k)
{
	return kst_queue_length(k);
}

/*
 * A static vat's root that has no kref: without a bootstrap vat, no root
 * is exported at the first start (SwingSet's), so the host's first
 * message exports it now, and pins it, as a SwingSet host pins the roots
 * it talks to (controller.pinVatRoot): the vat keeps it for the host.
 * With a bootstrap vat every root was exported then: one without a kref
 * now was collected (nothing referred to it), as SwingSet collects it,
 * or abandoned by its vat.
 */
static char *
root_on_demand(struct kernel *k, const char *id, const char *vat,
    char *errbuf, size_t errlen)
{
	char		*boot = kv_get(k->st, "kernel.bootstrapVat"), *kref = NULL;
	struct kvat	*v = vats_find(&k->vats, id);

	if (boot == NULL && v != NULL && vats_alive(&k->vats, id) &&
	    clist_to_kref(k, v, "o+0", true, &kref) == STORE_OK &&
	    kref_pin(k, kref) == STORE_OK) {
		free(boot);
		return kref;
	}
	free(kref);
	kref = NULL;
	if (boot != NULL)
		snprintf(errbuf, errlen, "vat '%s' has no root object any "
		    "more: nothing referred to it, and the kernel collected "
		    "it, as SwingSet does (a bootstrap vat's root is kept with "
		    "\"pinBootstrapRoot\": true); or the vat gave it up "
		    "(abandonExports)", vat);
	else
		snprintf(errbuf, errlen, "vat '%s': its root object cannot be "
		    "exported (%s)", vat, v == NULL || !vats_alive(&k->vats,
		    id) ? "the vat is terminated" : store_errmsg(k->st));
	free(boot);
	return NULL;
}

/* The kref a queue op addresses: a static vat's root, or an existing
 * object or promise.  NULL when there is none, the reason in errbuf. */
static char *
queue_target(struct kernel *k, const char *vat, const char *target,
    char *errbuf, size_t errlen)
{
	char	 key[256], *id, *kref = NULL;

	if (vat == NULL) {
		snprintf(key, sizeof(key), "%s.%s", target, strncmp(target,
		    "ko", 2) == 0 ? "refCount" : "state");
		if ((id = kv_get(k->st, key)) != NULL)
			kref = strdup(target);
		free(id);
		if (kref == NULL)
			snprintf(errbuf, errlen, "no object or promise '%s'",
			    target);
		return kref;
	}
	snprintf(key, sizeof(key), "vat.name.%s", vat);
	if ((id = kv_get(k->st, key)) == NULL) {
		snprintf(errbuf, errlen, "no vat '%s'", vat);
		return NULL;
	}
	snprintf(key, sizeof(key), "%s.c.o+0", id);
	if ((kref = kv_get(k->st, key)) == NULL)
		kref = root_on_demand(k, id, vat, errbuf, errlen);
	free(id);
	return kref;
}

/* Whether kref names an existing object, promise or device node. */
static bool
kref_exists(struct kernel *k, const char *kref)
{
	char	 key[96], *v;
	bool	 promise = strncmp(kref, "kp", 2) == 0;

	if (strncmp(kref, "ko", 2) != 0 && !promise &&
	    strncmp(kref, "kd", 2) != 0)
		return false;
	if ((size_t)snprintf(key, sizeof(key), "%s.%s", kref, promise ?
	    "state" : kref[1] == 'o' ? "refCount" : "owner") >= sizeof(key))
		return false;
	v = kv_get(k->st, key);
	free(v);
	return v != NULL;
}

/* The first slot of args that names nothing, as an error; false if none. */
static bool
missing_slot(struct kernel *k, const json_t *args, char *errbuf,
    size_t errlen)
{
	const json_t	*slot;
	size_t		 i;

	json_array_foreach(json_object_get(args, "slots"), i, slot)
		if (!kref_exists(k, json_string_value(slot))) {
			snprintf(errbuf, errlen, "args.slots[%zu]: no object, "
			    "promise or device node '%s'", i,
			    json_string_value(slot));
			return true;
		}
	return false;
}

int
kernel_queue(struct kernel *k, const char *vat, const char *target,
    const char *method, const json_t *args, bool kpid_wanted, char **kpid,
    bool *notfound, char *errbuf, size_t errlen)
{
	char	*kref;
	bool	 missing;
	int	 rc;

	*kpid = NULL;
	*notfound = false;
	if ((rc = store_crank_begin(k->st)) != STORE_OK)
		goto fail;
	kref = queue_target(k, vat, target, errbuf, errlen);
	missing = kref == NULL || missing_slot(k, args, errbuf, errlen);
	if (missing && (rc = store_crank_status(k->st)) != STORE_OK) {
		free(kref);	/* "not found" from a read that failed */
		kabort(k);
		kst_forget_queue(k);
		goto fail;
	}
	if (missing) {
		free(kref);
		kabort(k);
		kst_forget_queue(k);
		*notfound = true;
		return -1;
	}
	rc = kpid_wanted ? kp_send(k, kref, method, args, kpid) :
	    kp_send_only(k, kref, method, args);
	free(kref);
	/* the host's interest in the result ("external", as SwingSet's
	 * queueToVatRoot registers it): the promise stays readable until
	 * the host releases it */
	if (rc == STORE_OK && kpid_wanted)
		rc = kp_host_hold(k, *kpid);
	if (rc == STORE_OK && (rc = kcommit(k)) == STORE_OK)
		return 0;
	kabort(k);
	kst_forget_queue(k);
fail:
	free(*kpid);
	*kpid = NULL;
	snprintf(errbuf, errlen, "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	kernel_store_halt(k, errbuf);	/* the queue's crank is lost */
	return -1;
}

/* bundleInstalled(id) to the vat-admin vat, if there is one (with a
 * result promise, as SwingSet queues it; its policy only logs). */
static int
notify_installed(struct kernel *k, const char *id)
{
	char	*pre = NULL;
	int	 rc = asprintf(&pre, "\"%s\"", id) < 0 ? STORE_ENOMEM :
		    kp_tell_admin(k, "bundleInstalled", pre, NULL);

	free(pre);
	return rc;
}

int
kernel_install_bundle(struct kernel *k, const json_t *bundle, const char *id,
    bool *existed, char *errbuf, size_t errlen)
{
	const void	*v;
	size_t		 len;
	char		*got = NULL;
	int		 rc;

	*existed = false;
	rc = store_get(k->st, STORE_BUNDLES, id, strlen(id), &v, &len);
	if (rc == STORE_OK) {
		*existed = true;
		return 0;
	}
	if (rc == STORE_NOTFOUND && (rc = store_crank_begin(k->st)) ==
	    STORE_OK) {
		if ((rc = bundle_install(k->st, bundle, &got)) == STORE_OK)
			rc = strcmp(got, id) == 0 ? notify_installed(k, id) :
			    STORE_EINVAL;
		if (rc == STORE_OK)
			rc = kcommit(k);
		if (rc != STORE_OK) {
			kabort(k);
			kst_forget_queue(k);
		}
	}
	free(got);
	if (rc == STORE_OK)
		return 0;
	snprintf(errbuf, errlen, "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	kernel_store_halt(k, errbuf);	/* the install's crank is lost */
	return -1;
}

/* Drop a host request's crank, and what the vat table and the queues'
 * bounds took from it. */
static void
host_abort(struct kernel *k)
{
	kabort(k);
	kst_forget_queue(k);
	vats_resync(&k->vats);
}

/* The vat a terminateVat names: a static vat's name, or a vat ID
 * (malloc'd), or NULL. */
static char *
terminate_target(struct kernel *k, const char *name, const char *vid)
{
	char	*key = NULL, *id;

	if (name == NULL)
		return strdup(vid);
	if (asprintf(&key, "vat.name.%s", name) < 0)
		return NULL;
	id = kv_get(k->st, key);
	free(key);
	/* a terminated static vat has lost its name: it is still in the
	 * table until cleaned up, and "already terminated" says more */
	for (size_t i = 0; id == NULL && i < k->vats.n; i++)
		if (k->vats.v[i]->state == KVAT_TERMINATED &&
		    strcmp(k->vats.v[i]->name, name) == 0)
			id = strdup(k->vats.v[i]->id);
	return id;
}

/*
 * terminateVat from the host (SwingSet's controller.terminateVat): in a
 * crank of the open block, the vat is terminated as if vat-admin's
 * terminateWithFailure had asked, rejecting with reason (capdata without
 * slots).  A vat that is not there, or already terminated, is not_found.
 */
int
kernel_terminate_vat(struct kernel *k, const char *name, const char *vid,
    const json_t *reason, bool *notfound, char *errbuf, size_t errlen)
{
	struct kvat	*v = NULL;
	char		*id;
	int		 rc;

	*notfound = false;
	if ((rc = store_crank_begin(k->st)) != STORE_OK)
		goto fail;
	if ((id = terminate_target(k, name, vid)) != NULL)
		v = kcreate_entry(k, id);
	if (v == NULL || v->state == KVAT_TERMINATED) {
		snprintf(errbuf, errlen, "%s %.128s%s%s", v == NULL ? "no vat" :
		    "vat", name ? name : vid, strlen(name ? name : vid) > 128 ?
		    "…" : "", v == NULL ? "" : " is already terminated");
		free(id);
		*notfound = (rc = store_crank_status(k->st)) == STORE_OK;
		host_abort(k);
		if (*notfound)
			return -1;
		goto fail;
	}
	free(id);
	log_info("kernel", "%s: terminated by the host", v->id);
	rc = terminate_vat(k, v, true, reason);
	if (rc == STORE_OK && (rc = kcommit(k)) == STORE_OK)
		return 0;
	host_abort(k);
fail:
	snprintf(errbuf, errlen, "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	kernel_store_halt(k, errbuf);	/* the termination's crank is lost */
	return -1;
}

json_t *
kernel_reap_all_vats(struct kernel *k, char *errbuf, size_t errlen)
{
	json_t	*ids = json_array();
	int	 rc = ids ? store_crank_begin(k->st) : STORE_ENOMEM;

	for (size_t i = 0; rc == STORE_OK && i < k->vats.n; i++) {
		const char *vid = k->vats.v[i]->id;

		if (!vats_alive(&k->vats, vid))
			continue;
		rc = kreap_schedule(k, vid);
		if (rc == STORE_OK && json_array_append_new(ids,
		    json_string(vid)) != 0)
			rc = STORE_ENOMEM;
	}
	if (rc == STORE_OK && (rc = kcommit(k)) == STORE_OK) {
		log_info("kernel", "reapAllVats: %zu vats queued for "
		    "bringOutYourDead", json_array_size(ids));
		return ids;
	}
	json_decref(ids);
	if (store_crank_is_open(k->st))
		host_abort(k);
	snprintf(errbuf, errlen, "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	kernel_store_halt(k, errbuf);
	return NULL;
}

int
kernel_promise_release(struct kernel *k, const char *kpid, bool *notheld,
    char *errbuf, size_t errlen)
{
	int rc = store_crank_begin(k->st);

	*notheld = false;
	if (rc == STORE_OK && (rc = kp_host_release(k, kpid)) == 1) {
		host_abort(k);
		*notheld = true;
		snprintf(errbuf, errlen, "the host does not hold %s (released "
		    "already, or not a result of bootstrap() or queue)", kpid);
		return -1;
	}
	if (rc == STORE_OK && (rc = kcommit(k)) == STORE_OK)
		return 0;
	if (store_crank_is_open(k->st))
		host_abort(k);
	snprintf(errbuf, errlen, "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	kernel_store_halt(k, errbuf);
	return -1;
}

json_t *
kernel_promise(struct kernel *k, const char *kpid)
{
	char	 key[64], *state, *dec;
	json_t	*out;

	snprintf(key, sizeof(key), "%s.state", kpid);
	if ((state = kv_get(k->st, key)) == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s.decider", kpid);
	dec = kv_get(k->st, key);
	out = json_pack("{s:s, s:s, s:o, s:o}", "kpid", kpid, "state", state,
	    "decider", dec && *dec ? json_string(dec) : json_null(), "data",
	    strcmp(state, "unresolved") == 0 ? json_null() : kp_data(k, kpid));
	free(state);
	free(dec);
	return out;
}

const struct kernel_creation_stats *
kernel_creation_stats(const struct kernel *k)
{
	return &k->cstats;
}

uint64_t
kernel_boyd_count(const struct kernel *k)
{
	return k->boyds;
}

const struct kernel_routing_stats *
kernel_routing_stats(const struct kernel *k)
{
	return &k->rstats;
}

uint64_t
kernel_creation_queue_length(struct kernel *k)
{
	return kst_length(k, &k->createq);
}

static const char *
kvat_state_name(enum kvat_state s)
{
	static const char *const names[] = { "offline", "starting",
	    "replaying", "ready", "delivering", "snapshotting",
	    "terminated" };

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* A queued vat's name, from its recorded options (new reference). */
static json_t *
queued_name(struct kernel *k, const json_t *id)
{
	char	 key[96];
	json_t	*opts, *name;

	snprintf(key, sizeof(key), "%s.options", json_string_value(id));
	opts = kv_get_json(k->st, key);
	name = json_object_get(opts, "name");
	name = json_is_string(name) ? json_incref(name) : json_deep_copy(id);
	json_decref(opts);
	return name;
}

uint64_t
kernel_block_computrons(const struct kernel *k)
{
	return k->block_computrons;
}

/* The bootstrap message's result promise (malloc'd), or NULL. */
char *
kernel_bootstrap_result(struct kernel *k)
{
	return kv_get(k->st, "kernel.bootstrapResult");
}

void
kernel_block_committed(struct kernel *k)
{
	k->block_computrons = 0;
	snapshot_block_committed(&k->vats);	/* superseded snapshot files */
}

/* The vats: those in the table (a vat in its pseudo-crank is
 * "creating"), then those waiting in the creation queue ("queued"). */
json_t *
kernel_status_vats(struct kernel *k)
{
	json_t		*arr = json_array(), *id;
	const char	*state;

	for (size_t i = 0; arr != NULL && i < k->vats.n; i++) {
		struct kvat *v = k->vats.v[i];

		state = k->in_crank && k->cr.creating && k->cr.vat == v ?
		    "creating" : kvat_state_name(v->state);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, "
		    "s:I, s:I, s:o, s:o*}", "vatID", v->id, "name", v->name,
		    "state", state, "pid", v->vw ? json_integer(vat_pid(v)) :
		    json_null(), "deliveries", (json_int_t)v->tlen,
		    "computrons", (json_int_t)v->computrons, "snapshotPos",
		    snapshot_status_pos(v), "cleanup", v->state ==
		    KVAT_TERMINATED ? kcleanup_remaining(k, v->id) : NULL));
	}
	for (uint64_t i = 0; arr != NULL && (id = kst_peek(k, &k->createq,
	    i)) != NULL; i++) {
		if (vats_find(&k->vats, json_string_value(id)) != NULL) {
			json_decref(id);	/* terminated while queued */
			continue;
		}
		json_array_append_new(arr, json_pack("{s:O, s:o, s:s, s:n, "
		    "s:I, s:I, s:n}", "vatID", id, "name", queued_name(k, id),
		    "state", "queued", "pid", "deliveries", (json_int_t)0,
		    "computrons", (json_int_t)0, "snapshotPos"));
		json_decref(id);
	}
	return arr;
}
