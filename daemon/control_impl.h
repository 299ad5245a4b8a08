/*
 * control_impl.h — private to control.c and client.c: the control
 * socket's structs (struct control, one struct ctl_conn per client) and
 * what control.c calls of client.c.  The door to both is daemon.h.
 */
#ifndef DAEMON_CONTROL_IMPL_H
#define DAEMON_CONTROL_IMPL_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "daemon/daemon.h"

#define CTL_READ_CHUNK	(64 * 1024)
#define CTL_OUT_HIGH	(4 * 1024 * 1024)  /* stop reading above this */
#define CTL_OUT_LOW	(1 * 1024 * 1024)  /* resume below this */
#define CTL_GROW_FULL	1	/* conn_grow_in: the budget allows no more */

/* Buffer budgets: ordinary clients share one, producers another. */
enum { CTL_POOL_ORDINARY, CTL_POOL_PRODUCER, CTL_NPOOLS };

struct ctl_peer {		/* from SO_PEERCRED at accept */
	long		 pid;
	unsigned long	 uid, gid;
};

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn) entry;
	struct control	*ctl;
	int		 fd;
	unsigned long	 serial;	/* for log lines */
	struct ctl_peer	 peer;
	bool		 producer;	/* peer uid in producerUids */
	ev_io		 rio, wio;
	ev_timer	 idle;		/* fires idle_timeout after progress */
	ev_tstamp	 active;	/* last progress: a complete line, a
					   reply queued, reply bytes sent */
	char		*in;		/* unprocessed input */
	size_t		 inlen, incap;
	size_t		 scanned;	/* in[0..scanned) holds no '\n' */
	char		*out;		/* queued output */
	size_t		 outlen, outoff, outcap;
	bool		 pending;	/* a request awaits its reply */
	bool		 close_after;	/* close once output is flushed */
	bool		 eof;		/* peer finished sending */
	bool		 dead;		/* reap in the prepare hook */
	bool		 processing;	/* inside conn_process() */
	bool		 bridge;	/* the daemon's bridge peer */
};

struct control {
	struct daemon	*d;
	const struct config_daemon *cd;	/* the peer lists; outlives us */
	int		 fd;
	char		*path;
	ev_io		 lio;
	ev_timer	 retry;		/* re-arm accept after EMFILE */
	bool		 starved;	/* out of descriptors: not accepting */
	ev_prepare	 reaper;
	size_t		 max_line, max_clients, nclients;
	size_t		 reserved;	/* slots past max_clients, producers
					   only */
	size_t		 budget;	/* bytes, per pool */
	size_t		 used[CTL_NPOOLS]; /* buffer bytes allocated */
	ev_tstamp	 idle_timeout;	/* seconds; 0: never */
	unsigned long	 next_serial;
	TAILQ_HEAD(, ctl_conn) conns;
};

/* client.c — a connection's life */
struct ctl_conn *conn_new(struct control *c, int fd,
	    const struct ctl_peer *peer, bool producer);
void	 conn_kill(struct ctl_conn *conn);
void	 conn_free(struct ctl_conn *conn);

#endif
