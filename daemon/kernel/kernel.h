/*
 * kernel.h — the door of daemon/kernel/: the crank loop and the kernel's
 * semantics (queues, routing, syscalls, promises, c-lists, meters,
 * creation and termination of vats, the first start), over the store.
 * The process (daemon/) uses only what this header declares; everything
 * else of the folder is in kernel_impl.h, private to it.
 *
 * State lives in the store's kv table under the keys listed in
 * docs/state.md; struct kernel holds caches and the crank in flight.
 * One crank runs at a time.  A crank that must wait on a worker (boot,
 * replay, delivery) is a state of the kernel, resumed by the events
 * daemon/vats/ sends it; the event loop never blocks.
 *
 * Ownership: kernel_open() borrows everything in its parameters (they
 * must outlive the kernel) and returns a kernel the caller releases with
 * kernel_close().  Strings and JSON the functions below return are the
 * caller's unless a comment says "borrowed".
 */
#ifndef DAEMON_KERNEL_KERNEL_H
#define DAEMON_KERNEL_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "conf/config.h"
#include "daemon/store/store.h"

struct kernel;

/* What the kernel needs of the process, borrowed for its lifetime. */
struct kernel_params {
	struct ev_loop	*loop;
	struct store	*st;
	const struct config *cfg;
	const char	*state_dir;	/* absolute */
	json_t		*xsnap_boot;	/* xsnap workers' boot commands, or
					   NULL when no vat runs on xsnap */
	const json_t	*xsnap_bundle_ids; /* their bundle IDs, or NULL */
	/* Bundle a vat's sourceSpec at first start: the bundle (a new
	 * reference) or NULL with err. */
	json_t		*(*bundle_source)(const char *entry, char *err,
			    size_t errlen);
};

/* ---- boot.c: first start and the consistency check of later ones ----- */

/*
 * At first start (no kernel.version in the state): record the
 * configuration — vats, their bundles and options, devices, the
 * consensus settings — in a crank of the first block.  At a later start:
 * check that the configuration still says what was recorded.  -1 (and
 * the reason logged) when it cannot, or when the configuration and the
 * state disagree.
 */
int	 kernel_boot(const struct kernel_params *p);

/* ---- crank.c: opening, running, closing -------------------------------- */

struct kernel_run_result {
	uint64_t	 cranks;	/* cranks committed by this run */
	uint64_t	 computrons;
	bool		 idle;		/* nothing left to do */
	const char	*stopped;	/* "idle", "budget", "halted", "error" */
	const char	*error;		/* store trouble, when stopped = error */
};

typedef void (*kernel_run_cb)(void *arg, const struct kernel_run_result *);

/* Load the vat table and queue the first cranks' work (once).  NULL with
 * errbuf. */
struct kernel *kernel_open(const struct kernel_params *p, char *errbuf,
	    size_t errlen);
void	 kernel_close(struct kernel *k);

/*
 * What cleanup of terminated vats a run may do (README "Terminated
 * vats"; SwingSet's runPolicy.allowCleanup): all of it (SwingSet's
 * default), none, or one cleanup crank within a budget — at most
 * limit[phase] deletions in each phase, in this order.
 */
#define KCLEANUP_PHASES	6
enum { KCLEANUP_EXPORTS, KCLEANUP_IMPORTS, KCLEANUP_PROMISES, KCLEANUP_KV,
    KCLEANUP_SNAPSHOTS, KCLEANUP_TRANSCRIPTS };
extern const char *const kcleanup_phases[KCLEANUP_PHASES];
enum kernel_cleanup_mode { KERNEL_CLEANUP_ALL, KERNEL_CLEANUP_NONE,
    KERNEL_CLEANUP_BUDGET };
struct kernel_cleanup_budget {
	enum kernel_cleanup_mode mode;
	int64_t		 limit[KCLEANUP_PHASES];	/* each >= 1 */
};

/* Run up to max_cranks cranks (0 = until idle), stopping also once
 * computrons (0 = no limit) have been used, with the cleanup cleanup
 * allows (NULL: all); cb is called once, from the loop.  -1 if a run is
 * already in progress. */
int	 kernel_run(struct kernel *k, uint64_t max_cranks, uint64_t computrons,
	    const struct kernel_cleanup_budget *cleanup, kernel_run_cb cb,
	    void *arg);
bool	 kernel_running(const struct kernel *k);

/* ---- host.c: the producer's requests and the status ------------------ */

/* Queue method(args) to a static vat's root (vat != NULL) or to a kref;
 * *kpid receives the result promise (malloc'd), which the host holds
 * until it releases it — or none without kpid_wanted (send-only: *kpid
 * NULL).  Runs as its own crank.  -1 with errbuf; *notfound set when the
 * target does not exist. */
int	 kernel_queue(struct kernel *k, const char *vat, const char *target,
	    const char *method, const json_t *args, bool kpid_wanted,
	    char **kpid,
	    bool *notfound, char *errbuf, size_t errlen);

/*
 * installBundle, a block input as in SwingSet (kernel.installBundle): a
 * bundle not yet installed is stored in a crank of the open block (a lost
 * block loses it, and the producer sends it again), and the vat-admin vat
 * is sent bundleInstalled(id) in the same crank.  bundle must be checked
 * already (bundle_check) and id be its ID.  *existed: it was there, and
 * nothing was done.  -1 with errbuf on a store failure, which halts the
 * kernel.
 */
int	 kernel_install_bundle(struct kernel *k, const json_t *bundle,
	    const char *id, bool *existed, char *errbuf, size_t errlen);

/* A promise's state as a JSON object (new reference), or NULL. */
/*
 * Terminate a vat, named by a static vat's name or by its ID (one of the
 * two NULL), in a crank of the open block, with reason (capdata without
 * slots, borrowed).  -1 with errbuf and *notfound when no live vat is
 * named; -1 without *notfound on a store failure (the kernel halts).
 * A critical vat's termination halts the kernel (kernel_halted()).
 */
int	 kernel_terminate_vat(struct kernel *k, const char *name,
	    const char *vid, const json_t *reason, bool *notfound,
	    char *errbuf, size_t errlen);
json_t	*kernel_promise(struct kernel *k, const char *kpid);
/*
 * The host lets go of kpid, a result it holds (bootstrap()'s or a queue
 * op's), in a crank of the open block, as SwingSet's kpResolution does:
 * a settled promise nobody else holds is then deleted, with what its
 * data held.  -1 with errbuf and *notheld when the host does not hold it
 * (any more); -1 without on a store failure (the kernel halts).
 */
int	 kernel_promise_release(struct kernel *k, const char *kpid,
	    bool *notheld, char *errbuf, size_t errlen);
/*
 * reapAllVats from the host (SwingSet's controller.reapAllVats): every
 * live vat joins the reap queue, in a crank of the open block, static
 * vats first, each once.  The vat IDs now queued (an array, new
 * reference), or NULL with errbuf on a store failure (the kernel halts).
 */
json_t	*kernel_reap_all_vats(struct kernel *k, char *errbuf, size_t errlen);

/* Where pseudo-cranks spend their time (this process, not state): from
 * the crank's start to the worker's ready handshake, then to startVat's
 * answer, then to the commit; microseconds, summed. */
struct kernel_creation_stats {
	uint64_t	 created;	/* pseudo-cranks committed */
	uint64_t	 boot_wait_us, start_vat_us, commit_us;
};

const struct kernel_creation_stats *kernel_creation_stats(
	    const struct kernel *k);

/* Routing cranks committed since start and their time from the crank's
 * start to its commit, microseconds (this process, not state). */
struct kernel_routing_stats {
	uint64_t	 cranks, us;
};

const struct kernel_routing_stats *kernel_routing_stats(
	    const struct kernel *k);

/* bringOutYourDead deliveries committed since start: the reap queue's
 * and those before heap snapshots (this process, not state). */
uint64_t kernel_boyd_count(const struct kernel *k);

/* Computrons of the cranks committed in the open block (0 after
 * kernel_block_committed()). */
uint64_t kernel_block_computrons(const struct kernel *k);
void	 kernel_block_committed(struct kernel *k);
char	*kernel_bootstrap_result(struct kernel *k);

/* Status fields: queue lengths, vats (an array, new reference), the
 * halted reason (borrowed; NULL while running). */
uint64_t kernel_acceptance_queue_length(struct kernel *k);
/* GC actions not yet delivered ("gcActions"). */
uint64_t kernel_gc_actions_length(struct kernel *k);
/* Vats waiting for their bringOutYourDead ("reapQueue"). */
uint64_t kernel_reap_queue_length(struct kernel *k);
uint64_t kernel_run_queue_length(struct kernel *k);
uint64_t kernel_creation_queue_length(struct kernel *k);
/* SwingSet's kernel statistics (controller.getStats()) as of the last
 * committed crank: an object of integers (new reference), or NULL. */
json_t	*kernel_stats(struct kernel *k);
json_t	*kernel_status_vats(struct kernel *k);
const char *kernel_halted(const struct kernel *k);

/* ---- device_ops.c: the producer's device requests -------------------- */

enum kernel_device_refusal {
	KERNEL_DEV_OK,
	KERNEL_DEV_NO_DEVICE,		/* the device is not configured */
	KERNEL_DEV_BACKWARDS,		/* poll: now is before the last poll's */
	KERNEL_DEV_NO_HANDLER,		/* mailbox: no inbound handler yet */
};

/*
 * The timer device's poll(now), as SwingSet's host calls it between
 * cranks: a crank of the open block that records now as the last polled
 * time and queues wake(time) to every handler due by now (*woke).  -1
 * with errbuf when refused (*refused says why; nothing changed) or on a
 * store failure (*refused KERNEL_DEV_OK; the kernel halts).
 */
int	 kernel_poll(struct kernel *k, uint64_t now, bool *woke,
	    enum kernel_device_refusal *refused, char *errbuf, size_t errlen);

/*
 * The mailbox device's deliverInbound(peer, messages, ack) ([[msgnum,
 * body], …]; checked), a crank of the open block that sends the
 * registered handler deliverInboundMessages and deliverInboundAck.
 * Returns and refuses as kernel_poll (KERNEL_DEV_NO_HANDLER while no
 * handler is registered).
 */
int	 kernel_mailbox_deliver(struct kernel *k, const char *peer,
	    const json_t *messages, uint64_t ack,
	    enum kernel_device_refusal *refused, char *errbuf, size_t errlen);

/* The mailbox device's outbox, {peer: {inboundAck, outbox}} (new
 * reference), or NULL without a mailbox device. */
json_t	*kernel_mailbox_outbox(struct kernel *k);

/*
 * The bridge device's deliverInbound(srcID, obj) (obj plain JSON, no key
 * starting with '#'; checked), a crank of the open block that sends the
 * registered handler inbound(srcID, obj).  Returns and refuses as
 * kernel_poll (KERNEL_DEV_NO_HANDLER while no handler is registered).
 */
int	 kernel_bridge_inbound(struct kernel *k, const char *src_id,
	    const json_t *obj, enum kernel_device_refusal *refused,
	    char *errbuf, size_t errlen);

/* ---- bridge.c: callOutbound, answered by the producer ----------------- */

/*
 * How the kernel asks the producer: send(arg, request) writes request
 * ({"call": N, "vatID": …, "dstID": JSON, "obj": JSON}, borrowed) to the
 * producer's bridge connection; -1 when there is none (the vat's
 * callOutbound then throws).  NULL: never registered.
 */
typedef int (*kernel_bridge_send)(void *arg, const json_t *request);
void	 kernel_bridge_host(struct kernel *k, kernel_bridge_send send,
	    void *arg);
/* The request awaiting its answer (borrowed), or NULL. */
const json_t *kernel_bridge_waiting(const struct kernel *k);
/*
 * The producer's answer to call: result (borrowed; plain JSON, NULL for
 * undefined) or error (the method throws; logged).  -1 with errbuf when
 * no such call awaits an answer (nothing changes).
 */
int	 kernel_bridge_answer(struct kernel *k, uint64_t call,
	    const json_t *result, const char *error, char *errbuf,
	    size_t errlen);

/* The devices for status: [{deviceID, name, …}] (new reference). */
json_t	*kernel_status_devices(struct kernel *k);

#endif
