/*
 * vats.h — the door of daemon/vats/: a vat's life as a process, below the
 * crank loop.  The vat table (table.c: which vats exist, loaded from the
 * kv state, created ones added, rolled-back ones dropped), bringing a
 * vat's worker online and offline (online.c: spawned and given its bundle,
 * or restored from its heap snapshot, then its transcript replayed and
 * checked), heap snapshots (snapshot.c: when one is due, taking it inside
 * the crank, its record, restoring from it) and transcripts (transcript.c).
 *
 * Calls run downward: the kernel (daemon/kernel/) calls these functions;
 * they call workers/, the store and the bundle table.  What happens later,
 * from the loop — a worker ready, a syscall, a delivery's result, a
 * failure, a snapshot stored — goes back up only through the struct
 * vats_events table the kernel registers with vats_open().  Nothing here
 * decides a crank's outcome or writes the kv state, except a snapshot's
 * record and pruning (tables snapshots and transcripts) and the
 * transcript entry the kernel asks for.
 *
 * Ownership: struct vats is the kernel's (embedded in it), opened by
 * vats_open() and released by vats_close().  Each struct kvat is owned by
 * the table and stays at its address until vats_close(), even after a
 * rolled-back creation takes it out of the table (see vats_resync).  The
 * fields of both are read-only to callers unless a comment says otherwise.
 */
#ifndef DAEMON_VATS_VATS_H
#define DAEMON_VATS_VATS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "conf/config.h"
#include "daemon/store/store.h"
#include "workers/vatworker.h"

enum kvat_state {
	KVAT_OFFLINE,		/* no worker */
	KVAT_STARTING,		/* worker booting (setBundle), or its
				   snapshot being checked (no worker yet) */
	KVAT_REPLAYING,		/* worker replaying its transcript */
	KVAT_READY,		/* worker idle */
	KVAT_DELIVERING,	/* a delivery in flight (set by the kernel) */
	KVAT_SNAPSHOTTING,	/* writing a heap snapshot, in the crank of
				   the delivery that made it due */
	KVAT_TERMINATED,	/* set by the kernel's termination */
};

struct vats;

/* One vat of the table. */
struct kvat {
	struct vats	*vs;		/* the table it belongs to */
	char		 id[24];	/* "v3" */
	char		*name;
	enum kvat_state	 state;
	struct vatworker *vw;
	uint64_t	 tlen;		/* transcript entries committed (the
					   kernel counts its appends) */
	uint64_t	 computrons;	/* committed deliveries' computrons,
					   since this daemon started (kept by
					   the kernel) */
	uint64_t	 replay_start;	/* first entry to replay: the position
					   of the snapshot the worker was
					   restored from, or 0 */
	char		 restored[16];	/* that snapshot's hash, 12 hex
					   digits, or "" */
	uint64_t	 replay_next;	/* next entry to replay */
	json_t		*replay_entry;	/* entry being replayed */
	size_t		 replay_sc;	/* its next recorded syscall */
	bool		 diverged;	/* the replay found a divergence */
	bool		 restarting;	/* restarting from the snapshot just
					   taken, inside the crank */
	struct snapstore_check *checking; /* its snapshot being checked
					   before a restore (snapshot.c),
					   or NULL */
	bool		 pipelining;	/* enablePipelining */
	bool		 dynamic;	/* created at run time */
	char		 meter_id[24];	/* options.meterID, or "" */
};

/*
 * What the vats tell the kernel, each from the loop (never from inside the
 * call that started the work), with the kernel's arg.
 *   ready        v's worker is online and replayed: the crank waiting for
 *                it may deliver;
 *   syscall      a syscall of v's live delivery: answer it, and return the
 *                answer encoded (malloc'd, *len bytes) — the kernel
 *                records both for the transcript (raw, rawlen: the
 *                worker's own bytes); NULL when memory ran out;
 *   delivered    v's live delivery is answered;
 *   failed       v's worker was lost or refused (vat_fault: the vat's own
 *                deterministic fault, else this machine's); v is offline;
 *   snapshotted  the snapshot due after v's delivery is stored, recorded
 *                and the worker restarted from it — or store_rc says why
 *                the record could not be written;
 *   halt         the kernel must halt, for the reason fmt and ap format
 *                (a divergence on replay, a worker that cannot be
 *                rebuilt).
 */
struct vats_events {
	void	 (*ready)(void *arg, struct kvat *v);
	char	*(*syscall)(void *arg, struct kvat *v, json_t *vso,
		    const char *raw, size_t rawlen, size_t *len);
	void	 (*delivered)(void *arg, struct kvat *v,
		    const struct vat_delivery_result *r);
	void	 (*failed)(void *arg, struct kvat *v, bool vat_fault,
		    const char *why);
	void	 (*snapshotted)(void *arg, struct kvat *v, int store_rc);
	void	 (*halt)(void *arg, const char *fmt, va_list ap)
		    __attribute__((format(printf, 2, 0)));
};

struct vats {
	struct ev_loop	*loop;
	struct store	*st;
	const struct config *cfg;
	json_t		*xsnap_boot;	/* xsnap workers' boot commands, or
					   NULL (borrowed from the daemon) */
	const struct vats_events *ev;
	void		*ev_arg;
	struct kvat	**v;		/* the table, in ID order of loading
					   and creation */
	size_t		 n;
	struct kvat	**graveyard;	/* entries of rolled-back creations */
	size_t		 ngraveyard;
	struct snapstore *snaps;	/* heap snapshot files */
	ev_async	 snap_async;	/* its I/O thread has callbacks owed */
	struct snapstore_writer *snap_w; /* the snapshot being written */
	uint64_t	 snap_t0;	/* when it started, µs */
	uint64_t	 snap_announced; /* the size its worker announced */
	bool		 snaps_dirty;	/* a snapshot record changed in the
					   open block: sweep at its commit */
};

/* ---- table.c: the vat table -------------------------------------------- */

/*
 * Load the table from the kv state (static vats, then dynamic ones in ID
 * order) and open the snapshot directory of state_dir, sweeping files no
 * record names.  ev and arg are kept (ev must outlive vs).  -1 with
 * errbuf; vats_close() is still needed.
 */
int	 vats_open(struct vats *vs, struct ev_loop *loop, struct store *st,
	    const struct config *cfg, const char *state_dir,
	    json_t *xsnap_boot, const struct vats_events *ev, void *arg,
	    char *errbuf, size_t errlen);
/* Stop every worker and free the table. */
void	 vats_close(struct vats *vs);

struct kvat *vats_find(struct vats *vs, const char *vat_id);
/* The position of vat_id in the table, or 0. */
size_t	 vats_index(struct vats *vs, const char *vat_id);
/* In the table and not terminated. */
bool	 vats_alive(struct vats *vs, const char *vat_id);
/* A dynamic vat's entry (its options recorded in the open crank), added
 * to the table; NULL when memory ran out or the ID is too long. */
struct kvat *vats_add(struct vats *vs, const char *vat_id);
/* After a crank abort: a vat the aborted crank terminated is alive again,
 * and a dynamic vat it added is taken out of the table (its entry kept
 * until vats_empty_graveyard: callers up the stack may hold it). */
void	 vats_resync(struct vats *vs);
/* Free the entries taken out, once no caller can hold them (between
 * cranks). */
void	 vats_empty_graveyard(struct vats *vs);

/* ---- online.c: a vat's worker ------------------------------------------ */

/*
 * Start v's worker: restored from its heap snapshot (once the snapshot's
 * size and hash are checked, off the loop: v is KVAT_STARTING meanwhile,
 * without a worker), or spawned and given its bundle; then its transcript
 * replayed.  The ready or failed event follows from the loop (or halt,
 * for a snapshot that cannot be used when the transcript it replaced is
 * gone).  -1 when it cannot even start, with *why (malloc'd; NULL when
 * memory ran out); *vat_fault says whether the vat's own records are the
 * cause (its bundle is not installed) rather than this machine.
 */
int	 vat_online(struct kvat *v, char **why, bool *vat_fault);
/* Stop v's worker (if any); v is offline unless terminated. */
void	 vat_offline(struct kvat *v);
/* Answer the syscall of v's live delivery whose answer the kernel gave
 * as VATWORKER_LATER (text borrowed).  -1 when none is awaited. */
int	 vat_answer(struct kvat *v, const char *text, size_t len);
/* Send v's ready worker a delivery, already encoded (len bytes); the
 * delivered or failed event follows.  -1 when it cannot be sent. */
int	 vat_deliver(struct kvat *v, const char *text, size_t len);
/* The pid of v's worker process (v has one). */
long	 vat_pid(const struct kvat *v);

/* ---- snapshot.c: heap snapshots ---------------------------------------- */

/* Whether a heap snapshot is due after v's latest transcript entry (the
 * kernel first delivers bringOutYourDead, as SwingSet does). */
bool	 snapshot_due(struct kvat *v);
/*
 * Called in the crank of v's delivery, after its transcript entry: start
 * a heap snapshot if one is due.  true: the crank waits for the
 * snapshotted event (or failed, a machine fault); false: nothing to wait
 * for.
 */
bool	 snapshot_maybe_start(struct kvat *v);
/* Drop a snapshot being written (a crank that ends without it). */
void	 snapshot_cancel(struct vats *vs);
/* The block committed: remove files no committed record names. */
void	 snapshot_block_committed(struct vats *vs);
/* A terminated vat's record goes with the open crank (its file with the
 * sweep after the block commits).  A store code. */
int	 snapshot_forget(struct vats *vs, const char *vat_id);
/* The position of v's snapshot (a new JSON integer), or JSON null. */
json_t	*snapshot_status_pos(struct kvat *v);

/* ---- transcript.c: per-vat delivery records ---------------------------- */

/*
 * Append v's next entry, in the open crank: vdo (the delivery as sent),
 * sc (its syscalls as recorded: "{"s":…,"r":…},…", sc_len bytes) and
 * the computrons it used.  A store code.
 */
int	 transcript_append(struct kvat *v, const char *vdo, size_t vdo_len,
	    const char *sc, size_t sc_len, uint64_t computrons);
/* Entry pos as JSON (new reference), or NULL. */
json_t	*transcript_entry(struct kvat *v, uint64_t pos);
/* Entries ever appended (pruned ones included). */
uint64_t transcript_length(struct kvat *v);
bool	 transcript_has(struct kvat *v, uint64_t pos);
/* Delete entries from … to-1, in the open crank.  A store code. */
int	 transcript_prune(struct kvat *v, uint64_t from, uint64_t to);

#endif
