/*
 * ksnapshot.c — heap snapshots of xsnap vats, kernel side
 * (worker-protocol.md §7, kernel-semantics.md §17.4): when a vat's
 * snapshot is due, taking it inside the crank of the delivery that made
 * it due, recording which snapshot stands for which transcript position,
 * pruning what that makes unnecessary, and finding it again to restore a
 * worker.  The files themselves are snapstore.c's; vats whose manager
 * type has no heap snapshots (the test worker) never get here.
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
 * block, and only after the file is durable (snapstore.c).  Superseded
 * files are removed after the block commits (ksnap_block_committed).
 *
 * The record is not in the hashed kv: a snapshot's bytes depend on the
 * xsnap build and heap layout.  SwingSet keeps its snapStore out of the
 * crank hash too.  *When* snapshots are taken is consensus, though: `w`
 * makes XS collect garbage and the worker is restarted from the
 * snapshot, so the computrons of later deliveries (liveslots finalizes
 * collected objects in metered code) depend on it, and computrons reach
 * meters (hashed) and run budgets (crank boundaries).  So
 * snapshotInitial and snapshotInterval are recorded at first start
 * (kernel_boot.c), as SwingSet records them, and every node snapshots
 * after the same deliveries.
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

#include "daemon/daemon.h"
#include "daemon/kernel.h"
#include "daemon/snapstore.h"
#include "protocol/log.h"

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- records ------------------------------------------------------------ */

bool
ksnap_record(struct kernel *k, const char *vat_id, struct ksnap_rec *out)
{
	const void	*val;
	size_t		 len;
	json_t		*j, *pos, *size, *hash;
	bool		 ok;

	if (store_get(k->st, STORE_SNAPSHOTS, vat_id, strlen(vat_id), &val,
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
record_put(struct kernel *k, struct kvat *v, const struct ksnap_rec *r)
{
	char	 text[192];
	int	 n = snprintf(text, sizeof(text), "{\"snapPos\":%" PRIu64
		    ",\"hash\":\"%s\",\"size\":%" PRIu64 "}", r->pos, r->hash,
		    r->size);

	if (n < 0 || (size_t)n >= sizeof(text))
		return STORE_EINVAL;
	return store_put(k->st, STORE_SNAPSHOTS, v->id, strlen(v->id), text,
	    (size_t)n);
}

json_t *
ksnap_status_pos(struct kernel *k, struct kvat *v)
{
	struct ksnap_rec rec;

	return ksnap_record(k, v->id, &rec) ? json_integer((json_int_t)rec.pos)
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
keep_collect(struct kernel *k, struct keep *kp)
{
	char			 key[512];
	const void		*next;
	size_t			 nlen, klen = 0;
	struct ksnap_rec	 rec;
	int			 rc;

	while ((rc = store_next_key(k->st, STORE_SNAPSHOTS, klen ? key :
	    NULL, klen, &next, &nlen)) == STORE_OK) {
		if (nlen >= sizeof(key))
			return -1;
		memcpy(key, next, nlen);
		key[nlen] = '\0';
		klen = nlen;
		if (!ksnap_record(k, key, &rec) || keep_add(kp, key, rec.hash)
		    == -1)
			return -1;
	}
	return rc == STORE_NOTFOUND ? 0 : -1;
}

/* Remove the files no record names, and say which named files are
 * missing (that vat's next delivery will halt the kernel).  Only with no
 * block open: the records are then the committed ones. */
static void
ksnap_sweep(struct kernel *k)
{
	struct keep kp = { 0 };

	if (keep_collect(k, &kp) == 0 &&
	    snapstore_sweep(k->snaps, keep_has, &kp) >= 0) {
		for (size_t i = 0; i < kp.n; i++)
			if (!kp.it[i].seen)
				log_error("kernel", "%s: its heap snapshot "
				    "%s/%s is missing", kp.it[i].vat,
				    snapstore_path(k->snaps), kp.it[i].hash);
	} else
		log_warnx("kernel", "heap snapshot records unreadable; "
		    "%s not swept", snapstore_path(k->snaps));
	free(kp.it);
}

int
ksnap_open(struct kernel *k, char *errbuf, size_t errlen)
{
	if (snapstore_open(k->d->state_dir, &k->snaps, errbuf, errlen) == -1)
		return -1;
	ksnap_sweep(k);
	return 0;
}

void
ksnap_close(struct kernel *k)
{
	ksnap_cancel(k);
	snapstore_close(k->snaps);
	k->snaps = NULL;
}

void
ksnap_block_committed(struct kernel *k)
{
	if (!k->snaps_dirty || k->snaps == NULL)
		return;
	k->snaps_dirty = false;
	ksnap_sweep(k);
}

/* A terminated vat's snapshot is not needed any more: its record goes
 * with the open crank, its file with the sweep after the block commits. */
int
ksnap_forget(struct kernel *k, const char *vat_id)
{
	int rc;

	if (k->snaps == NULL)
		return STORE_OK;
	rc = store_del(k->st, STORE_SNAPSHOTS, vat_id, strlen(vat_id));
	if (rc == STORE_NOTFOUND)
		return STORE_OK;
	if (rc == STORE_OK)
		k->snaps_dirty = true;
	return rc;
}

/* ---- taking one ----------------------------------------------------------- */

/* No snapshot now: a machine fault (see Failures above); the crank is
 * abandoned and retried, or the kernel halts. */
static void
snap_fail(struct kernel *k, struct kvat *v, const char *why)
{
	char msg[768];

	snprintf(msg, sizeof(msg), "no heap snapshot at delivery %" PRIu64
	    ": %s", v->tlen, why);
	kernel_vat_failed(k, v, false, msg);
}

/* Is a snapshot due after v's last delivery? */
static bool
snap_due(struct kernel *k, struct kvat *v)
{
	const struct config	*cfg = k->d->cfg;
	struct ksnap_rec	 rec;
	bool			 have = ksnap_record(k, v->id, &rec);
	uint64_t		 from = have ? rec.pos : 0;
	uint64_t		 every = (uint64_t)(have ?
				    cfg->snapshot_interval :
				    cfg->snapshot_initial);

	return v->tlen >= from + every;
}

/*
 * Called in the crank of v's delivery, after its transcript entry: start
 * a snapshot if one is due.  true: the crank waits, and ksnap_done() or
 * ksnap_failed() resumes it through kernel_vat_snapshotted().
 */
bool
ksnap_maybe_start(struct kernel *k, struct kvat *v)
{
	char err[512];

	if (k->snaps == NULL || v->vw == NULL || v->state != KVAT_READY ||
	    !vatworker_can_snapshot(v->vw) || !snap_due(k, v))
		return false;
	if ((k->snap_w = snapstore_begin(k->snaps, err, sizeof(err))) ==
	    NULL) {
		snap_fail(k, v, err);
		return true;	/* the crank was abandoned */
	}
	if (vatworker_snapshot(v->vw) == -1) {
		ksnap_cancel(k);
		snap_fail(k, v, "the worker took no snapshot command");
		return true;
	}
	v->state = KVAT_SNAPSHOTTING;
	k->snap_t0 = mono_us();
	k->snaps_dirty = true;	/* a file that ends up unnamed is swept */
	return true;
}

void
ksnap_data(struct kernel *k, const unsigned char *bytes, size_t len)
{
	if (k->snap_w != NULL)
		snapstore_write(k->snap_w, bytes, len);
}

/* Record rec for v and prune the entries it covers, in the open crank. */
static void
snap_record(struct kernel *k, struct kvat *v, const struct ksnap_rec *rec)
{
	struct ksnap_rec	 old;
	uint64_t		 from = ksnap_record(k, v->id, &old) ?
				    old.pos : 0;
	int			 rc = record_put(k, v, rec);

	if (rc == STORE_OK)
		rc = transcript_prune(k, v, from, rec->pos);
	if (rc != STORE_OK) {
		if (k->cr.store_rc == STORE_OK)
			k->cr.store_rc = rc;	/* the crank is abandoned */
		return;
	}
	log_info("kernel", "%s: heap snapshot %.12s at delivery %" PRIu64
	    " (%" PRIu64 " bytes, %" PRIu64 " ms); transcript entries %"
	    PRIu64 "-%" PRIu64 " pruned", v->id, rec->hash, rec->pos,
	    rec->size, (mono_us() - k->snap_t0) / 1000, from, rec->pos - 1);
}

/* Replace v's worker by one restored from the snapshot just recorded;
 * the crank waits for it (kernel_vat_ready), or fails like any worker. */
static void
snap_restart(struct kernel *k, struct kvat *v)
{
	char	*why = NULL;
	bool	 vat_fault;

	kvat_offline(v);
	if (k->cr.store_rc != STORE_OK) {
		kernel_vat_snapshotted(k, v);	/* abandons the crank */
		return;
	}
	if (kvat_bring_online(k, v, &why, &vat_fault) == -1) {
		kernel_vat_failed(k, v, false, why ? why : "cannot restart "
		    "from the snapshot");
		free(why);
		return;
	}
	k->cr.restarting = true;
}

/* The worker sent all size bytes of its snapshot. */
void
ksnap_done(struct kernel *k, struct kvat *v, uint64_t size)
{
	struct snapstore_writer	*sw = k->snap_w;
	struct ksnap_rec	 rec = { .pos = v->tlen };
	char			 err[512];

	k->snap_w = NULL;
	v->state = KVAT_READY;
	if (sw == NULL)
		snap_fail(k, v, "can't happen: no snapshot file open");
	else if (snapstore_commit(sw, rec.hash, &rec.size, err,
	    sizeof(err)) == -1)
		snap_fail(k, v, err);
	else if (rec.size != size) {
		snprintf(err, sizeof(err), "the worker announced %" PRIu64
		    " bytes and sent %" PRIu64, size, rec.size);
		snap_fail(k, v, err);
	} else {
		snap_record(k, v, &rec);
		snap_restart(k, v);
	}
}

/* The worker was lost while writing (it is offline already). */
void
ksnap_failed(struct kernel *k, struct kvat *v, const char *why)
{
	ksnap_cancel(k);
	snap_fail(k, v, why);
}

void
ksnap_cancel(struct kernel *k)
{
	snapstore_abort(k->snap_w);
	k->snap_w = NULL;
}

/* ---- restoring ------------------------------------------------------------ */

/*
 * How to start v's worker: from its snapshot (*fd open on it, *pos its
 * position, v->restored its short hash), or from scratch (*fd = -1,
 * *pos = 0).  -1 with *why (malloc'd) when it has a snapshot that cannot
 * be used and the transcript it replaced is gone.
 */
int
ksnap_restore(struct kernel *k, struct kvat *v, int *fd, uint64_t *pos,
    char **why)
{
	struct ksnap_rec	 rec;
	char			 err[768];

	*fd = -1;
	*pos = 0;
	v->restored[0] = '\0';
	if (k->snaps == NULL || !ksnap_record(k, v->id, &rec))
		return 0;
	if (snapstore_open_verified(k->snaps, rec.hash, rec.size, fd, err,
	    sizeof(err)) == 0) {
		*pos = rec.pos;
		snprintf(v->restored, sizeof(v->restored), "%.12s", rec.hash);
		return 0;
	}
	if (rec.pos == 0 || transcript_has(k, v, 0)) {
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
