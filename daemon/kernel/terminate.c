/*
 * terminate.c — ending a vat (kernel-semantics.md §10): the crank that
 * terminates it after its own fault (the faulty crank aborted first, the
 * meter still charged), and the termination itself inside a crank —
 * recorded in vats.terminated (and out of vat.dynamicIDs), the promises
 * it decides rejected, the vat-admin vat told, its heap snapshot
 * forgotten and its worker let go.  Its objects stay; messages to them
 * splat with "vat terminated".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

/* vatTerminated(vid, reject, info) to the vat-admin vat, if there is one
 * (kernel-semantics §10.2 step 5). */
static int
notify_terminated(struct kernel *k, const char *vid, bool reject,
    const json_t *info)
{
	json_t	*undef = NULL;
	char	*pre = NULL;
	int	 rc;

	if (info == NULL)
		info = undef = capdata_extract(NULL, NULL);
	rc = info == NULL || asprintf(&pre, "\"%s\",%s", vid, reject ?
	    "true" : "false") < 0 ? STORE_ENOMEM : kp_tell_admin(k,
	    "vatTerminated", pre, info);
	json_decref(undef);
	free(pre);
	return rc;
}

static int
reject_if_decider(struct kernel *k, struct kvat *v, const char *clkey,
    const json_t *err)
{
	char	*kpid = kv_get(k->st, clkey), *dec = NULL, *d = NULL;
	int	 rc = STORE_OK;

	if (kpid != NULL && asprintf(&dec, "%s.decider", kpid) >= 0)
		d = kv_get(k->st, dec);
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
	json_t		*err = capdata_error("vat terminated");
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

/* A terminated static vat loses its name (vat.name.<name> and its entry
 * in vat.names), as SwingSet's deleteVatID: only its ID, in
 * vats.terminated, is left for the cleanup. */
static int
forget_name(struct kernel *k, const char *vid)
{
	json_t		*names = kv_get_json(k->st, "vat.names"), *x, *out;
	char		*key, *id;
	size_t		 i;
	int		 rc = STORE_OK;

	out = json_array();
	json_array_foreach(names, i, x) {
		if (rc != STORE_OK || !json_is_string(x))
			continue;
		/* a name has no length limit: the key is made to size */
		if (asprintf(&key, "vat.name.%s", json_string_value(x)) < 0) {
			rc = STORE_ENOMEM;
			continue;
		}
		if ((id = kv_get(k->st, key)) != NULL && strcmp(id, vid) == 0)
			rc = kv_del(k->st, key);
		else if (out == NULL || json_array_append(out, x) != 0)
			rc = STORE_ENOMEM;
		free(id);
		free(key);
	}
	if (rc == STORE_OK && json_array_size(out) != json_array_size(names))
		rc = kv_put_json(k->st, "vat.names", out);
	json_decref(out);
	json_decref(names);
	return rc;
}

/* Whether v was configured with creationOptions.critical (static vats
 * only: a critical dynamic vat is refused at its creation). */
static bool
is_critical(struct kernel *k, const struct kvat *v)
{
	char	 key[64];
	json_t	*opts;
	bool	 critical;

	snprintf(key, sizeof(key), "%s.options", v->id);
	opts = kv_get_json(k->st, key);
	critical = json_is_true(json_object_get(opts, "critical"));
	json_decref(opts);
	return critical;
}

/*
 * Terminate v inside the open crank: record it in vats.terminated (and
 * out of vat.dynamicIDs), reject the promises it decides with "vat
 * terminated", tell the vat-admin vat (vatTerminated(id, reject, info),
 * info being kernel capdata) — or, for a critical vat, halt the kernel
 * as SwingSet panics — and let its worker go.  Its objects stay;
 * messages to them splat with "vat terminated".
 */
int
terminate_vat(struct kernel *k, struct kvat *v, bool reject,
    const json_t *info)
{
	bool	critical = is_critical(k, v);
	int	rc = kst_list_edit(k, "vats.terminated", v->id, true);

	if (rc == STORE_OK && v->dynamic)
		rc = kst_list_edit(k, "vat.dynamicIDs", v->id, false);
	else if (rc == STORE_OK)
		rc = forget_name(k, v->id);
	/* SwingSet's deleteVatID counts static vats out only */
	if (rc == STORE_OK && !v->dynamic)
		kstat_add(k, KS_VATS, -1);
	if (rc == STORE_OK)
		rc = reject_decided(k, v);
	if (rc == STORE_OK && critical)
		kernel_panic(k, "critical vat %s failed: %s", v->id,
		    json_string_value(json_object_get(info, "body")) ?
		    json_string_value(json_object_get(info, "body")) : "?");
	else if (rc == STORE_OK)
		rc = notify_terminated(k, v->id, reject, info);
	if (rc == STORE_OK)
		rc = snapshot_forget(&k->vats, v->id);
	if (rc == STORE_OK) {
		vat_offline(v);
		v->state = KVAT_TERMINATED;
	}
	return rc;
}
