/*
 * store_aside.h — a durable write beside the block, for tables whose
 * contents are named by their own hash (bundles): committed to disk at
 * once, not part of any crank, block or hash.  An addition to the store's
 * contract (store.h), kept in its own file.
 *
 * Why beside the block: a bundle is not kernel state.  Its ID is its
 * hash, so two daemons that hold the same bundle agree on what it is
 * whenever each installed it; the bundles table is not hashed (store.h);
 * and installBundle answers only once the bundle is on disk, whatever
 * becomes of the open block (a restart drops it).
 */
#ifndef DAEMON_STORE_ASIDE_H
#define DAEMON_STORE_ASIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/store.h"

/*
 * Put key = val in table t (only STORE_BUNDLES: STORE_EINVAL otherwise)
 * in a write transaction of its own, committed durably before it returns.
 * A key already committed is left as it is and *existed set (the first
 * writer wins, as SwingSet's bundle store does).
 *
 * No crank may be open (STORE_ESTATE).  An open block stays open and
 * intact: its LMDB transaction is dropped first (LMDB has one writer) and
 * rebuilt from its redo log on next use, on top of this write.  Like a
 * crank boundary, it ends the lifetime of memory borrowed from
 * store_get() and store_next_key().  A full map grows as for any write
 * (STORE_EFULL at max_map_size); STORE_EIO, STORE_ENOMEM as in store.h.
 */
int	store_aside_put(struct store *st, enum store_table t, const void *key,
	    size_t klen, const void *val, size_t vlen, bool *existed);

#endif /* DAEMON_STORE_ASIDE_H */
