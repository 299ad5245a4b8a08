/*
 * kernel_impl.h — private to daemon/kernel/: struct kernel, the crank in
 * flight, and what the folder's files call of each other, grouped by the
 * file that defines them.  Only the files of daemon/kernel/ include it;
 * the door is kernel.h.  Below the kernel: daemon/vats/ (vats.h),
 * daemon/devices/ (devices.h), the store and the bundle table.
 */
#ifndef DAEMON_KERNEL_IMPL_H
#define DAEMON_KERNEL_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "daemon/devices/devices.h"
#include "daemon/kernel/kernel.h"
#include "daemon/store/store.h"
#include "daemon/vats/vats.h"
#include "protocol/capdata.h"

/* The crank in flight. */
struct crank {
	json_t		*item;		/* the run-queue item being handled */
	struct kvat	*vat;		/* the vat delivered to, or NULL */
	json_t		*vdo;		/* the VatDeliveryObject */
	char		*vdo_text;	/* …encoded once, for worker and
					   transcript */
	size_t		 vdo_len;
	char		*sc;		/* the transcript's "sc" items, as
					   text: {"s":…,"r":…},… */
	size_t		 sc_len, sc_cap;
	size_t		 sc_count;
	bool		 recording;	/* a live delivery: record syscalls */
	bool		 illegal;	/* a syscall failed translation */
	char		*why;		/* the first illegal syscall's reason */
	int		 exiting;	/* 0, or 1 = exit(ok), 2 = exit(fail) */
	json_t		*exit_info;	/* exit's capdata (kernel slots) */
	int		 store_rc;	/* a store failure inside the crank */
	json_t		*route_hold;	/* keeps a retargeted kref alive */
	bool		 creating;	/* a pseudo-crank: vat's startVat */
	bool		 routing;	/* a routing crank */
	bool		 unmetered;	/* a GC delivery or a BOYD: no meter */
	bool		 reaping;	/* a bringOutYourDead crank */
	size_t		 gc_krefs;	/* a GC delivery's krefs (reap dirt) */
	bool		 snap_boyd;	/* the bringOutYourDead before a heap
					   snapshot is in flight */
	uint64_t	 t_start, t_ready, t_done;	/* its timing, µs */
	size_t		 vs_writes;	/* vatstoreSet syscalls made */
	bool		 sent;		/* the worker has the delivery */
	uint64_t	 computrons;	/* the crank's delivery's, held while
					   a heap snapshot is taken */
};

/* The bridge's callOutbound awaiting the producer (bridge.c): call 0
 * when none. */
struct kbridge {
	uint64_t	 next;		/* the last call number given */
	uint64_t	 call;		/* the call awaiting its answer, or 0 */
	struct kvat	*vat;		/* whose syscall it is */
	char		*raw;		/* the syscall as the worker sent it */
	size_t		 rawlen;
	json_t		*frame;		/* the request sent to the producer */
	ev_timer	 timer;		/* daemon.bridgeTimeoutMs */
	kernel_bridge_send send;	/* the daemon's hook, or NULL */
	void		*send_arg;
};

/* stats.c — SwingSet's kernel statistics (kernelStats,
 * local.kernelStats), in SwingSet's order: counters, then gauges. */
enum kstat {
	KS_SYSCALLS, KS_SYSCALL_SEND, KS_SYSCALL_CALLNOW, KS_SYSCALL_SUBSCRIBE,
	KS_SYSCALL_RESOLVE, KS_SYSCALL_EXIT, KS_SYSCALL_VATSTORE_GET,
	KS_SYSCALL_VATSTORE_SET, KS_SYSCALL_VATSTORE_GETNEXTKEY,
	KS_SYSCALL_VATSTORE_DELETE, KS_SYSCALL_DROP_IMPORTS, KS_DISPATCHES,
	KS_DISPATCH_DELIVER, KS_DISPATCH_NOTIFY,
	KS_KERNEL_OBJECTS, KS_KERNEL_DEVICES, KS_KERNEL_PROMISES,
	KS_KP_UNRESOLVED, KS_KP_FULFILLED, KS_KP_REJECTED,
	KS_RUN_QUEUE_LENGTH, KS_ACCEPTANCE_QUEUE_LENGTH,
	KS_PROMISE_QUEUES_LENGTH, KS_CLIST_ENTRIES, KS_VATS,
	KS_N
};
/* a gauge's value and companions; a counter has the value only */
enum { KS_VALUE, KS_UP, KS_DOWN, KS_MAX, KS_PARTS };
struct kstats {
	bool		 loaded;	/* read from the kv since the start */
	int64_t		 now[KS_N][KS_PARTS];	/* inside the crank */
	int64_t		 committed[KS_N][KS_PARTS];	/* as last written */
};

/* A persisted FIFO: "<key>" = [head, tail], items at "<key>.<i>". */
struct kqueue {
	const char	*key;
	bool		 known;		/* head/tail mirror the store */
	uint64_t	 head, tail;
};

struct kernel {
	const struct kernel_params *p;	/* the process's, borrowed */
	struct store	*st;
	struct ev_loop	*loop;
	struct vats	 vats;		/* the vat table and its workers */
	struct device_kernel dk;	/* what devices may ask of us */
	struct crank	 cr;
	bool		 in_crank;	/* a crank transaction is open */
	bool		 running;
	uint64_t	 run_max, run_done, run_computrons, run_budget_c;
	uint64_t	 block_computrons;	/* this open block's */
	struct kernel_cleanup_budget run_cleanup;	/* this run's */
	bool		 run_cleaned;	/* its budgeted cleanup crank ran */
	kernel_run_cb	 run_cb;
	void		*run_arg;
	ev_idle		 step;		/* schedules the next crank */
	char		*halted;	/* why the kernel stopped, or NULL */
	unsigned	 max_retries;
	unsigned	 retries;	/* machine faults in a row */
	struct kqueue	 accq;		/* "acceptanceQueue": new events */
	struct kqueue	 runq;		/* "runQueue" */
	struct kqueue	 createq;	/* "createQueue": vats to create */
	struct kernel_creation_stats cstats;
	struct kernel_routing_stats rstats;
	uint64_t	 boyds;		/* kernel_boyd_count() */
	bool		 chained;	/* inside a crank started by a commit */
	struct kbridge	 bridge;
	json_t		*maybe_free;	/* krefs whose count reached zero this
					   crank, in order (refcount.c) */
	json_t		*maybe_free_set;	/* …the same, as a set */
	struct kstats	 stats;		/* stats.c */
};

/* crank.c — the loop and the crank transaction (its pseudo-cranks too) */
void	 crank_next(struct kernel *k);
void	 crank_schedule(struct kernel *k);
void	 crank_abort(struct kernel *k);
void	 crank_commit(struct kernel *k, uint64_t computrons);
void	 crank_store_error(struct kernel *k, int rc);
void	 kernel_store_halt(struct kernel *k, const char *msg);
void	 kernel_panic(struct kernel *k, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
uint64_t crank_now_us(void);
void	 kernel_halt(struct kernel *k, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 kernel_vhalt(struct kernel *k, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

/* deliver.c — a delivery and its outcome, the vat's faults ending the
 * crank in its termination; the events of daemon/vats/ */
extern const struct vats_events kernel_vat_events;
void	 crank_deliver(struct kernel *k);
void	 crank_terminate(struct kernel *k, struct kvat *v, const char *why,
	    const json_t *info);
void	 crank_terminate_charged(struct kernel *k, struct kvat *v,
	    const char *why, const json_t *info, uint64_t computrons);
/* Record a syscall answered later for the crank's transcript entry. */
void	 deliver_record(struct kernel *k, const char *raw, size_t rawlen,
	    const char *text, size_t len);

/* bridge.c — the bridge's callOutbound, answered by the producer */
char	*kbridge_call(struct kernel *k, struct kvat *v, const char *raw,
	    size_t rawlen, const json_t *req, size_t *len);
void	 kbridge_cancel(struct kernel *k);

/* terminate.c — ending a vat inside the open crank */
int	 terminate_vat(struct kernel *k, struct kvat *v, bool reject,
	    const json_t *info);

/* genesis.c — the first cranks' work, done once */
int	 genesis_crank(struct kernel *k, char *errbuf, size_t errlen);

/* state.c — the kernel's persisted queues: kst_enqueue() puts a new
 * event on the acceptance queue, kst_run_append() (routing cranks only)
 * on the run-queue */
int	 kst_enqueue(struct kernel *k, json_t *item);
int	 kst_run_append(struct kernel *k, const json_t *item);
json_t	*kst_dequeue(struct kernel *k);
uint64_t kst_queue_length(struct kernel *k);
int	 kst_push(struct kernel *k, struct kqueue *q, const json_t *item);
json_t	*kst_shift(struct kernel *k, struct kqueue *q);
json_t	*kst_peek(struct kernel *k, struct kqueue *q, uint64_t i);
uint64_t kst_length(struct kernel *k, struct kqueue *q);
void	 kst_forget_queue(struct kernel *k);
/* A comma-joined sorted set with item in it (malloc'd), *had if it was. */
char	*kst_csv_with(char *list, const char *item, bool *had);
/* Whether the JSON list at key has an item (absent: no). */
bool	 kst_list_nonempty(struct kernel *k, const char *key);
uint64_t kst_list_length(struct kernel *k, const char *key);
/* Add vid to (add) or remove it from the JSON list of vat IDs at key. */
int	 kst_list_edit(struct kernel *k, const char *key, const char *vid,
	    bool add);

/* clist.c — vat-side refs ⇄ kernel refs */
int	 clist_to_kref(struct kernel *k, struct kvat *v, const char *vref,
	    bool may_export, char **kref);
int	 clist_to_vref(struct kernel *k, struct kvat *v, const char *kref,
	    char **vref);
int	 clist_forget(struct kernel *k, struct kvat *v, const char *kref);
int	 clist_forget_id(struct kernel *k, const char *vid, const char *kref);
int	 clist_device_import(struct kernel *k, const char *dev,
	    const json_t *capdata);
json_t	*clist_capdata_to_kernel(struct kernel *k, struct kvat *v,
	    const json_t *capdata, bool *ok);
json_t	*clist_capdata_to_vat(struct kernel *k, struct kvat *v,
	    const json_t *capdata);

/* refcount.c — reference counts (§9.1–§9.3); how: KREF_EXPORT for an
 * owner's own c-list entry (objects: not counted), KREF_RECOGNIZE for a
 * reference that only recognizes (reachable count unchanged),
 * KREF_REACHABLE for an import's flag going R or _ (recognizable count
 * unchanged) */
#define KREF_EXPORT	1
#define KREF_RECOGNIZE	2
#define KREF_REACHABLE	4
int	 kref_incref(struct kernel *k, const char *kref, int how);
int	 kref_decref(struct kernel *k, const char *kref, int how);
int	 kref_incref_slots(struct kernel *k, const json_t *capdata);
int	 kref_decref_slots(struct kernel *k, const json_t *capdata);
int	 kref_incref_event(struct kernel *k, const json_t *item);
int	 kref_decref_event(struct kernel *k, const json_t *item);
int	 kref_pin(struct kernel *k, const char *kref);
int	 kref_delete_object(struct kernel *k, const char *kref);
int	 kref_orphan(struct kernel *k, const char *owner, const char *kref);
int	 kref_retire_objects(struct kernel *k, const json_t *krefs);
int	 kref_process(struct kernel *k);
void	 kref_forget(struct kernel *k);
/* kref_process(), then the crank's commit (store_crank_commit's codes) */
int	 kcommit(struct kernel *k);
/* store_crank_abort() and forgetting what the crank left in memory */
void	 kabort(struct kernel *k);

/* gc.c — GC actions ("gcActions") and the deliveries made of them */
int	 kgc_add_actions(struct kernel *k, const json_t *set);
bool	 kgc_pending(struct kernel *k);
int	 kgc_next(struct kernel *k, struct kvat **vat, json_t **vdo);

/* cleanup.c — terminated vats' state deleted in budgeted steps (§10.3) */
int	 kcleanup_step(struct kernel *k, const char *vid,
	    const struct kernel_cleanup_budget *budget, uint64_t work[],
	    bool *done);
char	*kcleanup_next(struct kernel *k);
void	 kcleanup_log(const char *vid, const uint64_t work[], bool done);
#define KCLEANUP_COUNT_CAP	10000
json_t	*kcleanup_remaining(struct kernel *k, const char *vid);
bool	 kcleanup_pending(struct kernel *k);

/* reap.c — reap dirt, the reap queue (§9.7) */
int	 kreap_add_dirt(struct kernel *k, struct kvat *v, uint64_t computrons,
	    uint64_t gc_krefs);
int	 kreap_clear_dirt(struct kernel *k, struct kvat *v);
int	 kreap_schedule(struct kernel *k, const char *vid);
int	 kreap_next(struct kernel *k, struct kvat **vat, json_t **vdo);
bool	 kreap_pending(struct kernel *k);

/* promise.c — kernel promises */
int	 kp_new(struct kernel *k, const char *decider, char **kpid);
int	 kp_resolve(struct kernel *k, const char *kpid, bool rejected,
	    const json_t *data);
int	 kp_subscribe(struct kernel *k, const char *kpid, const char *vat);
int	 kp_queue_message(struct kernel *k, const char *kpid,
	    const json_t *msg);
json_t	*kp_data(struct kernel *k, const char *kpid);
int	 kp_requeue(struct kernel *k, const char *kpid);
int	 kp_send_only(struct kernel *k, const char *target,
	    const char *method, const json_t *args);
int	 kp_host_hold(struct kernel *k, const char *kpid);
int	 kp_host_release(struct kernel *k, const char *kpid);
int	 kp_send(struct kernel *k, const char *target, const char *method,
	    const json_t *args, char **kpid);
int	 kp_tell_admin(struct kernel *k, const char *method,
	    const char *prefix, const json_t *tail);

/* answer.c — the answers a syscall gets */
#define KSYS_PREPARE_TO_DIE "syscall translation error: prepare to die"
json_t	*ksys_ok(json_t *v);
json_t	*ksys_illegal(struct kernel *k, struct kvat *v, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
json_t	*ksys_store_failed(struct kernel *k, int rc);
bool	 ksys_ref_ok(const json_t *ref);

/* syscall.c — a vat's syscalls during a delivery */
json_t	*ksys_handle(struct kernel *k, struct kvat *v, json_t *vso);

/* vatstore.c — vatstore and GC syscalls */
json_t	*ksys_vatstore(struct kernel *k, struct kvat *v, const char *op,
	    json_t *vso);
/* gc_syscall.c — dropImports, retireImports, retireExports,
 * abandonExports (§9.5) */
json_t	*ksys_gc(struct kernel *k, struct kvat *v, json_t *vso);

/* route.c — routing cranks; turning a run-queue item into a delivery,
 * or not */
int	 kroute_accept(struct kernel *k, const json_t *item);
int	 kroute_item(struct kernel *k, json_t *item, struct kvat **vat,
	    json_t **vdo);

/* create.c — dynamic vats: requests, the pseudo-crank's steps, the
 * terminations the vatAdmin device asks for */
int	 kcreate_request(struct kernel *k, const char *bundle_id,
	    const json_t *opts, const json_t *args, char **vid, char **why);
struct kvat *kcreate_entry(struct kernel *k, const char *vid);
int	 kcreate_terminate(struct kernel *k, const char *vid,
	    const json_t *reason, char **why);
int	 kcreate_start(struct kernel *k, const char *vid, struct kvat **vat,
	    json_t **vdo);
int	 kcreate_finish(struct kernel *k, struct kvat *v);

/* meter.c — meters: mN.remaining / mN.threshold */
bool	 kmeter_exists(struct kernel *k, const char *id);
int	 kmeter_create(struct kernel *k, bool unlimited, uint64_t remaining,
	    uint64_t threshold, char **id);
int	 kmeter_add(struct kernel *k, const char *id, uint64_t delta);
int	 kmeter_set_threshold(struct kernel *k, const char *id,
	    uint64_t threshold);
int	 kmeter_get(struct kernel *k, const char *id, bool *unlimited,
	    uint64_t *remaining, uint64_t *threshold);
bool	 kmeter_check(struct kernel *k, const char *id, uint64_t spent);
int	 kmeter_deduct(struct kernel *k, const char *id, uint64_t spent);

/* stats.c — the statistics: kstat_add is SwingSet's incStat (delta > 0)
 * and decStat (delta < 0); kstat_commit writes them and commits the
 * crank (in kcommit), kstat_abort drops the crank's changes (in kabort).
 * kernel_stats (kernel.h): SwingSet's getStats() as of the last commit. */
void	 kstat_add(struct kernel *k, enum kstat s, int64_t delta);
void	 kstat_promise_gone(struct kernel *k, const char *kpid);
void	 kstat_syscall(struct kernel *k, const char *tag);
void	 kstat_queue(struct kernel *k, const struct kqueue *q, int64_t delta);
void	 kstat_creation_failed(struct kernel *k);
int	 kstat_commit(struct kernel *k);
void	 kstat_abort(struct kernel *k);

/* device_host.c — the struct device_kernel the devices are given */
void	 device_host_init(struct kernel *k);

#endif
