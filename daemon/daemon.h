/*
 * daemon.h — the process's table of contents: the daemon struct its parts
 * share, and the entry points of each file directly in daemon/, grouped
 * by file.  The rooms below have their own doors: daemon/kernel/kernel.h
 * (the kernel), daemon/store/store.h, daemon/bundles/bundles.h; the
 * kernel alone uses daemon/vats/ and daemon/devices/.
 */
#ifndef DAEMON_DAEMON_H
#define DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <ev.h>

#include "conf/config.h"
#include "daemon/kernel/kernel.h"
#include "daemon/store/store.h"
#include "protocol/control_msg.h"

struct control;
struct ctl_conn;

struct daemon {
	struct ev_loop	*loop;
	struct config	*cfg;
	struct store	*store;
	struct control	*control;
	struct kernel	*kernel;
	struct kernel_params kparams;	/* what the kernel borrows */
	char		*socket_path;	/* absolute */
	char		*state_dir;	/* absolute */
	int		 lock_fd;	/* flock'd state_dir/LOCK */
	bool		 stopping;	/* shutdown requested */
	time_t		 started;	/* wall clock, for status only */
	ev_signal	 sig_term, sig_int, sig_hup;
	ev_timer	 stop_guard;	/* bounds the wait for a last reply */
	struct ctl_conn	*bridge_peer;	/* answers callOutbound, or NULL
					   (ops_bridge.c; cleared when it
					   closes) */
};

/* swingsetd.c */
void	 daemon_stop(struct daemon *d, const char *why);

/* control.c, client.c — the control socket, end to end */
int	 control_check(const char *path);
struct control *control_init(struct daemon *d, const char *path,
	    size_t max_line, size_t max_clients);
void	 control_shutdown(struct control *c);
void	 control_free(struct control *c);
void	 control_reply(struct ctl_conn *conn, char *line, size_t len);
void	 control_close_after_reply(struct ctl_conn *conn);
/* Whether the peer's uid is in daemon.producerUids: only the producer
 * may send ops that change state or stop the daemon. */
bool	 control_conn_is_producer(const struct ctl_conn *conn);
/* Queue [in] line (len bytes, ending in '\n'; borrowed) on the
 * connection outside any reply: the bridge's requests.  -1 when the
 * connection is closing or memory ran out. */
int	 control_push(struct ctl_conn *conn, const char *line, size_t len);
/* Mark the connection as the bridge's peer: it is never idle, and the
 * daemon forgets it (d->bridge_peer) when it closes. */
void	 control_conn_set_bridge(struct ctl_conn *conn, bool bridge);
size_t	 control_client_count(const struct control *c);
bool	 control_idle(const struct control *c);

/* ops.c — one handler per control op */
void	 ops_dispatch(struct daemon *d, struct ctl_conn *conn,
	    const char *line, size_t len);
void	 ops_reply_ok(struct ctl_conn *conn, json_t *id, json_t *result);
void	 ops_reply_error(struct ctl_conn *conn, json_t *id, enum ctl_code code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Reply halted and return true when the kernel is halted. */
bool	 ops_refuse_halted(struct daemon *d, struct ctl_conn *conn,
	    struct ctl_request *req, const char *what);

/* ops_bridge.c — the bridge device's ops and its producer connection */
void	 ops_bridge_init(struct daemon *d);
void	 ops_bridge_inbound(struct daemon *d, struct ctl_conn *conn,
	    struct ctl_request *req);
void	 ops_bridge_register(struct daemon *d, struct ctl_conn *conn,
	    struct ctl_request *req);
void	 ops_bridge_answer(struct daemon *d, struct ctl_conn *conn,
	    struct ctl_request *req);

/* xsnap_env.c — the real xsnap worker's files, found once at start */
int	 xsnap_env_load(struct config *cfg, char *err, size_t errlen);
json_t	*xsnap_env_boot(void);	/* NULL when no vat runs on xsnap */
const json_t *xsnap_env_bundle_ids(void);
json_t	*xsnap_bundle_source(const char *entry, char *err, size_t errlen);
void	 xsnap_env_free(void);

/* notify.c — systemd readiness notification */
int	 notify_systemd(const char *state);

/* lockfile.c — one daemon per state directory */
#define LOCKFILE_ERROR	(-1)	/* could not take the lock file */
#define LOCKFILE_INUSE	(-2)	/* another process holds it */
int	 lockfile_acquire(const char *dir, char *errbuf, size_t errlen);
void	 lockfile_release(int fd);

#endif
