/*
 * online.c — a vat's worker, as the kernel brings it online: spawned and
 * given its bundle (setBundle → dispatchReady), or, for an xsnap vat with
 * a heap snapshot, restored from it (snapshot.c); then the transcript
 * entries after that point (all of them, without a snapshot) are replayed
 * — every recorded delivery sent again, every syscall answered from the
 * record and compared with it.  A difference is a divergence: the kernel
 * halts, naming the vat and the delivery.  Replay writes nothing to the kv
 * state.  Then the worker's callbacks become the events the kernel
 * registered (vats.h): syscalls, delivery results, snapshots, failures.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/bundles/bundles.h"
#include "daemon/store/store.h"
#include "daemon/vats/vats.h"
#include "daemon/vats/vats_impl.h"
#include "protocol/log.h"

/* Tell the kernel to halt, with a formatted reason. */
static void vat_halt(struct kvat *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
vat_halt(struct kvat *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	v->vs->ev->halt(v->vs->ev_arg, fmt, ap);
	va_end(ap);
}

/* ---- replay ------------------------------------------------------------ */

/* The worker is rebuilt: say how. */
static void
replay_done(struct kvat *v)
{
	const struct vats_events *ev = v->vs->ev;

	if (v->restored[0] != '\0')
		log_info("kernel", "%s: restored from snapshot %s at delivery %"
		    PRIu64 ", replayed %" PRIu64 " deliveries", v->id,
		    v->restored, v->replay_start, v->tlen - v->replay_start);
	else if (v->tlen > 0)
		log_info("kernel", "%s: replayed %" PRIu64 " deliveries from "
		    "the start", v->id, v->tlen);
	v->state = KVAT_READY;
	if (v->restarting) {		/* restored from its new snapshot */
		v->restarting = false;
		ev->snapshotted(v->vs->ev_arg, v, STORE_OK);
	} else
		ev->ready(v->vs->ev_arg, v);
}

static void
replay_next(struct kvat *v)
{
	json_decref(v->replay_entry);
	v->replay_entry = NULL;
	if (v->replay_next >= v->tlen) {
		replay_done(v);
		return;
	}
	v->replay_entry = transcript_entry(v, v->replay_next);
	v->replay_sc = 0;
	if (v->replay_entry == NULL || vatworker_deliver(v->vw,
	    json_object_get(v->replay_entry, "d")) == -1)
		vat_halt(v, "%s: cannot replay delivery #%" PRIu64,
		    v->id, v->replay_next);
}

static json_t *
replay_syscall(struct kvat *v, json_t *vso)
{
	json_t *sc = json_array_get(json_object_get(v->replay_entry, "sc"),
	    v->replay_sc);

	if (sc == NULL || !json_equal(json_object_get(sc, "s"), vso)) {
		char *got = json_dumps(vso, JSON_COMPACT);

		v->diverged = true;
		vat_halt(v, "divergence: %s delivery #%" PRIu64 " made "
		    "syscall #%zu %s, which the transcript %s", v->id,
		    v->replay_next, v->replay_sc, got ? got : "?",
		    sc ? "records differently" : "does not have");
		free(got);
		return json_pack("[s, s]", "error", "divergence");
	}
	v->replay_sc++;
	return json_incref(json_object_get(sc, "r"));
}

static void
replay_delivered(struct kvat *v, const struct vat_delivery_result *r)
{
	size_t want = json_array_size(json_object_get(v->replay_entry, "sc"));

	if (v->diverged) {
		vat_offline(v);	/* a divergence mid-delivery: stop here */
		return;
	}
	if (r->status != SUP_DELIVERY_OK) {
		vat_halt(v, "divergence: %s delivery #%" PRIu64 " failed on "
		    "replay (%s); the transcript records success", v->id,
		    v->replay_next, r->message ? r->message : "error");
		vat_offline(v);
		return;
	}
	if (v->replay_sc != want) {
		vat_halt(v, "divergence: %s delivery #%" PRIu64 " made %zu "
		    "syscalls, the transcript records %zu", v->id,
		    v->replay_next, v->replay_sc, want);
		vat_offline(v);
		return;
	}
	v->replay_next++;
	replay_next(v);
}

/* ---- worker callbacks --------------------------------------------------- */

static void
on_ready(struct vatworker *vw, void *arg)
{
	struct kvat *v = arg;

	(void)vw;
	v->state = KVAT_REPLAYING;
	v->replay_next = v->replay_start;
	replay_next(v);
}

/* A syscall during replay, answered from the transcript, or during a
 * live delivery, answered (and recorded) by the kernel. */
static char *
on_syscall(struct vatworker *vw, void *arg, json_t *vso, const char *raw,
    size_t rawlen, size_t *len)
{
	struct kvat	*v = arg;
	json_t		*r;
	char		*text;

	(void)vw;
	if (v->state != KVAT_REPLAYING)
		return v->vs->ev->syscall(v->vs->ev_arg, v, vso, raw, rawlen,
		    len);
	r = replay_syscall(v, vso);
	text = r != NULL ? sup_encode(r, len) : NULL;
	json_decref(r);
	return text;
}

static void
on_test_log(struct vatworker *vw, void *arg, json_t *msg)
{
	struct kvat	*v = arg;
	char		*text = json_dumps(msg, JSON_COMPACT);

	(void)vw;
	if (v->state != KVAT_REPLAYING)
		log_info("vat", "%s testLog: %s", v->id, text ? text : "?");
	free(text);
}

static void
on_delivered(struct vatworker *vw, void *arg,
    const struct vat_delivery_result *r)
{
	struct kvat *v = arg;

	(void)vw;
	if (v->state == KVAT_REPLAYING)
		replay_delivered(v, r);
	else {
		v->state = KVAT_READY;
		v->vs->ev->delivered(v->vs->ev_arg, v, r);
	}
}

/*
 * Whose fault: a refused setBundle or a meter/memory exit is the vat's
 * only while the vat is new (first boot, or its live delivery).  A worker
 * being rebuilt for a vat with history replays deliveries that already
 * succeeded, so any failure there is this machine's: retried, then a
 * halt, never a termination that would depend on the rebuild.
 */
static void
on_failed(struct vatworker *vw, void *arg, enum vatworker_failure why,
    enum worker_fault wf, const char *msg)
{
	struct kvat	*v = arg;
	bool		 rebuilding = v->tlen > 0 &&
			    (v->state == KVAT_STARTING ||
			    v->state == KVAT_REPLAYING);
	bool		 vat_fault = !rebuilding &&
			    (why == VATWORKER_F_SET_BUNDLE ||
			    worker_fault_is_vat(wf));

	(void)vw;
	if (v->state == KVAT_SNAPSHOTTING) {
		vat_offline(v);
		snapshot_failed(v, msg);
		return;
	}
	/* the words SwingSet's xsnap manager uses for the meter exits */
	if (vat_fault && wf == WORKER_FAULT_VAT_COMPUTE)
		msg = "Compute meter exceeded";
	else if (vat_fault && wf == WORKER_FAULT_VAT_MEMORY)
		msg = "Allocate meter exceeded";
	else if (vat_fault && wf == WORKER_FAULT_VAT_STACK)
		msg = "Stack meter exceeded";
	vat_offline(v);
	if (rebuilding)
		log_warnx("kernel", "%s: worker lost while being rebuilt: %s",
		    v->id, msg);
	v->vs->ev->failed(v->vs->ev_arg, v, vat_fault, msg);
}

static void
on_snapshot_data(struct vatworker *vw, void *arg, const unsigned char *bytes,
    size_t len)
{
	struct kvat *v = arg;

	(void)vw;
	snapshot_data(v, bytes, len);
}

static void
on_snapshotted(struct vatworker *vw, void *arg, uint64_t size)
{
	struct kvat *v = arg;

	(void)vw;
	snapshot_done(v, size);
}

static const struct vatworker_callbacks worker_cb = {
	.ready = on_ready,
	.syscall = on_syscall,
	.test_log = on_test_log,
	.delivered = on_delivered,
	.failed = on_failed,
	.snapshot_data = on_snapshot_data,
	.snapshotted = on_snapshotted,
};

/* The vat's bundle, from vN.source {"bundleID": …} and the bundles
 * table; NULL with err when it is not installed. */
static json_t *
vat_bundle(struct kvat *v, char *err, size_t errlen)
{
	char		 key[64];
	json_t		*src, *bundle = NULL;
	const char	*id;

	snprintf(key, sizeof(key), "%s.source", v->id);
	src = kv_get_json(v->vs->st, key);
	id = json_string_value(json_object_get(src, "bundleID"));
	if (id != NULL)
		bundle = bundle_get(v->vs->st, id);
	if (bundle == NULL)
		snprintf(err, errlen, "bundle %s is not installed", id ? id :
		    "(none recorded)");
	json_decref(src);
	return bundle;
}

/*
 * Start v's worker from fd (its heap snapshot, at transcript position
 * pos: the replay starts there; owned) or, fd -1, from scratch.  -1 with
 * err; *vat_fault as for vat_online().
 */
static int
vat_start(struct kvat *v, int fd, uint64_t pos, char *err, size_t errlen,
    bool *vat_fault)
{
	struct vats		*vs = v->vs;
	struct vatworker_spec	 spec = { .restore = fd != -1,
				    .restore_fd = fd, .restore_pos = pos };
	json_t			*opts, *bundle, *lso;
	char			 key[64];
	int			 rc = -1;

	v->replay_start = pos;
	snprintf(key, sizeof(key), "%s.options", v->id);
	opts = kv_get_json(vs->st, key);
	/* a worker restored from a snapshot gets no setBundle: the bundle
	 * (parsing it takes milliseconds) is not needed */
	bundle = fd == -1 ? vat_bundle(v, err, errlen) : NULL;
	lso = json_pack("{s:b, s:b}", "enableDisavow", 0,
	    "relaxDurabilityRules", vs->cfg->relax_durability_rules);
	spec.manager_type = json_string_value(json_object_get(opts,
	    "managerType"));
	spec.command = spec.manager_type ? config_worker_argv(vs->cfg,
	    spec.manager_type) : NULL;
	spec.vat_id = v->id;
	spec.vat_name = v->name;
	spec.bundle = bundle;
	spec.liveslots_options = lso;
	if (spec.manager_type != NULL && strcmp(spec.manager_type, "xsnap")
	    == 0) {
		spec.boot = vs->xsnap_boot;
		/* SwingSet's DEFAULT_CRANK_METERING_LIMIT, for metered vats
		 * only: an unmetered vat is never stopped by the worker */
		spec.compute_limit = v->meter_id[0] != '\0' ? 100000000 : 0;
	}
	spec.max_frame = vs->cfg->daemon.max_frame;
	spec.timeout = (double)vs->cfg->daemon.delivery_timeout_ms / 1000.0;
	*vat_fault = bundle == NULL && fd == -1;
	if (!*vat_fault && spec.command == NULL)
		snprintf(err, errlen, "no worker command for manager "
		    "type '%s' (daemon.workers)", spec.manager_type ?
		    spec.manager_type : "?");
	else if (!*vat_fault) {
		fd = -1;	/* vatworker_start() owns it now */
		if ((rc = vatworker_start(vs->loop, &spec, &worker_cb, v,
		    &v->vw, err, errlen)) == 0)
			v->state = KVAT_STARTING;
	}
	if (fd != -1)
		close(fd);
	if (rc == -1)
		log_error("kernel", "%s: cannot start a worker: %s", v->id,
		    err);
	json_decref(opts);
	json_decref(bundle);
	json_decref(lso);
	return rc;
}

/*
 * Start the vat's worker; the ready or failed event follows from the
 * loop.  A vat with a heap snapshot waits, worker-less, for the store to
 * check it (snapshot.c), which calls vat_start_from().  -1 when it cannot
 * even start, with *why (malloc'd); *vat_fault says whether the vat's
 * own records are the cause (its bundle is not installed) rather than
 * this machine.
 */
int
vat_online(struct kvat *v, char **why, bool *vat_fault)
{
	json_t		*opts;
	char		 key[64], err[1024];
	const char	*type;
	int		 rc = 0;

	v->diverged = false;
	v->restored[0] = '\0';
	*vat_fault = false;
	snprintf(key, sizeof(key), "%s.options", v->id);
	opts = kv_get_json(v->vs->st, key);
	type = json_string_value(json_object_get(opts, "managerType"));
	if (type != NULL && manager_snapshots(type))
		rc = snapshot_restore(v, err, sizeof(err));
	json_decref(opts);
	if (rc == 1) {
		v->state = KVAT_STARTING;	/* no worker yet */
		return 0;
	}
	if (rc == 0)
		rc = vat_start(v, -1, 0, err, sizeof(err), vat_fault);
	if (rc == -1)
		*why = strdup(err);
	return rc;
}

void
vat_start_from(struct kvat *v, int fd, uint64_t pos)
{
	char	 err[1024];
	bool	 vat_fault;

	v->state = KVAT_OFFLINE;
	if (vat_start(v, fd, pos, err, sizeof(err), &vat_fault) == 0)
		return;
	v->restarting = false;
	v->vs->ev->failed(v->vs->ev_arg, v, false, err);
}

int
vat_answer(struct kvat *v, const char *text, size_t len)
{
	if (v->vw == NULL || v->state == KVAT_REPLAYING)
		return -1;
	return vatworker_answer(v->vw, text, len);
}

void
vat_offline(struct kvat *v)
{
	v->restarting = false;
	snapshot_restore_cancel(v);
	if (v->vw != NULL)
		vatworker_stop(v->vw);
	v->vw = NULL;
	json_decref(v->replay_entry);
	v->replay_entry = NULL;
	if (v->state != KVAT_TERMINATED)
		v->state = KVAT_OFFLINE;
}

int
vat_deliver(struct kvat *v, const char *text, size_t len)
{
	return v->vw != NULL ? vatworker_deliver_text(v->vw, text, len) : -1;
}

long
vat_pid(const struct kvat *v)
{
	return (long)vatworker_pid(v->vw);
}
