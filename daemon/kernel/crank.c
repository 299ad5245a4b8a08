/*
 * crank.c — the crank loop.  One crank at a time, chosen in SwingSet's
 * order (crank_next): a routing crank moves a new event from the
 * acceptance queue on (route.c) and commits; a delivery crank opens a
 * crank transaction, takes the run-queue's head, routes it again; if it
 * needs a vat, makes sure the vat's worker is online (daemon/vats/),
 * delivers, and — when the worker answers — records the transcript entry
 * and commits.
 * Waiting on a worker is a state of the kernel, resumed by the worker's
 * callbacks; the next crank is scheduled with an idle watcher so the
 * event loop (and status) stays responsive between cranks.
 *
 * What ends a crank:
 *   - success: commit; the crank hash feeds the activity hash.  When the
 *     vat's heap snapshot is due, it is taken (and the worker restarted
 *     from it) first, inside the crank (daemon/vats/snapshot.c).
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

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

uint64_t
crank_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The crank transaction's end: the maybe-free list examined inside it,
 * then the commit.  A store code. */
int
kcommit(struct kernel *k)
{
	int rc = kref_process(k);

	return rc == STORE_OK ? kstat_commit(k) : rc;	/* stats.c */
}

/* The crank transaction dropped, and the maybe-free list with it. */
void
kabort(struct kernel *k)
{
	store_crank_abort(k->st);
	kref_forget(k);
	kstat_abort(k);
}

void
crank_schedule(struct kernel *k)
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
		vats_empty_graveyard(&k->vats);	/* nothing on the stack holds them */
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
	snapshot_cancel(&k->vats);	/* a snapshot the crank was waiting for */
	kbridge_cancel(k);		/* a bridge answer it was waiting for */
	memset(&k->cr, 0, sizeof(k->cr));
}

/*
 * Drop the crank.  A worker that already received its delivery is ahead
 * of the committed transcript now: let it go, so that the next delivery
 * rebuilds it by replay.
 */
void
crank_abort(struct kernel *k)
{
	struct kvat *v = k->cr.vat;

	if (k->in_crank)
		kabort(k);
	kst_forget_queue(k);
	if (v != NULL) {
		if (k->cr.sent || k->cr.creating)
			vat_offline(v);
		v->tlen = transcript_length(v);
	}
	cr_clear(k);
	if (k->in_crank)
		vats_resync(&k->vats);		/* may drop v: the crank added it */
	k->in_crank = false;
}

/*
 * SwingSet's runPolicy.allowCleanup(), asked before every crank that is
 * not a routing crank: a budget allows one cleanup crank per run, and is
 * spent at the first asking, whether or not a vat is waiting (its
 * someCleanup policy).  true: a cleanup crank now.
 */
static bool
cleanup_take(struct kernel *k)
{
	if (k->run_cleanup.mode == KERNEL_CLEANUP_NONE)
		return false;
	if (k->run_cleanup.mode == KERNEL_CLEANUP_BUDGET) {
		if (k->run_cleaned)
			return false;
		k->run_cleaned = true;
	}
	return kcleanup_pending(k);
}

/* Whether the run may clean a terminated vat up now (and one waits). */
static bool
cleanup_allowed(struct kernel *k)
{
	if (k->run_cleanup.mode == KERNEL_CLEANUP_NONE ||
	    (k->run_cleanup.mode == KERNEL_CLEANUP_BUDGET && k->run_cleaned))
		return false;
	return kcleanup_pending(k);
}

/* Nothing left to do: every queue empty, no crank in flight (and no
 * cleanup this run may do). */
static bool
kernel_idle(struct kernel *k)
{
	return kst_length(k, &k->accq) == 0 && kst_queue_length(k) == 0 &&
	    kst_length(k, &k->createq) == 0 && !kgc_pending(k) &&
	    !kreap_pending(k) && !cleanup_allowed(k) && !k->in_crank;
}

static void
run_finish(struct kernel *k, const char *stopped, const char *error)
{
	struct kernel_run_result r = {
		.cranks = k->run_done,
		.computrons = k->run_computrons,
		.idle = k->halted == NULL && kernel_idle(k),
		.stopped = stopped,
		.error = error,
	};

	if (!k->running)
		return;
	k->running = false;
	k->run_cb(k->run_arg, &r);
}

void
kernel_vhalt(struct kernel *k, const char *fmt, va_list ap)
{
	if (k->halted == NULL) {
		if (vasprintf(&k->halted, fmt, ap) < 0)
			k->halted = strdup("halted (reason lost: no memory)");
		log_error("kernel", "halted: %s", k->halted);
	}
	crank_abort(k);
	run_finish(k, "halted", NULL);
}

void
kernel_halt(struct kernel *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kernel_vhalt(k, fmt, ap);
	va_end(ap);
}

/* A store failure ends the run; the crank leaves no trace. */
void
crank_store_error(struct kernel *k, int rc)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	log_error("kernel", "crank abandoned: %s", msg);
	kernel_store_halt(k, msg);
	crank_abort(k);
	run_finish(k, "error", msg);
}

/*
 * A crank that cannot be written (a full map at maxMapSize, a full disk,
 * no memory) or state that cannot be read must not be dropped from, or
 * misread into, a block that then commits: another node would commit
 * otherwise.  The kernel halts — commit and queue refused, the
 * reason in status, the last committed block intact — until a restart
 * with room drops the open block and the producer sends it again.
 */
void
kernel_store_halt(struct kernel *k, const char *msg)
{
	if (k->halted != NULL)
		return;
	if (asprintf(&k->halted, "store failure: %s; nothing more is "
	    "committed until the cause is fixed (a full map: raise "
	    "daemon.maxMapSize; a full disk: free space), the daemon "
	    "restarted and the open block sent again", msg) < 0)
		k->halted = strdup("store failure");
	log_error("kernel", "halted: %s", k->halted ? k->halted : msg);
}

/*
 * SwingSet's kernel panic, met inside a crank (a critical vat ends): the
 * kernel halts with the reason, the crank in flight may still end, but
 * nothing more runs and the open block can never be committed.
 */
void
kernel_panic(struct kernel *k, const char *fmt, ...)
{
	va_list ap;

	if (k->halted != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&k->halted, fmt, ap) < 0)
		k->halted = strdup("kernel panic (reason lost: no memory)");
	va_end(ap);
	log_error("kernel", "halted: %s", k->halted ? k->halted : "?");
}

void
crank_commit(struct kernel *k, uint64_t computrons)
{
	int rc;

	if ((rc = kcommit(k)) != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	k->in_crank = false;
	if (k->cr.creating && k->cr.vat != NULL && k->cr.exiting == 0)
		log_info("kernel", "%s: created in crank %" PRIu64 " (startVat: "
		    "%zu syscalls, %zu vatstore writes)", k->cr.vat->id,
		    store_crank_count(k->st), k->cr.sc_count, k->cr.vs_writes);
	if (k->cr.sent)		/* a reap crank for a dead vat sends none */
		k->boyds += (k->cr.reaping ? 1 : 0) + (k->cr.snap_boyd ? 1 : 0);
	if (k->cr.routing) {
		k->rstats.cranks++;
		k->rstats.us += crank_now_us() - k->cr.t_start;
	}
	if (k->cr.creating && k->cr.t_done != 0) {
		k->cstats.created++;
		k->cstats.boot_wait_us += k->cr.t_ready - k->cr.t_start;
		k->cstats.start_vat_us += k->cr.t_done - k->cr.t_ready;
		k->cstats.commit_us += crank_now_us() - k->cr.t_done;
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
		crank_schedule(k);
		return;
	}
	k->chained = true;
	crank_next(k);
	k->chained = false;
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
	k->cr.t_start = crank_now_us();
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

/*
 * A routing crank (kernel-semantics §6.3): the acceptance queue's head
 * goes to the run-queue, onto a promise's queue, or splats.  It needs no
 * worker, so it commits at once.
 */
static void
crank_route(struct kernel *k)
{
	int rc;

	if ((rc = store_crank_begin(k->st)) != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	k->in_crank = true;
	k->cr.routing = true;
	k->cr.t_start = crank_now_us();
	k->cr.item = kst_shift(k, &k->accq);
	rc = k->cr.item ? kroute_accept(k, k->cr.item) : STORE_EIO;
	if (rc == STORE_OK)
		rc = store_crank_status(k->st);
	if (rc != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	if (k->halted != NULL)		/* e.g. the run-queue is damaged */
		kernel_halt(k, "%s", k->halted);
	else
		crank_commit(k, 0);
}

/* The open crank, its item handled (rc): a store failure ends it, no
 * delivery commits it, else v gets vdo (the crank takes it). */
static void
crank_go(struct kernel *k, int rc, struct kvat *v, json_t *vdo)
{
	if (rc != STORE_OK) {
		json_decref(vdo);
		crank_store_error(k, rc);
	} else if (v == NULL) {
		json_decref(vdo);
		crank_commit(k, 0);
	} else {
		k->cr.vat = v;
		k->cr.vdo = vdo;
		crank_deliver(k);
	}
}

/* Open the crank of a kernel-made delivery (GC, reaping): no meter is
 * charged for it.  false when the store refused (the crank is over). */
static bool
crank_open_unmetered(struct kernel *k)
{
	int rc = store_crank_begin(k->st);

	if (rc != STORE_OK) {
		crank_store_error(k, rc);
		return false;
	}
	k->in_crank = true;
	k->cr.unmetered = true;
	return true;
}

/*
 * A GC crank (kernel-semantics §9.4): the first GC action group still
 * worth doing becomes one delivery, unmetered; a crank that found only
 * stale actions (or a dead vat) commits with no delivery.
 */
static void
crank_gc(struct kernel *k)
{
	struct kvat	*v;
	json_t		*vdo;
	int		 rc;

	if (!crank_open_unmetered(k))
		return;
	rc = kgc_next(k, &v, &vdo);
	if (rc == STORE_OK && vdo != NULL)
		k->cr.gc_krefs = json_array_size(json_array_get(vdo, 1));
	crank_go(k, rc, v, vdo);
}

/*
 * A reap crank (kernel-semantics §9.7): the reap queue's head gets its
 * bringOutYourDead, unmetered; its dirt is cleared when it ends well.  A
 * vat terminated since it was queued gets nothing.
 */
static void
crank_reap(struct kernel *k)
{
	struct kvat	*v;
	json_t		*vdo;
	int		 rc;

	if (!crank_open_unmetered(k))
		return;
	k->cr.reaping = true;
	rc = kreap_next(k, &v, &vdo);
	crank_go(k, rc, v, vdo);
}

/*
 * A cleanup crank (kernel-semantics §10.3): some of the first terminated
 * vat's state deleted, within the run's budget.  No delivery.
 */
static void
crank_cleanup(struct kernel *k)
{
	const struct kernel_cleanup_budget *b = k->run_cleanup.mode ==
	    KERNEL_CLEANUP_BUDGET ? &k->run_cleanup : NULL;
	uint64_t	 work[KCLEANUP_PHASES];
	char		*vid;
	bool		 done = false;
	int		 rc;

	if ((rc = store_crank_begin(k->st)) != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	k->in_crank = true;
	vid = kcleanup_next(k);
	rc = vid ? kcleanup_step(k, vid, b, work, &done) : STORE_ENOMEM;
	if (rc != STORE_OK) {
		free(vid);
		crank_store_error(k, rc);
		return;
	}
	kcleanup_log(vid, work, done);
	free(vid);
	if (done)
		vats_resync(&k->vats);	/* it leaves the table */
	crank_commit(k, 0);
}

/*
 * The next crank, in SwingSet's strict priority (kernel-semantics §6.2):
 * a routing crank while the acceptance queue has work; then a terminated
 * vat's cleanup, as far as the run allows; then a GC action's
 * delivery; then a bringOutYourDead for the reap queue's head; then a
 * vat's creation (the pseudo-crank: swingsetd's own queue, in the place
 * of SwingSet's create-vat run-queue item, ahead of the run-queue); then
 * the run-queue's head.
 */
void
crank_next(struct kernel *k)
{
	struct kvat	*v = NULL;
	json_t		*vdo = NULL;
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
	if (kst_length(k, &k->accq) > 0 && k->halted == NULL) {
		crank_route(k);
		return;
	}
	if (cleanup_take(k)) {
		crank_cleanup(k);
		return;
	}
	if (kgc_pending(k)) {
		crank_gc(k);
		return;
	}
	if (kreap_pending(k)) {
		crank_reap(k);
		return;
	}
	if (kst_length(k, &k->createq) > 0 && k->halted == NULL) {
		crank_create(k);
		return;
	}
	if (kst_queue_length(k) == 0 || k->halted != NULL) {
		/* an unreadable queue halts the kernel: never "idle" then */
		run_finish(k, k->halted != NULL ? "halted" : "idle", NULL);
		return;
	}
	if ((rc = store_crank_begin(k->st)) != STORE_OK) {
		crank_store_error(k, rc);
		return;
	}
	k->in_crank = true;
	k->cr.item = kst_dequeue(k);
	rc = k->cr.item ? kroute_item(k, k->cr.item, &v, &vdo) : STORE_EIO;
	crank_go(k, rc, v, vdo);
}

struct kernel *
kernel_open(const struct kernel_params *p, char *errbuf, size_t errlen)
{
	struct kernel *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	k->p = p;
	k->st = p->st;
	k->loop = p->loop;
	k->max_retries = p->cfg->daemon.max_retries;
	k->accq.key = "acceptanceQueue";
	k->runq.key = "runQueue";
	k->createq.key = "createQueue";
	ev_idle_init(&k->step, step_cb);
	k->step.data = k;
	device_host_init(k);
	if (vats_open(&k->vats, p->loop, p->st, p->cfg, p->state_dir,
	    p->xsnap_boot, &kernel_vat_events, k, errbuf, errlen) == -1 ||
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
	kref_forget(k);
	vats_close(&k->vats);
	free(k->halted);
	free(k);
}

int
kernel_run(struct kernel *k, uint64_t max_cranks, uint64_t computrons,
    const struct kernel_cleanup_budget *cleanup, kernel_run_cb cb, void *arg)
{
	if (k->running)
		return -1;
	k->running = true;
	k->run_cleanup.mode = KERNEL_CLEANUP_ALL;
	if (cleanup != NULL)
		k->run_cleanup = *cleanup;
	k->run_cleaned = false;
	k->run_max = max_cranks;
	k->run_budget_c = computrons;
	k->run_done = k->run_computrons = 0;
	k->run_cb = cb;
	k->run_arg = arg;
	crank_schedule(k);
	return 0;
}

bool
kernel_running(const struct kernel *k)
{
	return k->running;
}
