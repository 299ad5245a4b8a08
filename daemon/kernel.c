/*
 * kernel.c — the crank loop.  One crank at a time: open a crank
 * transaction, take the run-queue's head, route it (kroute.c); if it
 * needs a vat, make sure the vat's worker is online (kworker.c), deliver,
 * and — when the worker answers — record the transcript entry and commit.
 * Waiting on a worker is a state of the kernel, resumed by the worker's
 * callbacks; the next crank is scheduled with an idle watcher so the
 * event loop (and status) stays responsive between cranks.
 *
 * What ends a crank:
 *   - success: commit; the crank hash feeds the activity hash.  When the
 *     vat's heap snapshot is due, it is taken (and the worker restarted
 *     from it) first, inside the crank (ksnapshot.c).
 *   - the vat's own fault (illegal syscall, exit(failure), a delivery
 *     error, the worker's meter/memory exit): abort, then terminate the
 *     vat in a crank of its own; a message it did not consume goes back
 *     to the queue's head and splats against the dead vat next crank.
 *   - a fault of this machine (worker killed, pipe error, timeout): abort,
 *     rebuild the worker from its transcript, retry; after max_retries the
 *     kernel halts with the reason in status.  It never guesses.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/kernel.h"
#include "protocol/log.h"

static void	crank_next(struct kernel *);
static void	crank_terminate(struct kernel *, struct kvat *, const char *,
		    const json_t *);
static void	crank_terminate_charged(struct kernel *, struct kvat *,
		    const char *, const json_t *, uint64_t);

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
schedule(struct kernel *k)
{
	if (!ev_is_active(&k->step))
		ev_idle_start(k->loop, &k->step);
}

static void
step_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct kernel *k = w->data;

	(void)revents;
	ev_idle_stop(loop, w);
	if (!k->in_crank)
		kvat_empty_graveyard(k);	/* nothing on the stack holds them */
	crank_next(k);
}

static void
cr_clear(struct kernel *k)
{
	json_decref(k->cr.item);
	json_decref(k->cr.vdo);
	free(k->cr.sc);
	free(k->cr.vdo_text);
	json_decref(k->cr.exit_info);
	free(k->cr.why);
	ksnap_cancel(k);	/* a snapshot the crank was waiting for */
	memset(&k->cr, 0, sizeof(k->cr));
}

/*
 * Drop the crank.  A worker that already received its delivery is ahead
 * of the committed transcript now: let it go, so that the next delivery
 * rebuilds it by replay.
 */
static void
crank_abort(struct kernel *k)
{
	struct kvat *v = k->cr.vat;

	if (k->in_crank)
		store_crank_abort(k->st);
	kst_forget_queue(k);
	if (v != NULL) {
		if (k->cr.sent || k->cr.creating)
			kvat_offline(v);
		v->tlen = transcript_length(k, v);
	}
	cr_clear(k);
	if (k->in_crank)
		kvat_resync(k);		/* may drop v: the crank added it */
	k->in_crank = false;
}

/* Nothing left to do: both queues empty, no crank in flight. */
static bool
kernel_idle(struct kernel *k)
{
	return kst_queue_length(k) == 0 && kst_length(k, &k->createq) == 0 &&
	    !k->in_crank;
}

static void
run_finish(struct kernel *k, const char *stopped, const char *error)
{
	struct kernel_run_result r = {
		.cranks = k->run_done,
		.computrons = k->run_computrons,
		.idle = kernel_idle(k),
		.stopped = stopped,
		.error = error,
	};

	if (!k->running)
		return;
	k->running = false;
	k->run_cb(k->run_arg, &r);
}

void
kernel_halt(struct kernel *k, const char *fmt, ...)
{
	va_list ap;

	if (k->halted == NULL) {
		va_start(ap, fmt);
		if (vasprintf(&k->halted, fmt, ap) < 0)
			k->halted = strdup("halted (reason lost: no memory)");
		va_end(ap);
		log_error("kernel", "halted: %s", k->halted);
	}
	crank_abort(k);
	run_finish(k, "halted", NULL);
}

/* A store failure ends the run; the crank leaves no trace. */
static void
crank_store_error(struct kernel *k, int rc)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	log_error("kernel", "crank abandoned: %s", msg);
	crank_abort(k);
	run_finish(k, "error", msg);
}

static void
crank_commit(struct kernel *k, uint64_t computrons)
{
	int rc;

	if ((rc = store_crank_commit(k->st)) != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	k->in_crank = false;
	if (k->cr.creating && k->cr.vat != NULL && k->cr.exiting == 0)
		log_info("kernel", "%s: created in crank %" PRIu64 " (startVat: "
		    "%zu syscalls, %zu vatstore writes)", k->cr.vat->id,
		    store_crank_count(k->st), k->cr.sc_count, k->cr.vs_writes);
	if (k->cr.creating && k->cr.t_done != 0) {
		k->cstats.created++;
		k->cstats.boot_wait_us += k->cr.t_ready - k->cr.t_start;
		k->cstats.start_vat_us += k->cr.t_done - k->cr.t_ready;
		k->cstats.commit_us += now_us() - k->cr.t_done;
	}
	cr_clear(k);
	k->retries = 0;
	k->run_done++;
	k->run_computrons += computrons;
	k->block_computrons += computrons;
	/*
	 * Start the next crank at once, saving a turn of the loop per crank;
	 * but only one level deep (a crank that needs no worker commits from
	 * inside crank_next), so the stack stays flat and the loop still
	 * turns at every worker round trip.
	 */
	if (k->chained) {
		schedule(k);
		return;
	}
	k->chained = true;
	crank_next(k);
	k->chained = false;
}

/*
 * The vat's own fault: abort the crank, terminate the vat in a new one,
 * rejecting with info (kernel capdata; NULL: an Error with why).  A
 * pseudo-crank's creation request is consumed by the new crank.
 */
static void
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
static void
crank_terminate_charged(struct kernel *k, struct kvat *v, const char *why,
    const json_t *info, uint64_t computrons)
{
	json_t	*reason = info ? json_deep_copy(info) : km_error(why);

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
	v = kvat_find(k, vid);
	if (v == NULL)
		v = kvat_add(k, vid);
	rc = reason == NULL || v == NULL ? STORE_ENOMEM : STORE_OK;
	if (rc == STORE_OK && meter[0] != '\0' && computrons > 0)
		rc = kmeter_deduct(k, meter, computrons);
	if (rc == STORE_OK)
		rc = kvat_terminate(k, v, true, reason);
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

	if (kvat_bring_online(k, v, &why, &vat_fault) == 0)
		return;
	if (vat_fault && k->cr.creating)
		crank_terminate(k, v, why ? why : "cannot start", NULL);
	else
		kernel_halt(k, "%s: cannot start its worker: %s", v->id,
		    why ? why : "?");
	free(why);
}

static void
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
		if (k->cr.vdo_text == NULL || vatworker_deliver_text(v->vw,
		    k->cr.vdo_text, k->cr.vdo_len) == -1) {
			kvat_offline(v);	/* retry on a fresh worker */
			kernel_vat_failed(k, v, false, "cannot send the delivery");
		} else
			k->cr.sent = true;
		break;
	case KVAT_OFFLINE:
		crank_bring_online(k, v);
		break;
	case KVAT_STARTING:
	case KVAT_REPLAYING:
		break;			/* kernel_vat_ready() resumes */
	default:
		kernel_halt(k, "can't happen: delivery to %s in state %d",
		    v->id, (int)v->state);
	}
}

/*
 * The pseudo-crank for the creation queue's head: inside one crank, the
 * new vat's worker is started and booted (the crank waits for its ready
 * handshake; the event loop does not), then startVat is delivered and its
 * syscalls land in this crank.  kernel_vat_delivered() finishes it.
 */
static void
crank_create(struct kernel *k)
{
	json_t		*id, *vdo = NULL;
	struct kvat	*v = NULL;
	int		 rc;

	if ((rc = store_crank_begin(k->st)) != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	k->in_crank = true;
	k->cr.creating = true;
	k->cr.t_start = now_us();
	id = kst_shift(k, &k->createq);
	rc = json_is_string(id) ? kcreate_start(k, json_string_value(id), &v,
	    &vdo) : STORE_ESTATE;
	json_decref(id);
	if (rc != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	if (v == NULL) {		/* terminated while it waited */
		crank_commit(k, 0);
		return;
	}
	log_info("kernel", "%s: creating (pseudo-crank)", v->id);
	k->cr.vat = v;
	k->cr.vdo = vdo;
	crank_deliver(k);
}

static void
crank_next(struct kernel *k)
{
	struct kvat	*v;
	json_t		*vdo;
	int		 rc;

	if (!k->running || k->in_crank)
		return;
	if (k->halted != NULL) {
		run_finish(k, "halted", NULL);
		return;
	}
	if ((k->run_max && k->run_done >= k->run_max) ||
	    (k->run_budget_c && k->run_computrons >= k->run_budget_c)) {
		run_finish(k, "budget", NULL);
		return;
	}
	if (kst_length(k, &k->createq) > 0) {
		crank_create(k);
		return;
	}
	if (kst_queue_length(k) == 0) {
		run_finish(k, "idle", NULL);
		return;
	}
	if ((rc = store_crank_begin(k->st)) != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	k->in_crank = true;
	k->cr.item = kst_dequeue(k);
	rc = k->cr.item ? kroute_item(k, k->cr.item, &v, &vdo) : STORE_EIO;
	if (rc != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	if (v == NULL) {
		crank_commit(k, 0);
		return;
	}
	k->cr.vat = v;
	k->cr.vdo = vdo;
	crank_deliver(k);
}

void
kernel_vat_ready(struct kernel *k, struct kvat *v)
{
	if (k->in_crank && k->cr.vat == v && k->cr.restarting) {
		k->cr.restarting = false;	/* restored from its snapshot */
		kernel_vat_snapshotted(k, v);
		return;
	}
	if (k->in_crank && k->cr.vat == v && k->cr.creating)
		k->cr.t_ready = now_us();
	if (k->in_crank && k->cr.vat == v)
		crank_deliver(k);
}

void
kernel_vat_delivered(struct kernel *k, struct kvat *v,
    const struct vat_delivery_result *r)
{
	int	 rc;

	if (!k->in_crank || k->cr.vat != v) {
		kernel_halt(k, "can't happen: %s answered a delivery "
		    "the kernel did not make", v->id);
		return;
	}
	if (k->cr.store_rc != STORE_OK) {
		crank_store_error(k, k->cr.store_rc);
		return;
	}
	if (k->cr.creating)
		k->cr.t_done = now_us();
	if (r->status == SUP_DELIVERY_ERROR) {
		crank_terminate_charged(k, v, r->message ? r->message :
		    "error", NULL, r->computrons);
		return;
	}
	if (k->cr.illegal) {
		json_t *e = km_error(KSYS_PREPARE_TO_DIE);

		crank_terminate_charged(k, v, k->cr.why ? k->cr.why :
		    "illegal syscall", e, r->computrons);
		json_decref(e);
		return;
	}
	if (v->meter_id[0] != '\0' && r->computrons > 0 &&
	    !kmeter_check(k, v->meter_id, r->computrons)) {
		crank_terminate_charged(k, v, "meter underflow, vat terminated",
		    NULL, r->computrons);
		return;
	}
	if (k->cr.exiting == 2) {
		crank_terminate_charged(k, v, "exit(failure)", k->cr.exit_info,
		    r->computrons);
		return;
	}
	rc = k->cr.sc_count > 0 && k->cr.sc == NULL ? STORE_ENOMEM :
	    transcript_append(k, v, k->cr.vdo_text, k->cr.vdo_len, k->cr.sc,
	    k->cr.sc_len, r->computrons);
	if (rc == STORE_OK && v->meter_id[0] != '\0')
		rc = kmeter_deduct(k, v->meter_id, r->computrons);
	if (rc == STORE_OK && k->cr.exiting == 1)
		rc = kvat_terminate(k, v, false, k->cr.exit_info);
	else if (rc == STORE_OK && k->cr.creating)
		rc = kcreate_finish(k, v);
	if (rc != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	v->tlen++;		/* the entry just appended */
	v->computrons += r->computrons;
	k->cr.computrons = r->computrons;
	if (ksnap_maybe_start(k, v))
		return;		/* kernel_vat_snapshotted() commits */
	crank_commit(k, r->computrons);
}

/* The heap snapshot taken after v's delivery is stored and the worker
 * restarted from it, or the snapshot was given up: either way the
 * delivery's crank commits (ksnapshot.c). */
void
kernel_vat_snapshotted(struct kernel *k, struct kvat *v)
{
	if (!k->in_crank || k->cr.vat != v) {
		kernel_halt(k, "can't happen: %s snapshotted outside its "
		    "delivery's crank", v->id);
		return;
	}
	if (k->cr.store_rc != STORE_OK) {
		crank_store_error(k, k->cr.store_rc);
		return;
	}
	crank_commit(k, k->cr.computrons);
}

void
kernel_vat_failed(struct kernel *k, struct kvat *v, bool vat_fault,
    const char *why)
{
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
	schedule(k);
}

/* ---- genesis: the first cranks' work, done once ------------------------ */

/*
 * Export each static vat's root (o+0) and queue its startVat, in ID
 * order (the vatAdmin vat's root is kept as vatAdminRootKref); then queue
 * bootstrap(vats, devices) to the bootstrap vat's root, with a result
 * promise the kernel keeps ("kernel.bootstrapResult").
 */
static int
genesis(struct kernel *k)
{
	json_t	*names = json_array(), *krefs = json_array(), *item, *ma;
	json_t	*dnames = json_array(), *dkrefs = json_array();
	char	*root = NULL, *kpid = NULL, *boot = kst_get(k,
		    "kernel.bootstrapVat");
	int	 rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < k->nvats; i++) {
		struct kvat *v = k->vats[i];

		rc = clist_to_kref(k, v, "o+0", true, &root);
		if (rc == STORE_OK && strcmp(v->name, "vatAdmin") == 0)
			rc = kst_put(k, "vatAdminRootKref", root);
		json_array_append_new(names, json_string(v->name));
		json_array_append_new(krefs, json_string(root ? root : ""));
		free(root);
		item = json_pack("{s:s, s:s}", "type", "startVat", "vatID",
		    v->id);
		if (rc == STORE_OK)
			rc = item ? kst_enqueue(k, item) : STORE_ENOMEM;
		json_decref(item);
	}
	if (rc == STORE_OK)
		rc = vad_genesis(k, dnames, dkrefs);
	if (rc == STORE_OK && boot != NULL && kvat_find(k, boot) != NULL) {
		ma = km_bootstrap_args(names, krefs, dnames, dkrefs);
		rc = ma ? kp_new(k, NULL, &kpid) : STORE_ENOMEM;
		item = rc == STORE_OK ? json_pack("{s:s, s:O, s:{s:O, s:s}}",
		    "type", "send", "target", json_array_get(krefs,
		    kvat_index(k, boot)), "msg", "methargs", ma,
		    "result", kpid) : NULL;
		rc = rc != STORE_OK ? rc : item ? kst_enqueue(k, item) :
		    STORE_ENOMEM;
		if (rc == STORE_OK)
			rc = kst_put(k, "kernel.bootstrapResult", kpid);
		json_decref(item);
		json_decref(ma);
	}
	if (rc == STORE_OK)
		rc = kst_put(k, "kernel.started", "1");
	free(kpid);
	free(boot);
	json_decref(names);
	json_decref(krefs);
	json_decref(dnames);
	json_decref(dkrefs);
	return rc;
}

static int
genesis_crank(struct kernel *k, char *errbuf, size_t errlen)
{
	char	*started = kst_get(k, "kernel.started");
	int	 rc;

	free(started);
	if (started != NULL)
		return 0;
	if ((rc = store_crank_begin(k->st)) == STORE_OK) {
		if ((rc = genesis(k)) == STORE_OK)
			rc = store_crank_commit(k->st);
		else
			store_crank_abort(k->st);
		kst_forget_queue(k);
	}
	if (rc != STORE_OK) {
		snprintf(errbuf, errlen, "first cranks: %s: %s",
		    store_strerror(rc), store_errmsg(k->st));
		return -1;
	}
	log_info("kernel", "queued startVat for %zu vats and bootstrap()",
	    k->nvats);
	return 0;
}

/* ---- entry points -------------------------------------------------------- */

struct kernel *
kernel_open(struct daemon *d, char *errbuf, size_t errlen)
{
	struct kernel *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	k->d = d;
	k->st = d->store;
	k->loop = d->loop;
	k->max_frame = d->cfg->daemon.max_frame;
	k->timeout = (double)d->cfg->daemon.delivery_timeout_ms / 1000.0;
	k->max_retries = d->cfg->daemon.max_retries;
	k->runq.key = "runQueue";
	k->createq.key = "createQueue";
	ev_idle_init(&k->step, step_cb);
	k->step.data = k;
	if (kvat_load(k, errbuf, errlen) == -1 ||
	    ksnap_open(k, errbuf, errlen) == -1 ||
	    genesis_crank(k, errbuf, errlen) == -1) {
		kernel_close(k);
		return NULL;
	}
	return k;
}

void
kernel_close(struct kernel *k)
{
	if (k == NULL)
		return;
	if (ev_is_active(&k->step))
		ev_idle_stop(k->loop, &k->step);
	crank_abort(k);
	kvat_free_all(k);
	ksnap_close(k);
	free(k->halted);
	free(k);
}

int
kernel_run(struct kernel *k, uint64_t max_cranks, uint64_t computrons,
    kernel_run_cb cb, void *arg)
{
	if (k->running)
		return -1;
	k->running = true;
	k->run_max = max_cranks;
	k->run_budget_c = computrons;
	k->run_done = k->run_computrons = 0;
	k->run_cb = cb;
	k->run_arg = arg;
	schedule(k);
	return 0;
}

bool
kernel_running(const struct kernel *k)
{
	return k->running;
}

const char *
kernel_halted(const struct kernel *k)
{
	return k->halted;
}

uint64_t
kernel_run_queue_length(struct kernel *k)
{
	return kst_queue_length(k);
}

/* The kref a queue op addresses: a static vat's root, or an existing
 * object or promise.  NULL when there is none. */
static char *
queue_target(struct kernel *k, const char *vat, const char *target)
{
	char	 key[256], *id, *kref = NULL;

	if (vat != NULL) {
		snprintf(key, sizeof(key), "vat.name.%s", vat);
		if ((id = kst_get(k, key)) == NULL)
			return NULL;
		snprintf(key, sizeof(key), "%s.c.o+0", id);
		free(id);
		return kst_get(k, key);
	}
	snprintf(key, sizeof(key), "%s.%s", target, strncmp(target, "ko", 2)
	    == 0 ? "owner" : "state");
	if ((id = kst_get(k, key)) != NULL)
		kref = strdup(target);
	free(id);
	return kref;
}

int
kernel_queue(struct kernel *k, const char *vat, const char *target,
    const char *method, const json_t *args, char **kpid, bool *notfound,
    char *errbuf, size_t errlen)
{
	char	*kref;
	int	 rc;

	*kpid = NULL;
	*notfound = false;
	if ((rc = store_crank_begin(k->st)) != STORE_OK)
		goto fail;
	if ((kref = queue_target(k, vat, target)) == NULL) {
		store_crank_abort(k->st);
		kst_forget_queue(k);
		*notfound = true;
		snprintf(errbuf, errlen, "no %s '%s'", vat ? "vat" : "object or "
		    "promise", vat ? vat : target);
		return -1;
	}
	rc = kp_send(k, kref, method, args, kpid);
	free(kref);
	if (rc == STORE_OK && (rc = store_crank_commit(k->st)) == STORE_OK)
		return 0;
	store_crank_abort(k->st);
	kst_forget_queue(k);
fail:
	free(*kpid);
	*kpid = NULL;
	snprintf(errbuf, errlen, "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	return -1;
}

json_t *
kernel_promise(struct kernel *k, const char *kpid)
{
	char	 key[64], *state, *dec;
	json_t	*out;

	snprintf(key, sizeof(key), "%s.state", kpid);
	if ((state = kst_get(k, key)) == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s.decider", kpid);
	dec = kst_get(k, key);
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
	opts = kst_get_json(k, key);
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
	return kst_get(k, "kernel.bootstrapResult");
}

void
kernel_block_committed(struct kernel *k)
{
	k->block_computrons = 0;
	ksnap_block_committed(k);	/* superseded snapshot files */
}

/* The vats: those in the table (a vat in its pseudo-crank is
 * "creating"), then those waiting in the creation queue ("queued"). */
json_t *
kernel_status_vats(struct kernel *k)
{
	json_t		*arr = json_array(), *id;
	const char	*state;

	for (size_t i = 0; arr != NULL && i < k->nvats; i++) {
		struct kvat *v = k->vats[i];

		state = k->in_crank && k->cr.creating && k->cr.vat == v ?
		    "creating" : kvat_state_name(v->state);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, "
		    "s:I, s:I, s:o}", "vatID", v->id, "name", v->name, "state",
		    state, "pid", v->vw ? json_integer(vatworker_pid(v->vw)) :
		    json_null(), "deliveries", (json_int_t)v->tlen,
		    "computrons", (json_int_t)v->computrons, "snapshotPos",
		    ksnap_status_pos(k, v)));
	}
	for (uint64_t i = 0; arr != NULL && (id = kst_peek(k, &k->createq,
	    i)) != NULL; i++) {
		if (kvat_find(k, json_string_value(id)) != NULL) {
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
