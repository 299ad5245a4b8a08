/*
 * snapshot.c — heap snapshots of xsnap vats, kernel side
 * (worker-protocol.md §7, kernel-semantics.md §17.4): when a vat's
 * snapshot is due, taking it inside the crank of the delivery that made
 * it due, recording which snapshot stands for which transcript position,
 * pruning what that makes unnecessary, and finding it again to restore a
 * worker.  The files themselves are daemon/store/snapshots.c's; vats
 * whose manager type has no heap snapshots (the test worker) never get
 * here.
 *
 * Policy.  After a delivery that succeeded (a vat that exits gets none):
 * when the vat has no snapshot and its transcript holds snapshotInitial
 * deliveries, or its transcript has grown by snapshotInterval since its
 * last snapshot, the worker is sent `w@7`.  As in SwingSet, the kernel
 * first delivers bringOutYourDead in the same crank (daemon/kernel/
 * deliver.c): its syscalls and transcript entry are kernel state, which
 * is why when snapshots are taken is consensus (below).  Like SwingSet's default
 * (restartWorkerOnSnapshot), the worker is then replaced by one restored
 * from the snapshot, inside the same crank: a running worker is always
 * "latest snapshot + replayed tail", whether or not the daemon restarted
 * in between, and a snapshot is known to restore before the record
 * naming it commits (a restore that fails is a machine fault: the crank,
 * record included, is abandoned and retried).
 *
 * The record, in the snapshots table: key = vat ID, value =
 * {"snapPos":N,"hash":"<sha256 hex>","size":BYTES}: the snapshot is the
 * worker's state after transcript entries 0 … N-1, i.e. after N
 * deliveries.  It is written in the delivery's crank, with the pruning of
 * the entries it covers (≥ the previous snapPos, < N; positions stay
 * absolute), so record and pruning commit or vanish together, with the
 * block, and only after the file is durable (store/snapshots.c).  Superseded
 * files are removed after the block commits (snapshot_block_committed).
 *
 * The record is not in the hashed kv: a snapshot's bytes depend on the
 * xsnap build and heap layout.  SwingSet keeps its snapStore out of the
 * crank hash too.  *When* snapshots are taken is consensus, though: `w`
 * makes XS collect garbage and the worker is restarted from the
 * snapshot, so the computrons of later deliveries (liveslots finalizes
 * collected objects in metered code) depend on it, and computrons reach
 * meters (hashed) and run budgets (crank boundaries).  So
 * snapshotInitial and snapshotInterval are recorded at first start
 * (daemon/kernel/boot.c), as SwingSet records them, and every node
 * snapshots after the same deliveries.
 *
 * The loop never waits on the disk.  The file work — writing, fsync and
 * rename, checking a snapshot's hash before a restore, sweeping — runs on
 * the snapshot store's I/O thread (daemon/store/snapio.c), and its
 * results come back through callbacks from the loop (an ev_async woken by
 * that thread runs snapstore_complete()).  The crank waits for them as
 * it waits for a worker: v stays snapshotting until the file is durable
 * and the record written, then starting until its restored worker is
 * ready; meanwhile status and the other control requests are answered.
 * Only the order of events is kernel state, never their timing: the
 * crank commits after the file is durable, and a worker starts from a
 * snapshot only after its hash was checked, however long either takes.
 *
 * Failures.  A snapshot that cannot be written (disk full, worker lost
 * during `w`) is a machine fault: the crank is abandoned and retried on a
 * rebuilt worker, then the kernel halts (a node that went on without the
 * snapshot would meter differently from the others).  One that cannot be
 * read back (missing, wrong size, wrong hash) is replaced by a replay of
 * the whole transcript if the transcript is still whole; once the entries
 * it covers were pruned, the vat cannot be rebuilt and the kernel halts,
 * naming the file (there is no silent fallback).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/store/store.h"
#include "daemon/vats/vats.h"
#include "daemon/vats/vats_impl.h"
#include "protocol/log.h"

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Tell the kernel to halt, with a formatted reason. */
static void snap_halt(struct kvat *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
snap_halt(struct kvat *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	v->vs->ev->halt(v->vs->ev_arg, fmt, ap);
	va_end(ap);
}

/* ---- records ------------------------------------------------------------ */

/* A vat's record in the snapshots table. */
struct ksnap_rec {
	uint64_t	 pos;		/* transcript entries it includes */
	uint64_t	 size;		/* bytes */
	char		 hash[65];	/* SHA-256, hex */
};

static bool
snap_record_get(struct vats *vs, const char *vat_id,
    struct ksnap_rec *out)
{
	const void	*val;
	size_t		 len;
	json_t		*j, *pos, *size, *hash;
	bool		 ok;

	if (store_get(vs->st, STORE_SNAPSHOTS, vat_id, strlen(vat_id), &val,
	    &len) != STORE_OK)
		return false;
	j = json_loadb(val, len, 0, NULL);
	pos = json_object_get(j, "snapPos");
	size = json_object_get(j, "size");
	hash = json_object_get(j, "hash");
	ok = json_is_integer(pos) && json_integer_value(pos) >= 0 &&
	    json_is_integer(size) && json_integer_value(size) >= 0 &&
	    json_is_string(hash) && strlen(json_string_value(hash)) ==
	    sizeof(out->hash) - 1;
	if (ok) {
		out->pos = (uint64_t)json_integer_value(pos);
		out->size = (uint64_t)json_integer_value(size);
		memcpy(out->hash, json_string_value(hash), sizeof(out->hash));
	} else
		log_warnx("kernel", "%s: damaged heap snapshot record", vat_id);
	json_decref(j);
	return ok;
}

static int
record_put(struct kvat *v, const struct ksnap_rec *r)
{
	char	 text[192];
	int	 n = snprintf(text, sizeof(text), "{\"snapPos\":%" PRIu64
		    ",\"hash\":\"%s\",\"size\":%" PRIu64 "}", r->pos, r->hash,
		    r->size);

	if (n < 0 || (size_t)n >= sizeof(text))
		return STORE_EINVAL;
	return store_put(v->vs->st, STORE_SNAPSHOTS, v->id, strlen(v->id), text,
	    (size_t)n);
}

json_t *
snapshot_status_pos(struct kvat *v)
{
	struct ksnap_rec rec;

	return snap_record_get(v->vs, v->id, &rec) ?
	    json_integer((json_int_t)rec.pos)
	    : json_null();
}

/* ---- sweeping ----------------------------------------------------------- */

/* The records: which vat names which file. */
struct keep {
	struct vats *vs;
	char	(*hash)[SNAPSTORE_HASH_HEXLEN + 1];
	char	(*vat)[24];
	size_t	 n, cap;
};

static void
keep_free(struct keep *kp)
{
	free(kp->hash);
	free(kp->vat);
	free(kp);
}

static int
keep_add(struct keep *kp, const char *vat, const char *hash)
{
	void	*h, *v;
	size_t	 cap = kp->cap ? kp->cap * 2 : 8;

	if (kp->n == kp->cap) {
		if ((h = reallocarray(kp->hash, cap, sizeof(*kp->hash))) == NULL)
			return -1;
		kp->hash = h;
		if ((v = reallocarray(kp->vat, cap, sizeof(*kp->vat))) == NULL)
			return -1;
		kp->vat = v;
		kp->cap = cap;
	}
	snprintf(kp->vat[kp->n], sizeof(kp->vat[0]), "%.*s",
	    (int)sizeof(kp->vat[0]) - 1, vat);
	memcpy(kp->hash[kp->n], hash, sizeof(kp->hash[0]));
	kp->n++;
	return 0;
}

/* Every record's hash; -1 (sweep nothing) if any record is unreadable. */
static int
keep_collect(struct vats *vs, struct keep *kp)
{
	char			 key[512];
	const void		*next;
	size_t			 nlen, klen = 0;
	struct ksnap_rec	 rec;
	int			 rc;

	while ((rc = store_next_key(vs->st, STORE_SNAPSHOTS, klen ? key :
	    NULL, klen, &next, &nlen)) == STORE_OK) {
		if (nlen >= sizeof(key))
			return -1;
		memcpy(key, next, nlen);
		key[nlen] = '\0';
		klen = nlen;
		if (!snap_record_get(vs, key, &rec) || keep_add(kp, key, rec.hash)
		    == -1)
			return -1;
	}
	return rc == STORE_NOTFOUND ? 0 : -1;
}

/* The sweep is over: say which named files are missing (that vat's next
 * delivery will halt the kernel).  seen NULL: no answer. */
static void
snap_swept(void *arg, const bool *seen, size_t n)
{
	struct keep *kp = arg;

	for (size_t i = 0; seen != NULL && i < n; i++)
		if (!seen[i])
			log_error("kernel", "%s: its heap snapshot %s/%s is "
			    "missing", kp->vat[i], snapstore_path(kp->vs->snaps),
			    kp->hash[i]);
	keep_free(kp);
}

/* Remove the files no record names, on the store's I/O thread.  Only with
 * no block open: the records are then the committed ones. */
static void
snap_sweep(struct vats *vs)
{
	struct keep *kp = calloc(1, sizeof(*kp));

	if (kp != NULL)
		kp->vs = vs;
	if (kp != NULL && keep_collect(vs, kp) == 0 &&
	    snapstore_sweep(vs->snaps, (const char (*)[SNAPSTORE_HASH_HEXLEN +
	    1])kp->hash, kp->n, snap_swept, kp) == 0)
		return;
	log_warnx("kernel", "heap snapshot records unreadable or memory "
	    "short; %s not swept", snapstore_path(vs->snaps));
	if (kp != NULL)
		keep_free(kp);
}

/* The store's I/O thread has finished work: its callbacks, on the loop. */
static void
snap_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct vats *vs = w->data;

	(void)loop;
	(void)revents;
	snapstore_complete(vs->snaps);
}

/* On the store's I/O thread. */
static void
snap_wake(void *arg)
{
	struct vats *vs = arg;

	ev_async_send(vs->loop, &vs->snap_async);
}

int
snapshot_open(struct vats *vs, const char *state_dir, char *errbuf,
    size_t errlen)
{
	ev_async_init(&vs->snap_async, snap_async_cb);
	vs->snap_async.data = vs;
	ev_async_start(vs->loop, &vs->snap_async);
	ev_unref(vs->loop);	/* it alone does not keep the loop running */
	if (snapstore_open(state_dir, snap_wake, vs, &vs->snaps, errbuf,
	    errlen) == -1)
		return -1;
	/* at start, before the loop runs: done before anything is served */
	snap_sweep(vs);
	snapstore_drain(vs->snaps);
	return 0;
}

void
snapshot_close(struct vats *vs)
{
	snapshot_cancel(vs);
	snapstore_close(vs->snaps);	/* joins its thread */
	vs->snaps = NULL;
	if (ev_is_active(&vs->snap_async)) {
		ev_ref(vs->loop);
		ev_async_stop(vs->loop, &vs->snap_async);
	}
}

void
snapshot_block_committed(struct vats *vs)
{
	if (!vs->snaps_dirty || vs->snaps == NULL)
		return;
	vs->snaps_dirty = false;
	snap_sweep(vs);
}

/* A terminated vat's snapshot is not needed any more: its record goes
 * with the open crank, its file with the sweep after the block commits. */
int
snapshot_forget(struct vats *vs, const char *vat_id)
{
	int rc;

	if (vs->snaps == NULL)
		return STORE_OK;
	rc = store_del(vs->st, STORE_SNAPSHOTS, vat_id, strlen(vat_id));
	if (rc == STORE_NOTFOUND)
		return STORE_OK;
	if (rc == STORE_OK)
		vs->snaps_dirty = true;
	return rc;
}

/* ---- taking one ----------------------------------------------------------- */

/* No snapshot now: a machine fault (see Failures above); the crank is
 * abandoned and retried, or the kernel halts. */
static void
snap_fail(struct kvat *v, const char *why)
{
	char msg[768];

	snprintf(msg, sizeof(msg), "no heap snapshot at delivery %" PRIu64
	    ": %s", v->tlen, why);
	v->vs->ev->failed(v->vs->ev_arg, v, false, msg);
}

/* Is a snapshot due after v's last delivery? */
static bool
snap_due(struct kvat *v)
{
	const struct config	*cfg = v->vs->cfg;
	struct ksnap_rec	 rec;
	bool			 have = snap_record_get(v->vs, v->id, &rec);
	uint64_t		 from = have ? rec.pos : 0;
	uint64_t		 every = (uint64_t)(have ?
				    cfg->snapshot_interval :
				    cfg->snapshot_initial);

	return v->tlen >= from + every;
}

static void	snap_drained(void *);
static void	snap_committed(void *, const char *, uint64_t, const char *);

static const struct snapstore_writer_cb snap_writer_cb = {
	.drained = snap_drained,
	.committed = snap_committed,
};

/*
 * Called in the crank of v's delivery, after its transcript entry: start
 * a snapshot if one is due.  true: the crank waits, and the committed
 * callback (through the snapshotted event) or snapshot_failed() resumes
 * it.
 */
/* Whether v's worker takes a heap snapshot now, if asked. */
bool
snapshot_due(struct kvat *v)
{
	return v->vs->snaps != NULL && v->vw != NULL &&
	    v->state == KVAT_READY && vatworker_can_snapshot(v->vw) &&
	    snap_due(v);
}

bool
snapshot_maybe_start(struct kvat *v)
{
	struct vats *vs = v->vs;

	if (!snapshot_due(v))
		return false;
	if ((vs->snap_w = snapstore_begin(vs->snaps, &snap_writer_cb, v)) ==
	    NULL) {
		snap_fail(v, "out of memory");
		return true;	/* the crank was abandoned */
	}
	if (vatworker_snapshot(v->vw) == -1) {
		snapshot_cancel(vs);
		snap_fail(v, "the worker took no snapshot command");
		return true;
	}
	v->state = KVAT_SNAPSHOTTING;
	vs->snap_t0 = mono_us();
	vs->snaps_dirty = true;	/* a file that ends up unnamed is swept */
	return true;
}

/* Bytes from the worker's fd 7: copied to the store's I/O thread.  When
 * the disk is slower than the worker, reading stops until it catches up
 * (the worker then waits on its full pipe), so what is in flight stays
 * under SNAPSTORE_HIGH. */
void
snapshot_data(struct kvat *v, const unsigned char *bytes, size_t len)
{
	struct vats *vs = v->vs;

	if (vs->snap_w != NULL && !snapstore_write(vs->snap_w, bytes, len) &&
	    v->vw != NULL)
		vatworker_snapshot_pause(v->vw, true);
}

/* The disk caught up: read fd 7 again. */
static void
snap_drained(void *arg)
{
	struct kvat *v = arg;

	if (v->vw != NULL && v->state == KVAT_SNAPSHOTTING)
		vatworker_snapshot_pause(v->vw, false);
}

/* Record rec for v and prune the entries it covers, in the open crank.
 * A store code: on failure the crank is to be abandoned. */
static int
snap_record(struct kvat *v, const struct ksnap_rec *rec)
{
	struct vats		*vs = v->vs;
	struct ksnap_rec	 old;
	uint64_t		 from = snap_record_get(v->vs, v->id, &old) ?
				    old.pos : 0;
	int			 rc = record_put(v, rec);

	if (rc == STORE_OK)
		rc = transcript_prune(v, from, rec->pos);
	if (rc != STORE_OK)
		return rc;
	log_info("kernel", "%s: heap snapshot %.12s at delivery %" PRIu64
	    " (%" PRIu64 " bytes, %" PRIu64 " ms); transcript entries %"
	    PRIu64 "-%" PRIu64 " pruned", v->id, rec->hash, rec->pos,
	    rec->size, (mono_us() - vs->snap_t0) / 1000, from, rec->pos - 1);
	return STORE_OK;
}

/* Replace v's worker by one restored from the snapshot just recorded
 * (store_rc: whether the record was written).  The crank waits for the
 * restored worker (online.c sends the snapshotted event when it is
 * replayed), or it fails like any worker. */
static void
snap_restart(struct kvat *v, int store_rc)
{
	const struct vats_events *ev = v->vs->ev;
	char	*why = NULL;
	bool	 vat_fault;

	vat_offline(v);
	if (store_rc != STORE_OK) {
		ev->snapshotted(v->vs->ev_arg, v, store_rc); /* abandons it */
		return;
	}
	if (vat_online(v, &why, &vat_fault) == -1) {
		ev->failed(v->vs->ev_arg, v, false, why ? why : "cannot restart "
		    "from the snapshot");
		free(why);
		return;
	}
	v->restarting = true;
}

/* The worker sent all size bytes of its snapshot: make the file durable
 * (on the store's I/O thread; v stays snapshotting meanwhile). */
void
snapshot_done(struct kvat *v, uint64_t size)
{
	struct vats *vs = v->vs;

	if (vs->snap_w == NULL) {
		v->state = KVAT_READY;
		snap_fail(v, "can't happen: no snapshot file open");
		return;
	}
	vs->snap_announced = size;
	snapstore_commit(vs->snap_w);
}

/* The snapshot file is durable under its hash (or err says why not):
 * record it and restart the worker from it. */
static void
snap_committed(void *arg, const char *hash, uint64_t size, const char *err)
{
	struct kvat		*v = arg;
	struct vats		*vs = v->vs;
	struct ksnap_rec	 rec = { .pos = v->tlen, .size = size };
	char			 msg[512];

	vs->snap_w = NULL;	/* freed after this call */
	v->state = KVAT_READY;
	if (err != NULL)
		snap_fail(v, err);
	else if (size != vs->snap_announced) {
		snprintf(msg, sizeof(msg), "the worker announced %" PRIu64
		    " bytes and sent %" PRIu64, vs->snap_announced, size);
		snap_fail(v, msg);
	} else {
		memcpy(rec.hash, hash, sizeof(rec.hash));
		snap_restart(v, snap_record(v, &rec));
	}
}

/* The worker was lost while writing (it is offline already). */
void
snapshot_failed(struct kvat *v, const char *why)
{
	snapshot_cancel(v->vs);
	snap_fail(v, why);
}

void
snapshot_cancel(struct vats *vs)
{
	snapstore_abort(vs->snap_w);
	vs->snap_w = NULL;
}

/* ---- restoring ------------------------------------------------------------ */

static void	restore_checked(void *, int, const char *);

/*
 * Where v's worker starts (vats_impl.h): with a snapshot, only once the
 * store's I/O thread has checked it (size, and the hash of every byte),
 * which for a big one takes long enough to stall the loop.
 */
int
snapshot_restore(struct kvat *v, char *err, size_t errlen)
{
	struct vats		*vs = v->vs;
	struct ksnap_rec	 rec;

	if (vs->snaps == NULL || !snap_record_get(vs, v->id, &rec))
		return 0;
	v->checking = snapstore_verify(vs->snaps, rec.hash, rec.size,
	    restore_checked, v);
	if (v->checking == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 1;
}

void
snapshot_restore_cancel(struct kvat *v)
{
	snapstore_verify_cancel(v->checking);
	v->checking = NULL;
}

/* The check is over: start from the snapshot (fd), or without it when the
 * transcript is whole, or halt: the vat cannot be rebuilt. */
static void
restore_checked(void *arg, int fd, const char *err)
{
	struct kvat		*v = arg;
	struct vats		*vs = v->vs;
	struct ksnap_rec	 rec;

	v->checking = NULL;
	if (!snap_record_get(vs, v->id, &rec)) {	/* can't happen */
		if (fd != -1)
			close(fd);
		fd = -1;
		rec.pos = 0;
	}
	if (fd != -1) {
		snprintf(v->restored, sizeof(v->restored), "%.12s", rec.hash);
		vat_start_from(v, fd, rec.pos);
		return;
	}
	if (err == NULL || rec.pos == 0 || transcript_has(v, 0)) {
		log_warnx("kernel", "%s: heap snapshot unusable (%s); replaying "
		    "the whole transcript instead", v->id, err ? err :
		    "its record is unreadable");
		vat_start_from(v, -1, 0);
		return;
	}
	v->state = KVAT_OFFLINE;
	snap_halt(v, "%s: cannot start its worker: heap snapshot %s at "
	    "delivery %" PRIu64 " is unusable (%s), and the transcript "
	    "entries before that delivery were pruned when it was recorded: "
	    "the worker cannot be rebuilt", v->id, rec.hash, rec.pos, err);
}
