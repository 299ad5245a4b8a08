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
 * last snapshot, the worker is sent `w@7`.  Unlike SwingSet, no
 * bringOutYourDead is delivered first: that delivery's syscalls and
 * transcript entry would be kernel state, so the activity hash would
 * depend on when snapshots are taken.  Like SwingSet's default
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The records: which vat names which file, and whether it was seen. */
struct keep_item {
	char	 vat[24];
	char	 hash[65];
	bool	 seen;
};

struct keep {
	struct keep_item *it;
	size_t	 n, cap;
};

static bool
keep_has(void *arg, const char *hash)
{
	struct keep	*kp = arg;
	bool		 found = false;

	for (size_t i = 0; i < kp->n; i++)
		if (strcmp(kp->it[i].hash, hash) == 0)
			found = kp->it[i].seen = true;
	return found;
}

static int
keep_add(struct keep *kp, const char *vat, const char *hash)
{
	struct keep_item *it;

	if (kp->n == kp->cap) {
		it = reallocarray(kp->it, kp->cap ? kp->cap * 2 : 8,
		    sizeof(*it));
		if (it == NULL)
			return -1;
		kp->it = it;
		kp->cap = kp->cap ? kp->cap * 2 : 8;
	}
	it = &kp->it[kp->n++];
	snprintf(it->vat, sizeof(it->vat), "%.*s", (int)sizeof(it->vat) - 1,
	    vat);
	memcpy(it->hash, hash, sizeof(it->hash));
	it->seen = false;
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

/* Remove the files no record names, and say which named files are
 * missing (that vat's next delivery will halt the kernel).  Only with no
 * block open: the records are then the committed ones. */
static void
snap_sweep(struct vats *vs)
{
	struct keep kp = { 0 };

	if (keep_collect(vs, &kp) == 0 &&
	    snapstore_sweep(vs->snaps, keep_has, &kp) >= 0) {
		for (size_t i = 0; i < kp.n; i++)
			if (!kp.it[i].seen)
				log_error("kernel", "%s: its heap snapshot "
				    "%s/%s is missing", kp.it[i].vat,
				    snapstore_path(vs->snaps), kp.it[i].hash);
	} else
		log_warnx("kernel", "heap snapshot records unreadable; "
		    "%s not swept", snapstore_path(vs->snaps));
	free(kp.it);
}

int
snapshot_open(struct vats *vs, const char *state_dir, char *errbuf,
    size_t errlen)
{
	if (snapstore_open(state_dir, &vs->snaps, errbuf, errlen) == -1)
		return -1;
	snap_sweep(vs);
	return 0;
}

void
snapshot_close(struct vats *vs)
{
	snapshot_cancel(vs);
	snapstore_close(vs->snaps);
	vs->snaps = NULL;
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

/*
 * Called in the crank of v's delivery, after its transcript entry: start
 * a snapshot if one is due.  true: the crank waits, and snapshot_done()
 * or snapshot_failed() resumes it through the snapshotted (or failed)
 * event.
 */
bool
snapshot_maybe_start(struct kvat *v)
{
	struct vats	*vs = v->vs;
	char		 err[512];

	if (vs->snaps == NULL || v->vw == NULL || v->state != KVAT_READY ||
	    !vatworker_can_snapshot(v->vw) || !snap_due(v))
		return false;
	if ((vs->snap_w = snapstore_begin(vs->snaps, err, sizeof(err))) ==
	    NULL) {
		snap_fail(v, err);
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

void
snapshot_data(struct vats *vs, const unsigned char *bytes, size_t len)
{
	if (vs->snap_w != NULL)
		snapstore_write(vs->snap_w, bytes, len);
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

/* The worker sent all size bytes of its snapshot. */
void
snapshot_done(struct kvat *v, uint64_t size)
{
	struct vats		*vs = v->vs;
	struct snapstore_writer	*sw = vs->snap_w;
	struct ksnap_rec	 rec = { .pos = v->tlen };
	char			 err[512];

	vs->snap_w = NULL;
	v->state = KVAT_READY;
	if (sw == NULL)
		snap_fail(v, "can't happen: no snapshot file open");
	else if (snapstore_commit(sw, rec.hash, &rec.size, err,
	    sizeof(err)) == -1)
		snap_fail(v, err);
	else if (rec.size != size) {
		snprintf(err, sizeof(err), "the worker announced %" PRIu64
		    " bytes and sent %" PRIu64, size, rec.size);
		snap_fail(v, err);
	} else
		snap_restart(v, snap_record(v, &rec));
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

/*
 * How to start v's worker: from its snapshot (*fd open on it, *pos its
 * position, v->restored its short hash), or from scratch (*fd = -1,
 * *pos = 0).  -1 with *why (malloc'd) when it has a snapshot that cannot
 * be used and the transcript it replaced is gone.
 */
int
snapshot_restore(struct kvat *v, int *fd, uint64_t *pos, char **why)
{
	struct vats		*vs = v->vs;
	struct ksnap_rec	 rec;
	char			 err[768];

	*fd = -1;
	*pos = 0;
	v->restored[0] = '\0';
	if (vs->snaps == NULL || !snap_record_get(vs, v->id, &rec))
		return 0;
	if (snapstore_open_verified(vs->snaps, rec.hash, rec.size, fd, err,
	    sizeof(err)) == 0) {
		*pos = rec.pos;
		snprintf(v->restored, sizeof(v->restored), "%.12s", rec.hash);
		return 0;
	}
	if (rec.pos == 0 || transcript_has(v, 0)) {
		log_warnx("kernel", "%s: heap snapshot unusable (%s); replaying "
		    "the whole transcript instead", v->id, err);
		return 0;
	}
	if (asprintf(why, "heap snapshot %s at delivery %" PRIu64 " is "
	    "unusable (%s), and the transcript entries before that delivery "
	    "were pruned when it was recorded: the worker cannot be rebuilt",
	    rec.hash, rec.pos, err) < 0)
		*why = NULL;
	return -1;
}
