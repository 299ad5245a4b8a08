/*
 * ops.c — the control ops: one handler per op, each turning a parsed
 * request into a reply for the connection.  Parsing and reply framing live
 * in protocol/control_msg.c, the socket in control.c.  No handler changes
 * state on a bad request: validation happens before any store call.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/bundles/bundles.h"
#include "daemon/daemon.h"
#include "protocol/log.h"

#define SWINGSETD_VERSION "0.1.0"

void
ops_reply_ok(struct ctl_conn *conn, json_t *id, json_t *result)
{
	size_t	 len;
	char	*line = ctl_response_ok(id, result, &len);

	control_reply(conn, line, len);
}

void
ops_reply_error(struct ctl_conn *conn, json_t *id, enum ctl_code code,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg = NULL, *line;
	size_t	 len;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	line = ctl_response_error(id, code, msg ? msg : fmt, &len);
	free(msg);
	control_reply(conn, line, len);
}

/*
 * The status object: the store's committed and in-block counters, the
 * kernel's queue and vats.  Nothing here waits on a crank, so status
 * answers at any time, also while a crank waits on a worker (it then
 * shows the state inside that crank).  creationQueueLength counts vats
 * waiting to be created (not the one in its pseudo-crank, which the vat
 * list shows as "creating"); acceptanceQueueLength counts new events
 * not yet routed; blockComputrons sums the open block's committed
 * cranks; bootstrapResult is the kpid of bootstrap()'s result;
 * daemon.routing counts routing cranks and their time since start;
 * kernelStats is SwingSet's controller.getStats() (stats.c).
 */
static json_t *
ops_status_object(struct daemon *d)
{
	char	 hash[STORE_HASH_HEXLEN + 1], committed[STORE_HASH_HEXLEN + 1];
	const struct kernel_creation_stats *cs =
	    kernel_creation_stats(d->kernel);
	const struct kernel_routing_stats *rs =
	    kernel_routing_stats(d->kernel);
	char	*boot;
	json_t	*st;

	store_activity_hash(d->store, hash);
	store_committed_activity_hash(d->store, committed);
	boot = kernel_bootstrap_result(d->kernel);
	st = json_pack("{s:s, s:I, s:I, s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, "
	    "s:o, s:o?, s:s?, s:b, s:s?, s:{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:{s:I, "
	    "s:I, s:I, s:I}, s:{s:I, s:I}}}",
	    "version", SWINGSETD_VERSION,
	    "height", (json_int_t)store_height(d->store),
	    "crankNumber", (json_int_t)store_crank_count(d->store),
	    "blockOpen", store_block_is_open(d->store),
	    "activityHash", hash,
	    "committedActivityHash", committed,
	    "acceptanceQueueLength",
	    (json_int_t)kernel_acceptance_queue_length(d->kernel),
	    "runQueueLength", (json_int_t)kernel_run_queue_length(d->kernel),
	    "gcActionsLength",
	    (json_int_t)kernel_gc_actions_length(d->kernel),
	    "blockComputrons",
	    (json_int_t)kernel_block_computrons(d->kernel),
	    "creationQueueLength",
	    (json_int_t)kernel_creation_queue_length(d->kernel),
	    "vats", kernel_status_vats(d->kernel),
	    "devices", kernel_status_devices(d->kernel),
	    "kernelStats", kernel_stats(d->kernel),
	    "halted", kernel_halted(d->kernel),
	    "running", kernel_running(d->kernel),
	    "bootstrapResult", boot,
	    "daemon",
	    "stateDir", d->state_dir,
	    "socket", d->socket_path,
	    "pid", (json_int_t)getpid(),
	    "uptimeSeconds", (json_int_t)(time(NULL) - d->started),
	    "clients", (json_int_t)control_client_count(d->control),
	    "mapSize", (json_int_t)store_map_size(d->store),
	    "logDropped", (json_int_t)log_dropped(),
	    "creation",
	    "created", (json_int_t)cs->created,
	    "bootWaitUs", (json_int_t)cs->boot_wait_us,
	    "startVatUs", (json_int_t)cs->start_vat_us,
	    "commitUs", (json_int_t)cs->commit_us,
	    "routing",
	    "cranks", (json_int_t)rs->cranks,
	    "us", (json_int_t)rs->us);
	free(boot);
	if (st != NULL) {
		json_object_set_new(st, "reapQueueLength", json_integer(
		    (json_int_t)kernel_reap_queue_length(d->kernel)));
		json_object_set_new(json_object_get(st, "daemon"),
		    "bringOutYourDead", json_integer((json_int_t)
		    kernel_boyd_count(d->kernel)));
	}
	return st;
}

static void
ops_status(struct daemon *d, struct ctl_conn *conn, struct ctl_request *req)
{
	json_t *st = ops_status_object(d);

	if (st == NULL) {
		ops_reply_error(conn, req->id, CTL_E_INTERNAL,
		    "out of memory building status");
		return;
	}
	ops_reply_ok(conn, req->id, st);
}

/*
 * A halted kernel's open block holds work it could not finish: committing
 * it, or adding to it, would record a state a healthy kernel would not
 * reach.  Only a restart (which drops the open block) clears a halt.
 */
bool
ops_refuse_halted(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req, const char *what)
{
	const char *why = kernel_halted(d->kernel);

	if (why == NULL)
		return false;
	ops_reply_error(conn, req->id, CTL_E_HALTED, "the kernel is halted (%s); "
	    "no %s until the daemon is restarted and the block replayed",
	    why, what);
	return true;
}

/* A request that opens a crank of its own: refused while a run (or any
 * crank) is in progress, and while the kernel is halted. */
static bool
ops_refuse_busy(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req, const char *what)
{
	if (kernel_running(d->kernel) || store_crank_is_open(d->store)) {
		ops_reply_error(conn, req->id, CTL_E_BUSY, "a run is in progress; "
		    "%s after it answers", what);
		return true;
	}
	return ops_refuse_halted(d, conn, req, what);
}

static void
ops_commit(struct daemon *d, struct ctl_conn *conn, struct ctl_request *req)
{
	uint64_t height = req->u.commit.height, last = store_height(d->store);
	char	 hash[STORE_HASH_HEXLEN + 1];
	int	 rc;

	if (kernel_running(d->kernel)) {
		ops_reply_error(conn, req->id, CTL_E_BUSY, "a run is in progress; "
		    "commit after it answers");
		return;
	}
	if (ops_refuse_halted(d, conn, req, "commit"))
		return;
	if (last == UINT64_MAX || height != last + 1) {
		ops_reply_error(conn, req->id, CTL_E_BAD_HEIGHT,
		    "field 'height': %" PRIu64 " does not follow the last "
		    "committed height %" PRIu64 " (expected %" PRIu64 ")",
		    height, last, last + 1);
		return;
	}
	if ((rc = store_block_commit(d->store, height)) != STORE_OK) {
		log_warnx("ops", "commit of block %" PRIu64 " failed: %s",
		    height, store_errmsg(d->store));
		ops_reply_error(conn, req->id, CTL_E_STORE, "commit of block %"
		    PRIu64 " failed, block kept open: %s", height,
		    store_errmsg(d->store));
		return;
	}
	store_committed_activity_hash(d->store, hash);
	log_info("ops", "committed block %" PRIu64 " activity hash %s",
	    height, hash);
	ops_reply_ok(conn, req->id, json_pack("{s:I, s:s, s:I}",
	    "height", (json_int_t)height, "activityHash", hash, "computrons",
	    (json_int_t)kernel_block_computrons(d->kernel)));
	kernel_block_committed(d->kernel);
}

static void
ops_queue(struct daemon *d, struct ctl_conn *conn, struct ctl_request *req)
{
	char	 err[512], *kpid;
	bool	 notfound;

	if (kernel_running(d->kernel)) {
		ops_reply_error(conn, req->id, CTL_E_BUSY, "a run is in progress; "
		    "queue after it answers");
		return;
	}
	if (ops_refuse_halted(d, conn, req, "queue"))
		return;
	if (kernel_queue(d->kernel, req->u.queue.vat, req->u.queue.target,
	    req->u.queue.method, req->u.queue.args, !req->u.queue.no_result,
	    &kpid, &notfound, err, sizeof(err)) == -1) {
		ops_reply_error(conn, req->id, notfound ? CTL_E_NOT_FOUND :
		    CTL_E_STORE, "%s", err);
		return;
	}
	ops_reply_ok(conn, req->id, json_pack("{s:s?}", "kpid", kpid));
	free(kpid);
}

/* A run answers when the kernel stops: the reply waits with its id. */
struct pending_run {
	struct daemon	*d;
	struct ctl_conn	*conn;
	json_t		*id;
};

static void
ops_run_done(void *arg, const struct kernel_run_result *r)
{
	struct pending_run	*pr = arg;
	struct daemon		*d = pr->d;
	char			 hash[STORE_HASH_HEXLEN + 1];

	store_activity_hash(d->store, hash);
	if (r->error != NULL)
		ops_reply_error(pr->conn, pr->id, CTL_E_STORE, "after %llu cranks: "
		    "%s", (unsigned long long)r->cranks, r->error);
	else
		ops_reply_ok(pr->conn, pr->id, json_pack("{s:I, s:I, s:b, s:s, "
		    "s:s, s:s?}", "cranks", (json_int_t)r->cranks,
		    "computrons", (json_int_t)r->computrons, "idle", r->idle,
		    "activityHash", hash, "stopped", r->stopped, "halted",
		    kernel_halted(d->kernel)));
	json_decref(pr->id);
	free(pr);
}

/*
 * The timer device's poll(now), a crank of the open block (poll, and
 * run with "now" before it runs).  false after replying with the error:
 * bad_time for a time before the last poll's, not_found without a timer
 * device, halted, or store_error (the kernel then halts).
 */
static bool
ops_poll_now(struct daemon *d, struct ctl_conn *conn, struct ctl_request *req,
    uint64_t now, bool *woke)
{
	enum kernel_device_refusal refused;
	char	 err[512];
	bool	 w;

	if (ops_refuse_halted(d, conn, req, "poll"))
		return false;
	if (kernel_poll(d->kernel, now, woke ? woke : &w, &refused, err,
	    sizeof(err)) == 0)
		return true;
	ops_reply_error(conn, req->id, refused == KERNEL_DEV_BACKWARDS ?
	    CTL_E_BAD_TIME : refused == KERNEL_DEV_NO_DEVICE ?
	    CTL_E_NOT_FOUND : CTL_E_STORE, "field 'now': %s", err);
	return false;
}

static void
ops_poll(struct daemon *d, struct ctl_conn *conn, struct ctl_request *req)
{
	bool	 woke;
	char	 now[32];

	if (kernel_running(d->kernel)) {
		ops_reply_error(conn, req->id, CTL_E_BUSY, "a run is in progress; "
		    "poll after it answers");
		return;
	}
	if (!ops_poll_now(d, conn, req, req->u.poll.now, &woke))
		return;
	snprintf(now, sizeof(now), "%" PRIu64, req->u.poll.now);
	ops_reply_ok(conn, req->id, json_pack("{s:b, s:s}", "woke", woke,
	    "lastPolled", now));
}

/* mailboxDeliver: inbound messages and an ack, a crank of the block. */
static void
ops_mailbox_deliver(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req)
{
	enum kernel_device_refusal refused;
	char	 err[512];

	if (kernel_running(d->kernel)) {
		ops_reply_error(conn, req->id, CTL_E_BUSY, "a run is in progress; "
		    "mailboxDeliver after it answers");
		return;
	}
	if (ops_refuse_halted(d, conn, req, "mailboxDeliver"))
		return;
	if (kernel_mailbox_deliver(d->kernel, req->u.mailbox_deliver.peer,
	    req->u.mailbox_deliver.messages, req->u.mailbox_deliver.ack,
	    &refused, err, sizeof(err)) == -1) {
		ops_reply_error(conn, req->id, refused == KERNEL_DEV_OK ?
		    CTL_E_STORE : CTL_E_NOT_FOUND, "%s", err);
		return;
	}
	ops_reply_ok(conn, req->id, NULL);
}

static void
ops_mailbox_outbox(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req)
{
	json_t *box = kernel_mailbox_outbox(d->kernel);

	if (box == NULL)
		ops_reply_error(conn, req->id, CTL_E_NOT_FOUND, "the configuration "
		    "has no mailbox device (devices.mailbox)");
	else
		ops_reply_ok(conn, req->id, json_pack("{s:o}", "outbox", box));
}

static void
ops_run(struct daemon *d, struct ctl_conn *conn, struct ctl_request *req)
{
	struct kernel_cleanup_budget cleanup;
	struct pending_run *pr;

	if (kernel_running(d->kernel)) {
		ops_reply_error(conn, req->id, CTL_E_BUSY, "another run is in "
		    "progress");
		return;
	}
	if ((pr = calloc(1, sizeof(*pr))) == NULL) {
		ops_reply_error(conn, req->id, CTL_E_INTERNAL, "out of memory");
		return;
	}
	/* a halted kernel's run answers stopped: halted, now or not */
	if (req->u.run.has_now && kernel_halted(d->kernel) == NULL &&
	    !ops_poll_now(d, conn, req, req->u.run.now, NULL)) {
		free(pr);
		return;
	}
	pr->d = d;
	pr->conn = conn;
	pr->id = json_incref(req->id);
	/* the protocol's phases are the kernel's, in the same order */
	_Static_assert(CTL_CLEANUP_PHASES == KCLEANUP_PHASES,
	    "cleanup phases differ");
	cleanup.mode = req->u.run.cleanup_mode == CTL_CLEANUP_NONE ?
	    KERNEL_CLEANUP_NONE : req->u.run.cleanup_mode ==
	    CTL_CLEANUP_BUDGET ? KERNEL_CLEANUP_BUDGET : KERNEL_CLEANUP_ALL;
	for (int p = 0; p < KCLEANUP_PHASES; p++)
		cleanup.limit[p] = req->u.run.cleanup[p] > INT64_MAX ?
		    INT64_MAX : (int64_t)req->u.run.cleanup[p];
	kernel_run(d->kernel, req->u.run.cranks, req->u.run.computrons,
	    &cleanup, ops_run_done, pr);
}

static void
ops_promise(struct daemon *d, struct ctl_conn *conn, struct ctl_request *req)
{
	json_t	*p;
	char	 err[512];
	bool	 notheld;

	if (req->u.promise.release && ops_refuse_busy(d, conn, req,
	    "promise release"))
		return;
	if ((p = kernel_promise(d->kernel, req->u.promise.kpid)) == NULL) {
		ops_reply_error(conn, req->id, CTL_E_NOT_FOUND, "no promise '%s'",
		    req->u.promise.kpid);
		return;
	}
	if (req->u.promise.release && kernel_promise_release(d->kernel,
	    req->u.promise.kpid, &notheld, err, sizeof(err)) == -1) {
		json_decref(p);
		ops_reply_error(conn, req->id, notheld ? CTL_E_NOT_FOUND :
		    CTL_E_STORE, "%s", err);
		return;
	}
	if (req->u.promise.release)
		json_object_set_new(p, "released", json_true());
	ops_reply_ok(conn, req->id, p);
}

/*
 * installBundle: check the bundle, then install it in a crank of the open
 * block, as SwingSet does: it is a block input, committed with the block
 * (a lost block loses it; the producer sends it again).  Not during a
 * run, whose crank owns the store's transactions, nor while halted.
 */
static void
ops_install_bundle(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req)
{
	char	 why[1024], *id = NULL;
	bool	 existed;
	int	 rc;

	if (ops_refuse_busy(d, conn, req, "installBundle"))
		return;
	rc = bundle_check(req->u.install_bundle.bundle,
	    req->u.install_bundle.bundle_id, &id, why, sizeof(why));
	if (rc != 0) {
		log_info("ops", "installBundle refused: %s", why);
		ops_reply_error(conn, req->id, rc == BUNDLE_REFUSED ?
		    CTL_E_BAD_BUNDLE : CTL_E_INTERNAL, "%s", why);
		return;
	}
	if (kernel_install_bundle(d->kernel, req->u.install_bundle.bundle, id,
	    &existed, why, sizeof(why)) == -1) {
		log_warnx("ops", "installBundle %s: %s", id, why);
		ops_reply_error(conn, req->id, CTL_E_STORE, "bundle %s not "
		    "installed: %s", id, why);
	} else {
		log_info("ops", "bundle %s %s", id, existed ? "was already "
		    "installed" : "installed");
		ops_reply_ok(conn, req->id, json_pack("{s:s}", "bundleID", id));
	}
	free(id);
}

/*
 * terminateVat: SwingSet's controller.terminateVat, a crank of the open
 * block like installBundle; its consequences (rejections, vatTerminated)
 * are queued for the next run.
 */
static void
ops_terminate_vat(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req)
{
	char	 err[512];
	bool	 notfound;

	if (ops_refuse_busy(d, conn, req, "terminateVat"))
		return;
	if (kernel_terminate_vat(d->kernel, req->u.terminate.vat,
	    req->u.terminate.vat_id, req->u.terminate.reason, &notfound, err,
	    sizeof(err)) == -1) {
		ops_reply_error(conn, req->id, notfound ? CTL_E_NOT_FOUND :
		    CTL_E_STORE, "%s", err);
		return;
	}
	ops_reply_ok(conn, req->id, json_pack("{s:s?}", "halted",
	    kernel_halted(d->kernel)));
}

/* reapAllVats: every live vat joins the reap queue (in the open block);
 * the next run delivers their bringOutYourDead. */
static void
ops_reap_all_vats(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req)
{
	char	 err[512];
	json_t	*vats;

	if (ops_refuse_busy(d, conn, req, "reapAllVats"))
		return;
	if ((vats = kernel_reap_all_vats(d->kernel, err, sizeof(err))) ==
	    NULL) {
		ops_reply_error(conn, req->id, CTL_E_STORE, "%s", err);
		return;
	}
	ops_reply_ok(conn, req->id, json_pack("{s:o}", "scheduled", vats));
}

static void
ops_shutdown(struct daemon *d, struct ctl_conn *conn, struct ctl_request *req)
{
	ops_reply_ok(conn, req->id, NULL);
	daemon_stop(d, "shutdown requested on the control socket");
}

void
ops_dispatch(struct daemon *d, struct ctl_conn *conn, const char *line,
    size_t len)
{
	struct ctl_request	 req;
	struct ctl_parse_error	 err;

	if (ctl_request_parse(line, len, &req, &err) == -1) {
		log_debug("ops", "bad request: %s", err.message);
		ops_reply_error(conn, err.id, err.code, "%s", err.message);
		ctl_parse_error_clear(&err);
		return;
	}
	if (d->stopping && req.op != CTL_OP_STATUS)
		ops_reply_error(conn, req.id, CTL_E_SHUTTING_DOWN,
		    "the daemon is shutting down");
	else if (!control_conn_is_producer(conn) && req.op != CTL_OP_STATUS &&
	    (req.op != CTL_OP_PROMISE || req.u.promise.release) &&
	    req.op != CTL_OP_MAILBOX_OUTBOX)
		/* only the producer puts inputs into blocks, commits them or
		 * stops the node; other allowed peers may look (bgpd's
		 * restricted socket) */
		ops_reply_error(conn, req.id, CTL_E_DENIED, "only the producer "
		    "(daemon.producerUids) may send '%s'; this connection may "
		    "send status, promise and mailboxOutbox",
		    ctl_op_name(req.op));
	else switch (req.op) {
	case CTL_OP_STATUS:
		ops_status(d, conn, &req);
		break;
	case CTL_OP_COMMIT:
		ops_commit(d, conn, &req);
		break;
	case CTL_OP_SHUTDOWN:
		ops_shutdown(d, conn, &req);
		break;
	case CTL_OP_QUEUE:
		ops_queue(d, conn, &req);
		break;
	case CTL_OP_RUN:
		ops_run(d, conn, &req);
		break;
	case CTL_OP_PROMISE:
		ops_promise(d, conn, &req);
		break;
	case CTL_OP_INSTALL_BUNDLE:
		ops_install_bundle(d, conn, &req);
		break;
	case CTL_OP_POLL:
		ops_poll(d, conn, &req);
		break;
	case CTL_OP_MAILBOX_DELIVER:
		ops_mailbox_deliver(d, conn, &req);
		break;
	case CTL_OP_MAILBOX_OUTBOX:
		ops_mailbox_outbox(d, conn, &req);
		break;
	case CTL_OP_TERMINATE_VAT:
		ops_terminate_vat(d, conn, &req);
		break;
	case CTL_OP_BRIDGE_INBOUND:
		ops_bridge_inbound(d, conn, &req);
		break;
	case CTL_OP_BRIDGE_REGISTER:
		ops_bridge_register(d, conn, &req);
		break;
	case CTL_OP_BRIDGE_ANSWER:
		ops_bridge_answer(d, conn, &req);
		break;
	case CTL_OP_REAP_ALL_VATS:
		ops_reap_all_vats(d, conn, &req);
		break;
	}
	ctl_request_clear(&req);
}
