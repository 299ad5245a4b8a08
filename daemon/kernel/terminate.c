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

/*
 * The vat's own fault: abort the crank, terminate the vat in a new one,
 * rejecting with info (kernel capdata; NULL: an Error with why).  A
 * pseudo-crank's creation request is consumed by the new crank.
 */
void
crank_terminate(struct kernel *k, struct kvat *v, const char *why,
    const json_t *info)
{
	crank_terminate_charged(k, v, why, info, 0);
}

/*
 * The same, after a delivery that spent computrons: the vat's meter pays
 * for it although its effects were unwound, before the vat is terminated
 * (kernel-semantics §6.4 steps 4 and 6: an underrun empties the meter),
 * and the crank counts them.
 */
void
crank_terminate_charged(struct kernel *k, struct kvat *v, const char *why,
    const json_t *info, uint64_t computrons)
{
	json_t	*reason = info ? json_deep_copy(info) : capdata_error(why);

	/* reason is built before the abort: why may point into the crank */
	char	 vid[sizeof(v->id)], meter[sizeof(v->meter_id)];
	bool	 creating = k->cr.creating;
	int	 rc;

	log_info("kernel", "%s: terminated: %s", v->id, why);
	snprintf(vid, sizeof(vid), "%s", v->id);
	snprintf(meter, sizeof(meter), "%s", v->meter_id);
	crank_abort(k);			/* v may be gone after this */
	if ((rc = store_crank_begin(k->st)) != STORE_OK) {
		json_decref(reason);
		crank_store_error(k, rc);
		return;
	}
	k->in_crank = true;
	if (creating)
		json_decref(kst_shift(k, &k->createq));
	v = vats_find(&k->vats, vid);
	if (v == NULL)
		v = vats_add(&k->vats, vid);
	rc = reason == NULL || v == NULL ? STORE_ENOMEM : STORE_OK;
	if (rc == STORE_OK && meter[0] != '\0' && computrons > 0)
		rc = kmeter_deduct(k, meter, computrons);
	if (rc == STORE_OK)
		rc = terminate_vat(k, v, true, reason);
	json_decref(reason);
	if (rc != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	crank_commit(k, computrons);
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

/*
 * Terminate v inside the open crank: record it in vats.terminated (and
 * out of vat.dynamicIDs), reject the promises it decides with "vat
 * terminated", tell the vat-admin vat (vatTerminated(id, reject, info),
 * info being kernel capdata), and let its worker go.  Its objects stay;
 * messages to them splat with "vat terminated".
 */
int
terminate_vat(struct kernel *k, struct kvat *v, bool reject,
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
		rc = snapshot_forget(&k->vats, v->id);
	if (rc == STORE_OK) {
		vat_offline(v);
		v->state = KVAT_TERMINATED;
	}
	return rc;
}
