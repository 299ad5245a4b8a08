/*
 * snapstore.h — heap snapshot files, content-addressed: <stateDir>/
 * snapshots/<sha256 hex> holds the snapshot whose bytes hash to that name.
 * Knows files and hashes only; which vat and transcript position a
 * snapshot stands for is recorded in the store by ksnapshot.c.
 *
 * Durability contract: snapstore_commit() returns only once the file is
 * complete under its final name and both the file and the directory entry
 * are on disk, so a record naming the file may commit after it.
 */
#ifndef DAEMON_SNAPSTORE_H
#define DAEMON_SNAPSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAPSTORE_HASH_HEXLEN	64

struct snapstore;
struct snapstore_writer;

/* Open (creating it, and syncing its parent, if needed) the directory
 * <state_dir>/snapshots.  -1 with errbuf. */
int	 snapstore_open(const char *state_dir, struct snapstore **out,
	    char *errbuf, size_t errlen);
void	 snapstore_close(struct snapstore *ss);
const char *snapstore_path(const struct snapstore *ss);	/* the directory */

/* Start a new snapshot file (a temporary name until committed).  NULL
 * with errbuf. */
struct snapstore_writer *snapstore_begin(struct snapstore *ss, char *errbuf,
	    size_t errlen);

/* Append [in] len bytes.  After the first failure the writer only counts
 * bytes; the failure is reported by snapstore_commit(). */
void	 snapstore_write(struct snapstore_writer *sw, const void *bytes,
	    size_t len);

/*
 * Finish: fsync the file, rename it to its hash, fsync the directory.
 * [out] hash (65 bytes: hex and NUL) and *size (bytes written).  Frees
 * sw in every case.  -1 with errbuf (the temporary file is removed).
 */
int	 snapstore_commit(struct snapstore_writer *sw, char *hash,
	    uint64_t *size, char *errbuf, size_t errlen);

/* Drop an unfinished snapshot (NULL is fine); frees sw. */
void	 snapstore_abort(struct snapstore_writer *sw);

/*
 * Open snapshot hash for reading after checking it: it exists, has size
 * bytes, and its bytes hash to its name (read once, whole).  *fd is at
 * offset 0 and close-on-exec; the caller closes it.  -1 with errbuf
 * ("missing", "N bytes, expected M", "its bytes hash to …", or the
 * system error).
 */
int	 snapstore_open_verified(struct snapstore *ss, const char *hash,
	    uint64_t size, int *fd, char *errbuf, size_t errlen);

/* Remove every file of the directory that keep() does not claim:
 * temporary files and snapshots no record names.  Logs each removal.
 * Returns the number removed, or -1 when the directory cannot be read. */
int	 snapstore_sweep(struct snapstore *ss,
	    bool (*keep)(void *arg, const char *hash), void *arg);

#endif
