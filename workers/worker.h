/*
 * worker.h — the kernel side of one worker process, at the xsnap layer:
 * spawning it with the command pipe on fd 3 and the reply pipe on fd 4,
 * sending one command at a time, handing each upcall ('?') to the owner
 * and writing its answer ('/'), delivering the final reply ('.' with its
 * meter report, or '!'), logging the worker's stdout and stderr line by
 * line under its label, and classifying its exit.
 *
 * Everything is non-blocking on one libev loop (the default loop: child
 * watchers live only there).  A worker never calls back into its owner
 * from inside a worker_* call: callbacks come from the loop only, so the
 * owner may call any worker_* function, including worker_free(), from a
 * callback.
 *
 * Heap snapshots (worker-protocol.md §7): a worker spawned with
 * snap_out has fd 7, and worker_snapshot() sends `w@7` while draining it,
 * handing the bytes to the owner; one spawned with restore_fd gets that
 * file as its fd 8, and reads it itself.
 *
 * Which protocol runs *inside* the commands (the supervisor's tagged
 * arrays) is supervisor.h's business, not this file's.
 */
#ifndef WORKERS_WORKER_H
#define WORKERS_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

struct worker;

/* Why a worker stopped being usable.  The split that matters to the
 * kernel: a vat fault is deterministic (the same delivery would fail the
 * same way anywhere: terminate the vat); a machine fault is this host's
 * problem (abort the crank, rebuild the worker, retry). */
enum worker_fault {
	WORKER_FAULT_NONE = 0,
	WORKER_FAULT_EXIT_CLEAN,	/* exited 0 (after 'q' or on its own) */
	WORKER_FAULT_VAT_COMPUTE,	/* exit 17: too much computation */
	WORKER_FAULT_VAT_MEMORY,	/* exit 11: not enough memory */
	WORKER_FAULT_VAT_STACK,		/* exit 12: stack overflow */
	WORKER_FAULT_EXIT,		/* any other exit code */
	WORKER_FAULT_SIGNAL,		/* killed by a signal */
	WORKER_FAULT_PROTOCOL,		/* bad frame, unexpected reply */
	WORKER_FAULT_TIMEOUT,		/* a command outlived its deadline */
	WORKER_FAULT_IO,		/* a pipe failed */
	WORKER_FAULT_VAT_FRAME,		/* a frame over max_frame: what the
					   vat's code sends is its own */
	WORKER_FAULT_EXEC,		/* the program could not be executed */
};

/* True for the faults that are the vat's own, deterministic doing. */
bool	worker_fault_is_vat(enum worker_fault f);
const char *worker_fault_name(enum worker_fault f);

/* The final reply to a command. */
struct worker_reply {
	bool		 ok;		/* '.' (true) or '!' (false) */
	const char	*meter;		/* meter JSON text, or NULL (bare '.') */
	size_t		 meterlen;
	const unsigned char *result;	/* bytes after 0x01, or '!' text */
	size_t		 resultlen;
};

struct worker_callbacks {
	/* An upcall ('?' + bytes) arrived during a command.  The owner must
	 * answer it with worker_answer(), now or later. */
	void	(*upcall)(struct worker *, void *arg, const unsigned char *msg,
		    size_t len);
	/* The command in flight finished.  Borrowed memory: valid during
	 * the callback only. */
	void	(*reply)(struct worker *, void *arg,
		    const struct worker_reply *);
	/* The worker is gone or unusable; no further callbacks follow except
	 * none.  why is a human-readable description (borrowed). */
	void	(*fault)(struct worker *, void *arg, enum worker_fault,
		    const char *why);
	/* Bytes of the snapshot being written (worker_snapshot()), in
	 * order, borrowed for the call.  May be NULL for owners that never
	 * ask for a snapshot. */
	void	(*snapshot_data)(struct worker *, void *arg,
		    const unsigned char *bytes, size_t len);
};

struct worker_spec {
	const char *const *argv;	/* program and arguments; argv[0] is
					   the program's path */
	const char	*label;		/* for logs, e.g. "v6:child" */
	size_t		 max_frame;	/* largest reply frame accepted */
	double		 timeout;	/* seconds per command; 0 = none */
	bool		 snap_out;	/* give it fd 7 for `w@7` */
	bool		 restore;	/* give it restore_fd as its fd 8 */
	int		 restore_fd;	/* a readable file at the offset to
					   read from, owned from the call on
					   (closed even on failure) */
};

/*
 * Spawn a worker.  Returns 0 and sets *out once the child is forked, or -1
 * with a message in errbuf (pipes, fork, memory).  Whether its program
 * could be executed is learnt later, on the loop, without waiting for it:
 * a failed exec is the fault callback with WORKER_FAULT_EXEC and "cannot
 * execute /x/testworker: No such file or directory".  The child gets
 * fd 0 = /dev/null, 1 and 2 = pipes logged by the daemon, 3 and 4 = the
 * protocol pipes, no other descriptor, an environment of PATH (and
 * sanitizer settings when the daemon has them), its own session, and
 * default signal dispositions.
 */
int	worker_spawn(struct ev_loop *loop, const struct worker_spec *spec,
	    const struct worker_callbacks *cb, void *arg, struct worker **out,
	    char *errbuf, size_t errlen);

/*
 * Send one command: the tag byte followed by parts.  Only one command may
 * be in flight; -1 with errno EBUSY otherwise, EPIPE if the worker is gone.
 */
int	worker_command(struct worker *w, char tag, const void *payload,
	    size_t len);

/*
 * Write a heap snapshot: send `w@7` and read fd 7 meanwhile, handing each
 * chunk to the snapshot_data callback.  The final reply (its result is
 * the byte count, in decimal) comes through the reply callback only once
 * exactly that many bytes were read; a different count, or bytes on fd 7
 * outside a snapshot, is a protocol fault.  -1 with errno ENOTSUP (no
 * fd 7), EBUSY or EPIPE as for worker_command().
 */
int	worker_snapshot(struct worker *w);

/* Stop (pause true) or resume reading fd 7 during `w@7`: the owner is
 * behind with the bytes.  The worker then waits on its full pipe (its
 * command deadline runs on). */
void	worker_snapshot_pause(struct worker *w, bool pause);

/* Answer the pending upcall with '/' + [in] len bytes. -1/EPROTO when no
 * upcall is pending. */
int	worker_answer(struct worker *w, const void *payload, size_t len);

/* Stop (pause true) the command deadline while the owner waits on
 * someone else for an upcall's answer, or start it again (pause false)
 * with the time that was left. */
void	worker_deadline_pause(struct worker *w, bool pause);

/*
 * Ask the worker to leave ('q', then close its command pipe), and make
 * sure it does: it is killed if it has not exited after grace seconds.
 * The worker object is released by the module once the process is reaped;
 * the owner must not use w after this call, and gets no more callbacks.
 */
void	worker_stop(struct worker *w, double grace);

/* Kill the worker now (SIGKILL); otherwise like worker_stop(). */
void	worker_kill(struct worker *w);

pid_t	worker_pid(const struct worker *w);
bool	worker_busy(const struct worker *w);	/* a command in flight */

/* Workers stopped but not yet reaped (shutdown waits for 0). */
size_t	worker_zombies(void);

#endif
