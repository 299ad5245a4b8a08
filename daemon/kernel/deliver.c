/*
 * deliver.c — a crank's delivery and its outcome: making sure the vat's
 * worker is online, sending the delivery, and handling what daemon/vats/
 * reports back through the events registered here (kernel_vat_events):
 * the worker ready, each syscall of the live delivery (answered by
 * syscall.c, or later by the producer for the bridge's callOutbound:
 * bridge.c; recorded for the transcript), the delivery's result (the
 * vat's faults in SwingSet's order, the transcript entry, the meter, a
 * heap snapshot when one is due, then the commit), failures (the vat's
 * fault: terminate; this machine's: retry, then halt).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

static void	on_failed(void *, struct kvat *, bool, const char *);

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
/*
 * Whether every slot of reason still names something after the abort:
 * an exit(failure)'s info may name what its own delivery made (a new
 * export, a new promise), which the abort undid.  Such a reason would
 * hand vat-admin a kref that is gone, or that a later crank reuses.
 */
static bool
reason_survives(struct kernel *k, const json_t *reason)
{
	const json_t	*slots = json_object_get(reason, "slots");
	const char	*kref;
	char		 key[96], *v;

	for (size_t i = 0; i < json_array_size(slots); i++) {
		kref = json_string_value(json_array_get(slots, i));
		if (kref == NULL || strlen(kref) > 64)
			return false;
		snprintf(key, sizeof(key), "%s.%s", kref, strncmp(kref, "kp",
		    2) == 0 ? "state" : strncmp(kref, "ko", 2) == 0 ?
		    "refCount" : "owner");
		if ((v = kv_get(k->st, key)) == NULL)
			return false;
		free(v);
	}
	return true;
}

void
crank_terminate_charged(struct kernel *k, struct kvat *v, const char *why,
    const json_t *info, uint64_t computrons)
{
	json_t	*reason = info ? json_deep_copy(info) : capdata_error(why);

	/* reason is built before the abort: why may point into the crank */
	char	 vid[sizeof(v->id)], meter[sizeof(v->meter_id)];
	bool	 creating = k->cr.creating;
	bool	 unmetered = k->cr.unmetered;	/* a GC delivery's */
	int	 rc = store_crank_status(k->st);

	if (rc != STORE_OK) {
		/* the fault may rest on a read that failed: never commit a
		 * termination this node alone would make */
		json_decref(reason);
		crank_store_error(k, rc);
		return;
	}

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
	if (creating)
		kstat_creation_failed(k);	/* SwingSet's quirk: stats.c */
	v = vats_find(&k->vats, vid);
	if (v == NULL)
		v = vats_add(&k->vats, vid);
	rc = reason == NULL || v == NULL ? STORE_ENOMEM : STORE_OK;
	if (rc == STORE_OK && !reason_survives(k, reason)) {
		json_decref(reason);
		if ((reason = capdata_error(why)) == NULL)
			rc = STORE_ENOMEM;
	}
	if (rc == STORE_OK && meter[0] != '\0' && computrons > 0 &&
	    !unmetered)
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

/*
 * Start v's worker for the crank.  A vat being created whose bundle is
 * not installed is terminated; any other failure to start is this
 * machine's, and the kernel halts.
 */
static void
crank_bring_online(struct kernel *k, struct kvat *v)
{
	char	*why = NULL;
	bool	 vat_fault = false;

	if (vat_online(v, &why, &vat_fault) == 0)
		return;
	if (vat_fault && k->cr.creating)
		crank_terminate(k, v, why ? why : "cannot start", NULL);
	else
		kernel_halt(k, "%s: cannot start its worker: %s", v->id,
		    why ? why : "?");
	free(why);
}

void
crank_deliver(struct kernel *k)
{
	struct kvat *v = k->cr.vat;

	switch (v->state) {
	case KVAT_READY:
		k->cr.sc_len = k->cr.sc_count = 0;
		k->cr.recording = true;
		v->state = KVAT_DELIVERING;
		if (k->cr.vdo_text == NULL)
			k->cr.vdo_text = sup_encode(k->cr.vdo, &k->cr.vdo_len);
		if (k->cr.vdo_text == NULL || vat_deliver(v,
		    k->cr.vdo_text, k->cr.vdo_len) == -1) {
			vat_offline(v);	/* retry on a fresh worker */
			on_failed(k, v, false, "cannot send the delivery");
		} else
			k->cr.sent = true;
		break;
	case KVAT_OFFLINE:
		crank_bring_online(k, v);
		break;
	case KVAT_STARTING:
	case KVAT_REPLAYING:
		break;			/* on_ready() resumes */
	default:
		kernel_halt(k, "can't happen: delivery to %s in state %d",
		    v->id, (int)v->state);
	}
}

/* v's worker is online and replayed: the crank waiting for it goes on. */
static void
on_ready(void *arg, struct kvat *v)
{
	struct kernel *k = arg;

	if (k->in_crank && k->cr.vat == v && k->cr.creating)
		k->cr.t_ready = crank_now_us();
	if (k->in_crank && k->cr.vat == v)
		crank_deliver(k);
}

/* The computrons a faulty delivery's vat pays for: the crank's own
 * delivery's (the bringOutYourDead before a snapshot is not metered). */
static uint64_t
fault_computrons(const struct kernel *k, const struct vat_delivery_result *r)
{
	return k->cr.snap_boyd ? k->cr.computrons : r->computrons;
}

/* kernel-semantics §10.1: the vat's faults, the first cause that
 * matches, in the order SwingSet's deliverAndLogToVat checks them.
 * true when one did (the vat is being terminated). */
static bool
delivery_faulted(struct kernel *k, struct kvat *v,
    const struct vat_delivery_result *r)
{
	bool metered = v->meter_id[0] != '\0' && !k->cr.unmetered &&
	    !k->cr.snap_boyd;

	if (k->cr.illegal) {
		json_t *e = capdata_error(KSYS_PREPARE_TO_DIE);

		crank_terminate_charged(k, v, k->cr.why ? k->cr.why :
		    "illegal syscall", e, fault_computrons(k, r));
		json_decref(e);
	} else if (r->status == SUP_DELIVERY_ERROR)
		crank_terminate_charged(k, v, r->message ? r->message :
		    "error", NULL, fault_computrons(k, r));
	else if (metered && r->computrons > 0 &&
	    !kmeter_check(k, v->meter_id, r->computrons))
		crank_terminate_charged(k, v, "meter underflow, vat terminated",
		    NULL, r->computrons);
	else if (k->cr.exiting == 2)
		crank_terminate_charged(k, v, "exit(failure)", k->cr.exit_info,
		    fault_computrons(k, r));
	else
		return false;
	return true;
}

/* A delivery that ended well: its transcript entry, its meter's charge,
 * a bringOutYourDead's cleared dirt, the vat's exit or its creation's
 * end. */
static int
delivery_record(struct kernel *k, struct kvat *v,
    const struct vat_delivery_result *r)
{
	int rc = k->cr.sc_count > 0 && k->cr.sc == NULL ? STORE_ENOMEM :
	    transcript_append(v, k->cr.vdo_text, k->cr.vdo_len, k->cr.sc,
	    k->cr.sc_len, r->computrons);

	if (rc == STORE_OK && v->meter_id[0] != '\0' && !k->cr.unmetered &&
	    !k->cr.snap_boyd)
		rc = kmeter_deduct(k, v->meter_id, r->computrons);
	if (rc == STORE_OK && (k->cr.reaping || k->cr.snap_boyd))
		rc = kreap_clear_dirt(k, v);
	if (rc == STORE_OK && k->cr.exiting == 1)
		rc = terminate_vat(k, v, false, k->cr.exit_info);
	else if (rc == STORE_OK && k->cr.creating && !k->cr.snap_boyd)
		rc = kcreate_finish(k, v);
	if (rc == STORE_OK) {
		v->tlen++;		/* the entry just appended */
		v->computrons += r->computrons;
	}
	return rc;
}

/*
 * A heap snapshot is due after the crank's delivery: first, as SwingSet
 * does, v brings out its dead, in the same crank (a delivery of its own
 * in the transcript, unmetered, its GC syscalls handled; its computrons
 * do not count for the block's budget).
 */
static void
snapshot_boyd(struct kernel *k, struct kvat *v)
{
	json_decref(k->cr.vdo);
	free(k->cr.vdo_text);
	k->cr.vdo_text = NULL;
	k->cr.snap_boyd = true;
	if ((k->cr.vdo = json_pack("[s]", "bringOutYourDead")) == NULL) {
		crank_store_error(k, STORE_ENOMEM);
		return;
	}
	log_debug("kernel", "%s: bringOutYourDead before its heap snapshot",
	    v->id);
	crank_deliver(k);
}

/* The delivery is answered: the vat's faults first, in SwingSet's order,
 * then the transcript entry, the meter, the vat's exit or its creation's
 * end, its reap dirt, and the commit (after a bringOutYourDead and a heap
 * snapshot, when one is due). */
static void
on_delivered(void *arg, struct kvat *v, const struct vat_delivery_result *r)
{
	struct kernel	*k = arg;
	int		 rc;

	if (!k->in_crank || k->cr.vat != v) {
		kernel_halt(k, "can't happen: %s answered a delivery "
		    "the kernel did not make", v->id);
		return;
	}
	/* a store failure first: an "illegal syscall" or "meter underflow"
	 * read from a store that failed would be this node's alone */
	if ((rc = k->cr.store_rc) != STORE_OK ||
	    (rc = store_crank_status(k->st)) != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	if (k->cr.creating && !k->cr.snap_boyd)
		k->cr.t_done = crank_now_us();
	if (delivery_faulted(k, v, r))
		return;
	if ((rc = delivery_record(k, v, r)) != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	if (!k->cr.snap_boyd) {
		k->cr.computrons = r->computrons;
		if (k->cr.exiting == 0 && snapshot_due(v)) {
			snapshot_boyd(k, v);
			return;
		}
	}
	/* §9.7: the crank's delivery, ended well, leaves dirt (after the
	 * snapshot's bringOutYourDead cleared it, as in SwingSet); one that
	 * exits leaves none, a bringOutYourDead clears it */
	if (k->cr.exiting == 0 && !k->cr.reaping &&
	    (rc = kreap_add_dirt(k, v, k->cr.computrons, k->cr.gc_krefs)) !=
	    STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	if (snapshot_maybe_start(v))
		return;		/* on_snapshotted() commits */
	crank_commit(k, k->cr.computrons);
}

/* The heap snapshot taken after v's delivery is stored and the worker
 * restarted from it: the delivery's crank commits, unless the snapshot's
 * record could not be written (store_rc). */
static void
on_snapshotted(void *arg, struct kvat *v, int store_rc)
{
	struct kernel *k = arg;

	if (!k->in_crank || k->cr.vat != v) {
		kernel_halt(k, "can't happen: %s snapshotted outside its "
		    "delivery's crank", v->id);
		return;
	}
	if (store_rc == STORE_OK)
		store_rc = k->cr.store_rc;
	if (store_rc != STORE_OK) {
		crank_store_error(k, store_rc);
		return;
	}
	crank_commit(k, k->cr.computrons);
}

/* v's worker was lost or refused: the vat's fault terminates it; this
 * machine's aborts the crank, to be retried on a rebuilt worker. */
static void
on_failed(void *arg, struct kvat *v, bool vat_fault, const char *why)
{
	struct kernel *k = arg;

	if (!k->in_crank || k->cr.vat != v) {
		log_info("kernel", "%s: worker went away while idle: %s", v->id,
		    why);
		return;
	}
	if (vat_fault) {
		crank_terminate(k, v, why, NULL);
		return;
	}
	crank_abort(k);
	if (++k->retries > k->max_retries) {
		kernel_halt(k, "%s: its worker failed %u times in a "
		    "row; last: %s", v->id, k->retries, why);
		return;
	}
	log_warnx("kernel", "%s: machine fault (%s); crank aborted, retry %u "
	    "of %u on a rebuilt worker", v->id, why, k->retries,
	    k->max_retries);
	crank_schedule(k);
}

/*
 * Append {"s":vso,"r":result} to the crank's "sc" text.  The syscall's
 * text is the worker's own bytes and the result's is what the worker was
 * sent, so the transcript holds exactly what crossed the pipe.
 */
static int
record_syscall(struct crank *cr, const char *vso, size_t vlen,
    const char *res, size_t rlen)
{
	size_t	 need = cr->sc_len + vlen + rlen + 16, cap;
	char	*p;

	if (need > cr->sc_cap) {
		for (cap = cr->sc_cap ? cr->sc_cap : 1024; cap < need; cap *= 2)
			;
		if ((p = realloc(cr->sc, cap)) == NULL)
			return -1;
		cr->sc = p;
		cr->sc_cap = cap;
	}
	p = cr->sc + cr->sc_len;
	p += sprintf(p, "%s{\"s\":", cr->sc_count > 0 ? "," : "");
	memcpy(p, vso, vlen);
	p += vlen;
	p += sprintf(p, ",\"r\":");
	memcpy(p, res, rlen);
	p += rlen;
	*p++ = '}';
	cr->sc_len = (size_t)(p - cr->sc);
	cr->sc_count++;
	return 0;
}

/* A syscall of v's live delivery: answered (syscall.c), encoded, and
 * recorded for the transcript as the worker sent it and as answered. */
static char *
on_syscall(void *arg, struct kvat *v, json_t *vso, const char *raw,
    size_t rawlen, size_t *len)
{
	struct kernel	*k = arg;
	json_t		*r = ksys_handle(k, v, vso);
	const char	*tag = json_string_value(json_array_get(r, 0));
	char		*text;

	if (tag != NULL && strcmp(tag, "later") == 0)
		text = kbridge_call(k, v, raw, rawlen, json_array_get(r, 1),
		    len);
	else
		text = r != NULL ? sup_encode(r, len) : NULL;
	json_decref(r);
	if (text != NULL && text != VATWORKER_LATER)
		deliver_record(k, raw, rawlen, text, *len);
	return text;
}

void
deliver_record(struct kernel *k, const char *raw, size_t rawlen,
    const char *text, size_t len)
{
	if (k->cr.recording && record_syscall(&k->cr, raw, rawlen, text,
	    len) == -1 && k->cr.store_rc == STORE_OK)
		k->cr.store_rc = STORE_ENOMEM;
}

/* A divergence on replay, or a worker that cannot be rebuilt. */
static void
on_halt(void *arg, const char *fmt, va_list ap)
{
	kernel_vhalt(arg, fmt, ap);
}

const struct vats_events kernel_vat_events = {
	.ready = on_ready,
	.syscall = on_syscall,
	.delivered = on_delivered,
	.failed = on_failed,
	.snapshotted = on_snapshotted,
	.halt = on_halt,
};
