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
void	 snapshot_data(struct vats *vs, const unsigned char *bytes,
	    size_t len);
void	 snapshot_done(struct kvat *v, uint64_t size);
void	 snapshot_failed(struct kvat *v, const char *why);
int	 snapshot_restore(struct kvat *v, int *fd, uint64_t *pos,
	    char **why);

#endif
