/*
 * swingsetd.c — main(): read the command line and configuration, take the
 * state directory, open the store, serve the control socket on one libev
 * loop until told to stop, then tear down in reverse order.  Each step is
 * one call into the file that owns it.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "workers/worker.h"
#include "protocol/log.h"

struct cmdline {
	const char	*config;
	const char	*state;
	const char	*socket;
	const char	*log_level;
	bool		 check_only;
};

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: swingsetd --config FILE [--state DIR] [--socket PATH]\n"
	    "                 [--log-level debug|info|warn|error] [-n]\n"
	    "  -n, --check-config  validate FILE, print it as understood "
	    "and exit\n");
	exit(code);
}

static void
parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longopts[] = {
		{ "config",	  required_argument, NULL, 'c' },
		{ "state",	  required_argument, NULL, 's' },
		{ "socket",	  required_argument, NULL, 'S' },
		{ "log-level",	  required_argument, NULL, 'l' },
		{ "check-config", no_argument,	     NULL, 'n' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(cl, 0, sizeof(*cl));
	while ((ch = getopt_long(argc, argv, "c:s:S:l:nh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': cl->config = optarg; break;
		case 's': cl->state = optarg; break;
		case 'S': cl->socket = optarg; break;
		case 'l': cl->log_level = optarg; break;
		case 'n': cl->check_only = true; break;
		case 'h': usage(EXIT_OK);
		default: usage(EXIT_USAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "swingsetd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(EXIT_USAGE);
	}
	if (cl->config == NULL) {
		fprintf(stderr, "swingsetd: --config FILE is required\n");
		usage(EXIT_USAGE);
	}
}

static struct config *
load_config(const struct cmdline *cl)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg = config_load(cl->config, &errs);
	char			*text;

	if (cfg == NULL) {
		text = config_errors_format(&errs);
		fprintf(stderr, "swingsetd: %s: invalid configuration:\n%s",
		    cl->config, text ? text : "(out of memory)\n");
		free(text);
		config_errors_clear(&errs);
		exit(EXIT_CONFIG);
	}
	config_errors_clear(&errs);
	return cfg;
}

static char *
absolute(const char *path)
{
	char	 cwd[PATH_MAX], *out = NULL;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		fatal("main", "getcwd");
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

/* mkdir -p with mode for the last component's missing parents too. */
static int
mkdirs(const char *path, mode_t mode)
{
	char	*p = strdup(path), *s;
	int	 rc = 0;

	if (p == NULL)
		return -1;
	for (s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			rc = -1;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

static void
settle_paths(struct daemon *d, const struct cmdline *cl)
{
	const struct config_daemon *cd = &d->cfg->daemon;
	char *dir, *slash;

	d->state_dir = absolute(cl->state ? cl->state : cd->state_dir);
	d->socket_path = absolute(cl->socket ? cl->socket : cd->socket_path);
	if (d->state_dir == NULL || d->socket_path == NULL)
		fatalx("main", "out of memory");
	if (mkdirs(d->state_dir, 0700) == -1)
		fatal("main", "cannot create state directory %s",
		    d->state_dir);
	if ((dir = strdup(d->socket_path)) == NULL)
		fatalx("main", "out of memory");
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdirs(dir, 0755) == -1)
			fatal("main", "cannot create socket directory %s", dir);
	}
	free(dir);
}

static void
check_only(struct config *cfg)
{
	json_t	*dump = config_dump(cfg);
	char	*text = dump ? json_dumps(dump, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER) : NULL;

	if (text == NULL)
		fatalx("main", "out of memory");
	printf("%s\nconfiguration OK\n", text);
	free(text);
	json_decref(dump);
	config_free(cfg);
	exit(EXIT_OK);
}

static void
take_state_dir(struct daemon *d)
{
	char	 err[PATH_MAX + 128];

	int fd = lockfile_acquire(d->state_dir, err, sizeof(err));

	if (fd < 0) {
		log_error("main", "%s", err);
		exit(fd == LOCKFILE_INUSE ? EXIT_INUSE : EXIT_SYSTEM);
	}
	d->lock_fd = fd;
	switch (control_check(d->socket_path)) {
	case 1:
		log_error("main", "another daemon answers on %s; not starting",
		    d->socket_path);
		exit(EXIT_INUSE);
	case -1:
		log_error("main", "socket path %s is unusable: %s",
		    d->socket_path, errno == EEXIST ?
		    "it exists and is not a socket" : strerror(errno));
		exit(EXIT_SYSTEM);
	}
}

static void
open_store(struct daemon *d)
{
	const struct config_daemon	*cd = &d->cfg->daemon;
	struct store_options		 opt = {
		.map_size = cd->map_size,
		.max_map_size = cd->max_map_size,
	};
	char				 err[PATH_MAX + 256];
	char				 hash[STORE_HASH_HEXLEN + 1];

	if (store_open(d->state_dir, &opt, &d->store, err, sizeof(err)) !=
	    STORE_OK) {
		log_error("main", "cannot open the store: %s", err);
		exit(EXIT_SYSTEM);
	}
	store_committed_activity_hash(d->store, hash);
	log_info("main", "store %s at height %llu, activity hash %s",
	    d->state_dir, (unsigned long long)store_height(d->store), hash);
}

/*
 * Take the hard descriptor limit, and keep half of it for workers and the
 * store: control clients past that wait in the listen backlog.
 */
static size_t
fit_clients(size_t want)
{
	struct rlimit	rl;
	size_t		cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	cap = rl.rlim_cur == RLIM_INFINITY ? want : (size_t)rl.rlim_cur / 2;
	if (want > cap) {
		log_warnx("main", "maxClients %zu lowered to %zu: the "
		    "descriptor limit is %llu", want, cap,
		    (unsigned long long)rl.rlim_cur);
		return cap > 0 ? cap : 1;
	}
	return want;
}

/*
 * The crank loop is serial: the daemon and one worker take turns, and on
 * some machines (virtual ones especially) every turn that crosses CPUs
 * costs a wake-up on the other CPU.  With daemon.cpuAffinity the daemon
 * and its workers (who inherit the mask) share one CPU instead.
 */
static void
set_affinity(const struct config *cfg)
{
	cpu_set_t set;

	if (cfg->daemon.cpu_affinity < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET((int)cfg->daemon.cpu_affinity, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1)
		log_warn("main", "cpuAffinity %lld not applied",
		    (long long)cfg->daemon.cpu_affinity);
	else
		log_info("main", "daemon and workers pinned to CPU %lld",
		    (long long)cfg->daemon.cpu_affinity);
}

/*
 * A worker command given as a bare name ("testworker") is looked up
 * beside the swingsetd executable, then on PATH, once at start; the
 * resolved path replaces the name (spawning never searches).
 */
static char *
find_program(const char *name)
{
	char	 self[PATH_MAX], *p, *path, *dir, *save = NULL, *out = NULL;
	ssize_t	 n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if ((p = strrchr(self, '/')) != NULL &&
		    asprintf(&out, "%.*s/%s", (int)(p - self), self, name) >= 0
		    && access(out, X_OK) == 0)
			return out;
		free(out);
		out = NULL;
	}
	if ((path = strdup(getenv("PATH") ? getenv("PATH") :
	    "/usr/bin:/bin")) == NULL)
		return NULL;
	for (dir = strtok_r(path, ":", &save); dir != NULL && out == NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&out, "%s/%s", dir, name) >= 0 &&
		    access(out, X_OK) != 0) {
			free(out);
			out = NULL;
		}
	}
	free(path);
	return out;
}

static void
resolve_worker_commands(struct config *cfg)
{
	const char	*type;
	json_t		*argv;
	char		*prog;

	json_object_foreach(cfg->daemon.workers, type, argv) {
		const char *name = json_string_value(json_array_get(argv, 0));

		if (name == NULL || strchr(name, '/') != NULL)
			continue;
		if ((prog = find_program(name)) == NULL) {
			log_warnx("main", "worker '%s' for manager type %s is "
			    "neither beside swingsetd nor on PATH", name, type);
			continue;
		}
		json_array_set_new(argv, 0, json_string(prog));
		log_debug("main", "worker for %s: %s", type, prog);
		free(prog);
	}
}

static void
load_xsnap(struct config *cfg)
{
	char err[1024];

	if (xsnap_env_load(cfg, err, sizeof(err)) == -1) {
		log_error("main", "cannot run JavaScript vats: %s", err);
		exit(EXIT_CONFIG);
	}
}

/* What the kernel borrows of the process (the loop comes later). */
static void
fill_kernel_params(struct daemon *d)
{
	d->kparams = (struct kernel_params) {
		.st = d->store,
		.cfg = d->cfg,
		.state_dir = d->state_dir,
		.xsnap_boot = xsnap_env_boot(),
		.xsnap_bundle_ids = xsnap_env_bundle_ids(),
		.bundle_source = xsnap_bundle_source,
	};
}

static void
open_kernel(struct daemon *d)
{
	char err[1024];

	d->kparams.loop = d->loop;
	if ((d->kernel = kernel_open(&d->kparams, err, sizeof(err))) == NULL) {
		log_error("main", "cannot start the kernel: %s", err);
		exit(EXIT_SYSTEM);
	}
	ops_bridge_init(d);
}

/* Let stopped workers exit (each gets 'q', then a kill after its grace
 * time): a bounded wait on the loop. */
static void
reap_workers(struct daemon *d)
{
	ev_tstamp until = ev_now(d->loop) + 5.0;

	while (worker_zombies() > 0 && ev_now(d->loop) < until) {
		ev_run(d->loop, EVRUN_ONCE);
		ev_now_update(d->loop);
	}
	if (worker_zombies() > 0)
		log_warnx("main", "%zu workers did not exit", worker_zombies());
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP) {
		log_info("main", "SIGHUP: configuration is read at start only; "
		    "restart to apply changes");
		return;
	}
	daemon_stop(d, w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
stop_guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	log_warnx("main", "clients did not take their last replies in time");
	ev_break(loop, EVBREAK_ALL);
}

/*
 * Begin an orderly stop: no new clients, no new work; the loop ends once
 * every pending reply is written (control.c's prepare hook sees to it), or
 * after a short guard time.  Nothing is in flight between ops, so the open
 * block (if any) is simply not committed: the producer replays it.
 */
void
daemon_stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("main", "stopping: %s", why);
	notify_systemd("STOPPING=1");
	control_shutdown(d->control);
	ev_timer_init(&d->stop_guard, stop_guard_cb, 2.0, 0.);
	d->stop_guard.data = d;
	ev_timer_start(d->loop, &d->stop_guard);
}

static void
watch_signals(struct daemon *d)
{
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&d->sig_term, signal_cb, SIGTERM);
	ev_signal_init(&d->sig_int, signal_cb, SIGINT);
	ev_signal_init(&d->sig_hup, signal_cb, SIGHUP);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	ev_signal_start(d->loop, &d->sig_hup);
}

static void
log_unsupported(const struct config *cfg)
{
	const char *const *k;

	for (k = config_unsupported(cfg); k != NULL && *k != NULL; k++)
		log_warnx("config", "'%s' is accepted but not supported by "
		    "swingsetd yet; it has no effect", *k);
}

static void
teardown(struct daemon *d)
{
	if (ev_is_active(&d->stop_guard))
		ev_timer_stop(d->loop, &d->stop_guard);
	control_free(d->control);
	kernel_close(d->kernel);
	reap_workers(d);
	store_close(d->store);
	lockfile_release(d->lock_fd);
	config_free(d->cfg);
	xsnap_env_free();
	free(d->state_dir);
	free(d->socket_path);
	ev_loop_destroy(d->loop);
	log_info("main", "terminated");
}

int
main(int argc, char **argv)
{
	struct daemon	 d = { .lock_fd = -1 };
	struct cmdline	 cl;
	enum log_level	 lvl;
	const char	*lvlname;

	parse_cmdline(argc, argv, &cl);
	d.cfg = load_config(&cl);
	if (cl.check_only)
		check_only(d.cfg);
	lvlname = cl.log_level ? cl.log_level : d.cfg->daemon.log_level;
	if (log_level_parse(lvlname, &lvl) == -1) {
		fprintf(stderr, "swingsetd: --log-level: '%s' is not one of "
		    "debug, info, warn, error\n", lvlname);
		exit(EXIT_USAGE);
	}
	log_init(lvl, "swingsetd");
	log_unsupported(d.cfg);
	set_affinity(d.cfg);
	resolve_worker_commands(d.cfg);
	load_xsnap(d.cfg);
	settle_paths(&d, &cl);
	take_state_dir(&d);
	open_store(&d);
	fill_kernel_params(&d);
	if (kernel_boot(&d.kparams) == -1)
		exit(EXIT_CONFIG);
	if ((d.loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("main", "cannot initialise libev");
	open_kernel(&d);
	watch_signals(&d);
	d.control = control_init(&d, d.socket_path,
	    d.cfg->daemon.max_request_line,
	    fit_clients(d.cfg->daemon.max_clients));
	if (d.control == NULL)
		exit(EXIT_SYSTEM);
	d.started = time(NULL);
	log_info("main", "serving on %s", d.socket_path);
	notify_systemd("READY=1");
	/* from here on no log line waits on stderr (protocol/log.c) */
	if (log_async_start() == -1)
		log_warn("main", "log lines are written synchronously: no "
		    "writer thread");
	ev_run(d.loop, 0);
	teardown(&d);
	log_async_stop(LOG_EXIT_WAIT);
	return EXIT_OK;
}
