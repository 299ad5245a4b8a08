/*
 * snapio.c — the snapshot store's I/O thread: a queue of jobs it runs one
 * at a time, in the order they were submitted, and a queue of finished
 * jobs handed back to the owner's thread (the event loop), which runs
 * their completions when woken.  Blocking file work (writes, fsync,
 * rename, reading and hashing a whole snapshot, unlinking big files)
 * happens here, so the loop never waits on the disk.  What the jobs do
 * is snapshots.c's; this file knows only queues and the thread.
 *
 * Ownership rules — the only memory the two threads share is struct
 * snapio's two queues, under its mutex:
 *   - A job belongs to its submitter until snapio_submit(), to the I/O
 *     thread from then until its work() returns, and to the owner's
 *     thread again from the moment it is on the finished queue: done()
 *     runs there, from snapio_complete(), and may free it.  The I/O thread
 *     never touches a job after queueing it as finished.
 *   - work() may touch only what its job owns, plus state the submitter
 *     has handed over for good (a writer's descriptor and digest belong
 *     to the thread from the writer's first job to its last); the
 *     mutex's lock/unlock around each handover orders the memory.
 *   - The thread never logs and never calls back into the owner: results
 *     travel in the job, and the owner is told only through wake(), which
 *     must be safe to call from any thread (ev_async_send()).
 * All signals are blocked on the I/O thread, so they are delivered to the
 * loop's thread, where libev expects them; and it runs at a lower CPU
 * priority than the loop (SNAPIO_NICE).
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/store/store_impl.h"

#define SNAPIO_NICE	10	/* the thread's nice value, above the loop's */

struct snapio {
	pthread_t	 thread;
	pthread_mutex_t	 mu;		/* guards the queues, busy and quit */
	pthread_cond_t	 cv;		/* signalled when todo grows or quit */
	pthread_cond_t	 idle;		/* signalled when todo empties */
	bool		 busy;		/* a job's work() is running */
	TAILQ_HEAD(, snapio_job) todo;	/* submitted, not yet run */
	TAILQ_HEAD(, snapio_job) done;	/* run, completion not yet called */
	bool		 quit;		/* stop once todo is empty */
	void		(*wake)(void *);
	void		*wake_arg;
};

static void *
snapio_main(void *arg)
{
	struct snapio		*io = arg;
	struct snapio_job	*job;

	/*
	 * Hashing and copying are work the CPU can spare the loop: on a
	 * small machine, where the worker streaming its snapshot and this
	 * thread hashing it keep every core busy, the loop must still get
	 * one as soon as a request comes.  Lower only this thread (Linux
	 * gives each thread its own nice value); failing is harmless.
	 */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), SNAPIO_NICE) == -1) {
		/* nothing to do: the thread runs at the loop's priority */
	}
	pthread_mutex_lock(&io->mu);
	for (;;) {
		while (TAILQ_EMPTY(&io->todo) && !io->quit)
			pthread_cond_wait(&io->cv, &io->mu);
		if ((job = TAILQ_FIRST(&io->todo)) == NULL)
			break;		/* quit, and nothing left to do */
		TAILQ_REMOVE(&io->todo, job, entry);
		io->busy = true;
		pthread_mutex_unlock(&io->mu);
		job->work(job);
		pthread_mutex_lock(&io->mu);
		io->busy = false;
		TAILQ_INSERT_TAIL(&io->done, job, entry);
		if (TAILQ_EMPTY(&io->todo))
			pthread_cond_broadcast(&io->idle);
		/* job is the owner's now: not touched again here */
		if (io->wake != NULL)
			io->wake(io->wake_arg);
	}
	pthread_mutex_unlock(&io->mu);
	return NULL;
}

int
snapio_start(struct snapio **out, void (*wake)(void *), void *wake_arg)
{
	struct snapio	*io = calloc(1, sizeof(*io));
	sigset_t	 all, old;
	int		 rc;

	*out = NULL;
	if (io == NULL)
		return -1;
	TAILQ_INIT(&io->todo);
	TAILQ_INIT(&io->done);
	io->wake = wake;
	io->wake_arg = wake_arg;
	if ((rc = pthread_mutex_init(&io->mu, NULL)) != 0) {
		free(io);
		errno = rc;
		return -1;
	}
	if ((rc = pthread_cond_init(&io->cv, NULL)) != 0)
		goto fail_mutex;
	if ((rc = pthread_cond_init(&io->idle, NULL)) != 0) {
		pthread_cond_destroy(&io->cv);
		goto fail_mutex;
	}
	/* the new thread inherits the mask: every signal blocked */
	sigfillset(&all);
	if ((rc = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0)
		goto fail_cond;
	rc = pthread_create(&io->thread, NULL, snapio_main, io);
	if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0 && rc == 0)
		abort();	/* can't happen: the mask we had is valid */
	if (rc != 0)
		goto fail_cond;
	*out = io;
	return 0;
fail_cond:
	pthread_cond_destroy(&io->idle);
	pthread_cond_destroy(&io->cv);
fail_mutex:
	pthread_mutex_destroy(&io->mu);
	free(io);
	errno = rc;
	return -1;
}

void
snapio_submit(struct snapio *io, struct snapio_job *job)
{
	pthread_mutex_lock(&io->mu);
	TAILQ_INSERT_TAIL(&io->todo, job, entry);
	pthread_cond_signal(&io->cv);
	pthread_mutex_unlock(&io->mu);
}

void
snapio_complete(struct snapio *io)
{
	TAILQ_HEAD(, snapio_job) ready = TAILQ_HEAD_INITIALIZER(ready);
	struct snapio_job *job;

	pthread_mutex_lock(&io->mu);
	TAILQ_CONCAT(&ready, &io->done, entry);
	pthread_mutex_unlock(&io->mu);
	/* done() may submit more, or free its job: take each one off first */
	while ((job = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, job, entry);
		job->done(job);
	}
}

void
snapio_drain(struct snapio *io)
{
	pthread_mutex_lock(&io->mu);
	while (!TAILQ_EMPTY(&io->todo) || io->busy)
		pthread_cond_wait(&io->idle, &io->mu);
	pthread_mutex_unlock(&io->mu);
	snapio_complete(io);
}

void
snapio_stop(struct snapio *io)
{
	if (io == NULL)
		return;
	pthread_mutex_lock(&io->mu);
	io->quit = true;
	pthread_cond_signal(&io->cv);
	pthread_mutex_unlock(&io->mu);
	if (pthread_join(io->thread, NULL) != 0)
		abort();	/* can't happen: a joinable thread of ours */
	snapio_complete(io);	/* what the last jobs owe */
	pthread_cond_destroy(&io->idle);
	pthread_cond_destroy(&io->cv);
	pthread_mutex_destroy(&io->mu);
	free(io);
}
