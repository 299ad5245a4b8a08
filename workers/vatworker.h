/*
 * vatworker.h — a vat's worker as the kernel drives it: spawn, boot (what
 * differs between manager types lives in manager.c), setBundle and the
 * ready handshake — or, for a manager type with heap snapshots, a restore
 * from a snapshot (`-r @8:…`, then `R`) — then one delivery at a time,
 * with every syscall upcall handed to the kernel and answered with its
 * result (at once, or later: vatworker_answer()), and heap snapshots on request.  The same code
 * path drives the xsnap worker and the native test worker.
 */
#ifndef WORKERS_VATWORKER_H
#define WORKERS_VATWORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "workers/supervisor.h"
#include "workers/worker.h"

struct vatworker;

enum vatworker_state {
	VATWORKER_BOOTING,	/* spawned; running the boot commands */
	VATWORKER_RESTORING,	/* spawned from a snapshot; `R` sent */
	VATWORKER_SETTING_BUNDLE, /* setBundle sent; awaiting dispatchReady */
	VATWORKER_READY,	/* idle: may deliver */
	VATWORKER_DELIVERING,	/* a delivery in flight */
	VATWORKER_SNAPSHOTTING,	/* `w@7` in flight */
	VATWORKER_FAILED,	/* gone; see the failed callback */
};

/* Why a vat worker stopped: the worker's fault classification, or one of
 * these supervisor-level reasons. */
enum vatworker_failure {
	VATWORKER_F_WORKER,	/* the process: see enum worker_fault */
	VATWORKER_F_SET_BUNDLE,	/* setBundle was refused */
	VATWORKER_F_PROTOCOL,	/* an answer of the wrong shape */
};

struct vat_delivery_result {
	enum sup_delivery_status status;	/* OK or ERROR */
	const char	*message;		/* ERROR: the vat's reason */
	json_t		*info;			/* OK: reply[1] (borrowed) */
	uint64_t	 computrons;
};

struct vatworker_callbacks {
	void	(*ready)(struct vatworker *, void *arg);
	/*
	 * A syscall: the parsed VatSyscallObject (borrowed) and its text as
	 * the worker sent it (raw, rawlen bytes).  Returns the encoded
	 * VatSyscallResult (malloc'd, length in *len), or NULL for out of
	 * memory, or VATWORKER_LATER: the answer is not known yet, and the
	 * owner gives it with vatworker_answer() (the delivery's deadline
	 * waits meanwhile).
	 */
	char	*(*syscall)(struct vatworker *, void *arg, json_t *vso,
		    const char *raw, size_t rawlen, size_t *len);
	/* ["testLog", …] from the vat (borrowed); may be NULL. */
	void	(*test_log)(struct vatworker *, void *arg, json_t *msg);
	void	(*delivered)(struct vatworker *, void *arg,
		    const struct vat_delivery_result *);
	void	(*failed)(struct vatworker *, void *arg,
		    enum vatworker_failure, enum worker_fault, const char *why);
	/* A snapshot's bytes as they come (borrowed), then its end: size
	 * bytes were sent in all.  Failures come through failed(). */
	void	(*snapshot_data)(struct vatworker *, void *arg,
		    const unsigned char *bytes, size_t len);
	void	(*snapshotted)(struct vatworker *, void *arg, uint64_t size);
};

struct vatworker_spec {
	const char	*manager_type;	/* "testworker", … */
	const json_t	*command;	/* argv array of strings (config) */
	const char	*vat_id;	/* "v6" */
	const char	*vat_name;	/* "child", or NULL */
	const json_t	*bundle;	/* the vat's bundle */
	const json_t	*liveslots_options;
	json_t		*boot;		/* xsnap: [["e", text]…], the
					   lockdown and supervisor */
	uint64_t	 compute_limit;	/* per delivery; 0 = none */
	size_t		 max_frame;
	double		 timeout;	/* seconds per command; 0 = none */
	bool		 restore;	/* start from a heap snapshot: */
	int		 restore_fd;	/* its file, checked, at offset 0: the
					   worker's fd 8 (owned from the call
					   on) */
	uint64_t	 restore_pos;	/* the transcript position it stands
					   for (the `-r @8:<vatID>-<pos>`
					   label) */
};

/* Start spawning and booting.  The ready or failed callback follows from
 * the loop.  -1 with errbuf when the worker cannot even be spawned. */
int	vatworker_start(struct ev_loop *loop, const struct vatworker_spec *spec,
	    const struct vatworker_callbacks *cb, void *arg,
	    struct vatworker **out, char *errbuf, size_t errlen);

/* Deliver a VatDeliveryObject (borrowed).  Only in READY. */
int	vatworker_deliver(struct vatworker *vw, const json_t *vdo);
int	vatworker_deliver_text(struct vatworker *vw, const char *vdo,
	    size_t len);

/* The syscall callback's "answer later" (not to be freed). */
extern char vatworker_later[];
#define VATWORKER_LATER	vatworker_later

/* Answer the syscall the callback answered VATWORKER_LATER with len
 * bytes of text (borrowed), and start the delivery's deadline again.
 * -1 when no answer is awaited (or the worker is failing). */
int	vatworker_answer(struct vatworker *vw, const char *text, size_t len);

/* Write a heap snapshot (only in READY, and only for a manager type that
 * has them): snapshot_data and snapshotted, or failed, follow. */
int	vatworker_snapshot(struct vatworker *vw);
bool	vatworker_can_snapshot(const struct vatworker *vw);
/* Stop or resume reading the snapshot being written (the owner's disk is
 * behind); see worker_snapshot_pause(). */
void	vatworker_snapshot_pause(struct vatworker *vw, bool pause);

enum vatworker_state vatworker_state(const struct vatworker *vw);
pid_t	vatworker_pid(const struct vatworker *vw);

/* Stop the worker (gracefully when idle) and free vw. */
void	vatworker_stop(struct vatworker *vw);

/* manager.c: the per-manager-type part of booting.  Fills *argv (malloc'd
 * NULL-terminated array of borrowed/allocated strings, freed with
 * manager_argv_free) and *boot (a JSON array of boot commands, each
 * ["e", text], new reference; empty for a restore).  -1 with errbuf for an
 * unknown type, or a restore the type cannot do. */
int	manager_prepare(const struct vatworker_spec *spec, char ***argv,
	    json_t **boot, char *errbuf, size_t errlen);
void	manager_argv_free(char **argv);
/* Does the manager type have heap snapshots (fd 7, `w@7`, `-r`)? */
bool	manager_snapshots(const char *type);

#endif
