/*
 * vats_impl.h — private to daemon/vats/: what its files call of each
 * other beyond the door (vats.h), grouped by the file that defines them.
 */
#ifndef DAEMON_VATS_IMPL_H
#define DAEMON_VATS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/vats/vats.h"

/* snapshot.c — opening the directory, the worker's snapshot stream, and
 * where a restarted worker starts */
int	 snapshot_open(struct vats *vs, const char *state_dir, char *errbuf,
	    size_t errlen);
void	 snapshot_close(struct vats *vs);
void	 snapshot_data(struct kvat *v, const unsigned char *bytes,
	    size_t len);
void	 snapshot_done(struct kvat *v, uint64_t size);
void	 snapshot_failed(struct kvat *v, const char *why);
/*
 * Where v's worker starts.  0: from scratch, now (v has no snapshot).
 * 1: v's snapshot is being checked off the loop (v->checking); then, from
 * the loop, vat_start_from() with the verified snapshot (or with none,
 * when it is unusable but the transcript is whole), or the halt event.
 * -1 with err when memory runs out.
 */
int	 snapshot_restore(struct kvat *v, char *err, size_t errlen);
/* Forget the check under way (vat_offline). */
void	 snapshot_restore_cancel(struct kvat *v);

/* online.c — start v's worker after its snapshot's check: from fd (the
 * snapshot, at transcript position pos; owned) or, fd -1, from scratch.
 * A failure to start is the failed event. */
void	 vat_start_from(struct kvat *v, int fd, uint64_t pos);

#endif
