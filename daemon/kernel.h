/*
 * kernel.h — the kernel: vats, the run-queue, cranks, promises, c-lists,
 * syscalls and transcripts, over the store.  Private to daemon/; the
 * daemon's other parts use only the kernel_* entry points at the top.
 *
 * State lives in the store's kv table under the keys listed in
 * docs/state.md; the structs below are caches and the crank in flight.
 * One crank runs at a time.  A crank that must wait on a worker (boot,
 * replay, delivery) is a state of struct kernel, resumed by the worker's
 * callbacks; the event loop never blocks.
 */
#ifndef DAEMON_KERNEL_H
#define DAEMON_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "daemon/store.h"
#include "workers/vatworker.h"

struct daemon;
struct kernel;
struct snapstore;
struct snapstore_writer;

/* ---- entry points (kernel.c) ----------------------------------------- */

struct kernel_run_result {
	uint64_t	 cranks;	/* cranks committed by this run */
	uint64_t	 computrons;
	bool		 idle;		/* nothing left to do */
	const char	*stopped;	/* "idle", "budget", "halted", "error" */
	const char	*error;		/* store trouble, when stopped = error */
};

typedef void (*kernel_run_cb)(void *arg, const struct kernel_run_result *);

struct kernel *kernel_open(struct daemon *d, char *errbuf, size_t errlen);
void	 kernel_close(struct kernel *k);

/* Run up to max_cranks cranks (0 = until idle), stopping also once
 * computrons (0 = no limit) have been used; cb is called once, from the
 * loop.  -1 if a run is already in progress. */
int	 kernel_run(struct kernel *k, uint64_t max_cranks, uint64_t computrons,
	    kernel_run_cb cb, void *arg);
bool	 kernel_running(const struct kernel *k);

/* Queue method(args) to a static vat's root (vat != NULL) or to a kref;
 * *kpid receives the result promise (malloc'd).  Runs as its own crank.
 * -1 with errbuf; *notfound set when the target does not exist. */
int	 kernel_queue(struct kernel *k, const char *vat, const char *target,
	    const char *method, const json_t *args, char **kpid,
	    bool *notfound, char *errbuf, size_t errlen);

/* A promise's state as a JSON object (new reference), or NULL. */
json_t	*kernel_promise(struct kernel *k, const char *kpid);

/* Where pseudo-cranks spend their time (this process, not state): from
 * the crank's start to the worker's ready handshake, then to startVat's
 * answer, then to the commit; microseconds, summed. */
struct kernel_creation_stats {
	uint64_t	 created;	/* pseudo-cranks committed */
	uint64_t	 boot_wait_us, start_vat_us, commit_us;
};

const struct kernel_creation_stats *kernel_creation_stats(
	    const struct kernel *k);

/* Computrons of the cranks committed in the open block (0 after
 * kernel_block_committed()). */
uint64_t kernel_block_computrons(const struct kernel *k);
void	 kernel_block_committed(struct kernel *k);
char	*kernel_bootstrap_result(struct kernel *k);

/* Status fields: run-queue length, vats, halted reason. */
uint64_t kernel_run_queue_length(struct kernel *k);
uint64_t kernel_creation_queue_length(struct kernel *k);
json_t	*kernel_status_vats(struct kernel *k);
const char *kernel_halted(const struct kernel *k);

/* ---- internals ---------------------------------------------------------- */

enum kvat_state {
	KVAT_OFFLINE,		/* no worker */
	KVAT_STARTING,		/* worker booting (setBundle) */
	KVAT_REPLAYING,		/* worker replaying its transcript */
	KVAT_READY,		/* worker idle */
	KVAT_DELIVERING,	/* a delivery in flight */
	KVAT_SNAPSHOTTING,	/* writing a heap snapshot, in the crank of
				   the delivery that made it due */
	KVAT_TERMINATED,
};

struct kvat {
	struct kernel	*k;
	char		 id[24];	/* "v3" */
	char		*name;
	enum kvat_state	 state;
	struct vatworker *vw;
	uint64_t	 tlen;		/* transcript entries committed */
	uint64_t	 computrons;	/* committed deliveries' computrons,
					   since this daemon started */
	uint64_t	 replay_start;	/* first entry to replay: the position
					   of the snapshot the worker was
					   restored from, or 0 */
	char		 restored[16];	/* that snapshot's hash, 12 hex
					   digits, or "" */
	uint64_t	 replay_next;	/* next entry to replay */
	json_t		*replay_entry;	/* entry being replayed */
	size_t		 replay_sc;	/* its next recorded syscall */
	bool		 pipelining;	/* enablePipelining */
	bool		 dynamic;	/* created at run time */
	char		 meter_id[24];	/* options.meterID, or "" */
};

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
	uint64_t	 t_start, t_ready, t_done;	/* its timing, µs */
	size_t		 vs_writes;	/* vatstoreSet syscalls made */
	bool		 sent;		/* the worker has the delivery */
	uint64_t	 computrons;	/* the delivery's, held while a heap
					   snapshot is taken */
	bool		 restarting;	/* …and while the worker restarts
					   from it */
};

/* A persisted FIFO: "<key>" = [head, tail], items at "<key>.<i>". */
struct kqueue {
	const char	*key;
	bool		 known;		/* head/tail mirror the store */
	uint64_t	 head, tail;
};

struct kernel {
	struct daemon	*d;
	struct store	*st;
	struct ev_loop	*loop;
	struct kvat	**vats;		/* each kvat stays put: workers and
					   the crank hold pointers to it */
	size_t		 nvats;
	struct kvat	**graveyard;	/* entries of rolled-back creations */
	size_t		 ngraveyard;
	struct crank	 cr;
	bool		 in_crank;	/* a crank transaction is open */
	bool		 running;
	uint64_t	 run_max, run_done, run_computrons, run_budget_c;
	uint64_t	 block_computrons;	/* this open block's */
	kernel_run_cb	 run_cb;
	void		*run_arg;
	ev_idle		 step;		/* schedules the next crank */
	char		*halted;	/* why the kernel stopped, or NULL */
	size_t		 max_frame;
	double		 timeout;
	unsigned	 max_retries;
	unsigned	 retries;	/* machine faults in a row */
	struct kqueue	 runq;		/* "runQueue" */
	struct kqueue	 createq;	/* "createQueue": vats to create */
	struct kernel_creation_stats cstats;
	bool		 chained;	/* inside a crank started by a commit */
	struct snapstore *snaps;	/* heap snapshot files */
	struct snapstore_writer *snap_w; /* the snapshot being written */
	uint64_t	 snap_t0;	/* when it started, µs */
	bool		 snaps_dirty;	/* a snapshot record changed in the
					   open block: sweep at its commit */
};

/* kstate.c — typed access to the kernel's kv keys */
char	*kst_get(struct kernel *k, const char *key);
int	 kst_put(struct kernel *k, const char *key, const char *val);
int	 kst_putf(struct kernel *k, const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 kst_del(struct kernel *k, const char *key);
json_t	*kst_get_json(struct kernel *k, const char *key);
int	 kst_put_json(struct kernel *k, const char *key, const json_t *v);
int	 kst_alloc(struct kernel *k, const char *counter, uint64_t first,
	    uint64_t *out);
int	 kst_enqueue(struct kernel *k, json_t *item);
json_t	*kst_dequeue(struct kernel *k);
uint64_t kst_queue_length(struct kernel *k);
int	 kst_push(struct kernel *k, struct kqueue *q, const json_t *item);
json_t	*kst_shift(struct kernel *k, struct kqueue *q);
json_t	*kst_peek(struct kernel *k, struct kqueue *q, uint64_t i);
uint64_t kst_length(struct kernel *k, struct kqueue *q);
void	 kst_forget_queue(struct kernel *k);

/* kmarshal.c — the capdata the kernel writes and reads itself */
json_t	*km_error(const char *message);
json_t	*km_data(const json_t *plain);
json_t	*km_methargs(const char *method, const json_t *args);
char	*km_method_name(const json_t *methargs);
const char *km_single_slot(const json_t *capdata);
json_t	*km_bootstrap_args(const json_t *names, const json_t *krefs,
	    const json_t *dev_names, const json_t *dev_krefs);
json_t	*km_body(const json_t *capdata);
json_t	*km_extract(const json_t *capdata, const json_t *part);
json_t	*km_args_with(const char *prefix, const json_t *tail);
json_t	*km_normalise(const json_t *capdata);

/* clist.c — vat-side refs ⇄ kernel refs */
int	 clist_to_kref(struct kernel *k, struct kvat *v, const char *vref,
	    bool may_export, char **kref);
int	 clist_to_vref(struct kernel *k, struct kvat *v, const char *kref,
	    char **vref);
int	 clist_forget(struct kernel *k, struct kvat *v, const char *kref);
json_t	*clist_capdata_to_kernel(struct kernel *k, struct kvat *v,
	    const json_t *capdata, bool *ok);
json_t	*clist_capdata_to_vat(struct kernel *k, struct kvat *v,
	    const json_t *capdata);

/* kpromise.c — kernel promises */
int	 kp_new(struct kernel *k, const char *decider, char **kpid);
int	 kp_resolve(struct kernel *k, const char *kpid, bool rejected,
	    const json_t *data);
int	 kp_subscribe(struct kernel *k, const char *kpid, const char *vat);
int	 kp_queue_message(struct kernel *k, const char *kpid, json_t *msg);
json_t	*kp_data(struct kernel *k, const char *kpid);
int	 kp_requeue(struct kernel *k, const char *kpid);
int	 kp_send(struct kernel *k, const char *target, const char *method,
	    const json_t *args, char **kpid);

/* ksyscall.c — a vat's syscalls during a delivery */
#define KSYS_PREPARE_TO_DIE "syscall translation error: prepare to die"
json_t	*ksys_handle(struct kernel *k, struct kvat *v, json_t *vso);
json_t	*ksys_ok(json_t *v);
json_t	*ksys_illegal(struct kernel *k, struct kvat *v, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
json_t	*ksys_store_failed(struct kernel *k, int rc);
bool	 ksys_ref_ok(const json_t *ref);

/* kvatstore.c — vatstore and GC syscalls */
json_t	*ksys_vatstore(struct kernel *k, struct kvat *v, const char *op,
	    json_t *vso);
json_t	*ksys_gc(struct kernel *k, struct kvat *v, json_t *vso);

/* kroute.c — turning a run-queue item into a delivery, or not */
int	 kroute_item(struct kernel *k, json_t *item, struct kvat **vat,
	    json_t **vdo);

/* kvat.c — the vat table */
int	 kvat_load(struct kernel *k, char *errbuf, size_t errlen);
struct kvat *kvat_find(struct kernel *k, const char *vat_id);
size_t	 kvat_index(struct kernel *k, const char *vat_id);
bool	 kvat_alive(struct kernel *k, const char *vat_id);
void	 kvat_resync(struct kernel *k);
int	 kvat_terminate(struct kernel *k, struct kvat *v, bool reject,
	    const json_t *info);
struct kvat *kvat_add(struct kernel *k, const char *vat_id);
void	 kvat_free_all(struct kernel *k);
void	 kvat_empty_graveyard(struct kernel *k);

/* kworker.c — a vat's worker: started or restored, then replayed */
int	 kvat_bring_online(struct kernel *k, struct kvat *v, char **why,
	    bool *vat_fault);
void	 kvat_offline(struct kvat *v);

/* kcreate.c — dynamic vats: requests, the pseudo-crank's steps */
int	 kcreate_request(struct kernel *k, const char *bundle_id,
	    const json_t *opts, const json_t *args, char **vid, char **why);
int	 kcreate_terminate(struct kernel *k, const char *vid,
	    const json_t *reason, char **why);
int	 kcreate_start(struct kernel *k, const char *vid, struct kvat **vat,
	    json_t **vdo);
int	 kcreate_finish(struct kernel *k, struct kvat *v);
/* kmeter.c — meters: mN.remaining / mN.threshold */
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

int	 kcreate_notify_terminated(struct kernel *k, const char *vid,
	    bool reject, const json_t *info);
int	 kcreate_list_edit(struct kernel *k, const char *key, const char *vid,
	    bool add);

/* vatadmin_device.c — the kernel's vatAdmin device */
int	 vad_genesis(struct kernel *k, json_t *names, json_t *krefs);
json_t	*vad_invoke(struct kernel *k, const char *dev, const char *dref,
	    const char *method, const json_t *args);

/* ksnapshot.c — heap snapshots of xsnap vats: policy, records, restore */
struct ksnap_rec {
	uint64_t	 pos;		/* transcript entries it includes */
	uint64_t	 size;		/* bytes */
	char		 hash[65];	/* SHA-256, hex */
};

int	 ksnap_open(struct kernel *k, char *errbuf, size_t errlen);
void	 ksnap_close(struct kernel *k);
bool	 ksnap_record(struct kernel *k, const char *vat_id,
	    struct ksnap_rec *out);
bool	 ksnap_maybe_start(struct kernel *k, struct kvat *v);
void	 ksnap_data(struct kernel *k, const unsigned char *bytes, size_t len);
void	 ksnap_done(struct kernel *k, struct kvat *v, uint64_t size);
void	 ksnap_failed(struct kernel *k, struct kvat *v, const char *why);
void	 ksnap_cancel(struct kernel *k);
int	 ksnap_restore(struct kernel *k, struct kvat *v, int *fd,
	    uint64_t *pos, char **why);
void	 ksnap_block_committed(struct kernel *k);
int	 ksnap_forget(struct kernel *k, const char *vat_id);
json_t	*ksnap_status_pos(struct kernel *k, struct kvat *v);

/* transcript.c — per-vat delivery records */
int	 transcript_append(struct kernel *k, struct kvat *v, const char *vdo,
	    size_t vdo_len, const char *sc, size_t sc_len, uint64_t computrons);
int	 transcript_record_syscall(struct crank *cr, const char *vso,
	    size_t vlen, const char *res, size_t rlen);
json_t	*transcript_entry(struct kernel *k, struct kvat *v, uint64_t pos);
uint64_t transcript_length(struct kernel *k, struct kvat *v);
bool	 transcript_has(struct kernel *k, struct kvat *v, uint64_t pos);
int	 transcript_prune(struct kernel *k, struct kvat *v, uint64_t from,
	    uint64_t to);

/* kernel.c — the crank loop, called back from kvat.c */
void	 kernel_vat_ready(struct kernel *k, struct kvat *v);
void	 kernel_vat_delivered(struct kernel *k, struct kvat *v,
	    const struct vat_delivery_result *r);
void	 kernel_vat_failed(struct kernel *k, struct kvat *v, bool vat_fault,
	    const char *why);
void	 kernel_vat_snapshotted(struct kernel *k, struct kvat *v);
void	 kernel_halt(struct kernel *k, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
