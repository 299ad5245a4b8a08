/*
 * config.h — loading and validating swingsetd's configuration file.
 *
 * The file is JSON.  Its top-level keys are SwingSet's own config.json keys
 * (an existing SwingSet config works as is), plus an optional "daemon"
 * object of ours.  Validation reports every problem with its key path,
 * e.g. "vats.alice.bundleSpec: no such file (/x/alice.json)", and misspelt
 * keys are errors.  Keys SwingSet documents that swingsetd does not act on
 * yet are accepted and listed by config_unsupported() so the daemon can say
 * so in its log.
 *
 * Paths in the file are resolved against the directory holding the file
 * (lexically: "." and ".." are folded, symlinks are not followed); default
 * paths are resolved against the current working directory.  sourceSpec and
 * bundleSpec must name readable regular files; unlike SwingSet, swingsetd
 * does not resolve them as Node module specifiers.
 *
 * Worker commands: daemon.workers maps a manager type to an argv.  The only
 * built-in default is "testworker" -> ["<cwd>/bin/testworker"], merged into
 * daemon.workers at load time.  A vat whose effective manager type is not
 * "xsnap" and has no command is a configuration error; for "xsnap" the
 * check is left to the daemon (config_worker_argv() returns NULL), so that
 * existing xsnap configurations load before an xsnap default exists.
 *
 * Ownership: a struct config and everything it points to belong to it and
 * are released by config_free().
 */
#ifndef CONF_CONFIG_H
#define CONF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * defaultReapInterval, defaultReapGCKrefs (and creationOptions.reapInterval,
 * reapGCKrefs) may be the string "never"; the int64_t fields hold this.
 */
#define CONFIG_NEVER	((int64_t)-1)

/* How a vat or device's code is given: exactly one of these. */
enum config_source {
	CONFIG_SRC_SOURCE_SPEC,	/* "sourceSpec": a JS entry file */
	CONFIG_SRC_BUNDLE_SPEC,	/* "bundleSpec": a bundle JSON file */
	CONFIG_SRC_BUNDLE,	/* "bundle": an inline bundle object */
	CONFIG_SRC_BUNDLE_NAME,	/* "bundleName": an entry of "bundles" */
};

struct config_vat {
	char		*name;
	enum config_source source;
	char		*path;		/* absolute, for *_SPEC; else NULL */
	char		*bundle_name;	/* for BUNDLE_NAME; else NULL */
	json_t		*bundle;	/* inline bundle (BUNDLE); else NULL */
	json_t		*creation_options; /* object, {} when absent */
	json_t		*parameters;	/* object, {} when absent */
};

/* A list of uids or gids (daemon.allowedUids, allowedGids, producerUids). */
struct config_ids {
	uint32_t	*v;		/* each at most CONFIG_ID_MAX; owned */
	size_t		 n;
};
#define CONFIG_ID_MAX	4294967294U	/* (uid_t)-1 is no one's */

struct config_daemon {
	char		*socket_path;	/* default "./var/control.sock" */
	char		*state_dir;	/* default "./var" */
	char		*log_level;	/* default "info" */
	size_t		 map_size;	/* LMDB initial map; default 64 MiB */
	size_t		 max_map_size;	/* 0 = no limit; default 0 */
	size_t		 max_request_line; /* control line limit; 64 MiB */
	size_t		 max_clients;	/* concurrent control clients; 1024 */
	size_t		 reserved_clients; /* slots past max_clients that only
					   producer_uids may take; 2 */
	uint64_t	 bridge_timeout_ms; /* the producer's time to answer the
					   bridge device's callOutbound;
					   then the kernel halts; 30000 */
	uint64_t	 client_idle_timeout_ms; /* close a connection without
					   progress after this; 0 = never;
					   default 60000 */
	size_t		 client_buffer_budget; /* bytes of partial requests and
					   queued replies, all ordinary
					   clients together (producers have
					   as much again); 256 MiB; always
					   > max_request_line */
	struct config_ids allowed_uids;	/* peers let in by uid; default: the
					   euid at load time, and root */
	struct config_ids allowed_gids;	/* …by primary gid; default: the
					   egid at load time */
	struct config_ids producer_uids; /* the producer: let in, reserved
					   slots, own budget; default: the
					   euid at load time, and root */
	size_t		 max_frame;	/* worker netstring limit; 12000000 */
	uint64_t	 delivery_timeout_ms; /* 0 = none; default 30000 */
	unsigned	 max_retries;	/* machine-fault retries; default 3 */
	int64_t		 cpu_affinity;	/* CPU for daemon and workers, or -1 */
	json_t		*workers;	/* object: manager type -> argv array
					   of strings; always has "testworker"
					   (built-in default) */
	char		*xsnap_dir;	/* workers/xsnap as built by make
					   xsnap; NULL = found by the daemon
					   beside its executable */
};

struct config {
	char		*path;		/* absolute path of the file (NULL
					   from config_parse) */
	char		*base_dir;	/* its directory */
	char		*bootstrap;	/* name of the bootstrap vat, or NULL */
	char		*default_manager_type;	/* default "xsnap"; "xs-worker"
					   is stored as "xsnap" */
	bool		 pin_bootstrap_root;
	bool		 relax_durability_rules;
	bool		 include_dev_dependencies;
	int64_t		 default_reap_interval;	/* default 1; or CONFIG_NEVER */
	int64_t		 default_reap_gc_krefs;	/* default 20; or CONFIG_NEVER */
	int64_t		 snapshot_initial;	/* default 3 */
	int64_t		 snapshot_interval;	/* default 200 */
	struct config_vat *vats;	/* sorted by name */
	size_t		 nvats;
	struct config_vat *bundles;	/* "bundles" entries, sorted by name */
	size_t		 nbundles;
	struct config_vat *devices;	/* sorted by name */
	size_t		 ndevices;
	struct config_daemon daemon;
	json_t		*raw;		/* the whole parsed file */
	char		**unsupported;	/* NULL-terminated key paths, see
					   config_unsupported() */
	size_t		 nunsupported;
};

/* One validation problem. */
struct config_error {
	char	*path;		/* key path, e.g. "vats.alice.bundleSpec" */
	char	*message;	/* e.g. "no such file (/abs/alice.json)" */
};

struct config_errors {
	struct config_error *v;
	size_t	 n;
};

/*
 * Load and validate the file at [in] path.  Returns the config, or NULL
 * with every problem found appended to [out] errs.  File-level problems:
 * an unreadable file is {path, strerror(errno)} ("x.json: No such file or
 * directory"), a JSON syntax error (duplicate keys included) is
 * {"<file>:line:col", jansson's text}, a non-object top level and "out of
 * memory" use path "".  The caller frees errs with config_errors_clear()
 * either way; errs must start zeroed or hold earlier errors (appended to).
 */
struct config *config_load(const char *path, struct config_errors *errs);

/*
 * Same, from a JSON text; base_dir (NULL: the current directory) resolves
 * relative paths; syntax errors are reported as "<string>:line:col";
 * cfg->path is NULL.
 */
struct config *config_parse(const char *text, size_t len, const char *base_dir,
	    struct config_errors *errs);

void	config_free(struct config *cfg);
void	config_errors_clear(struct config_errors *errs);

/*
 * Format errs as "path: message\n" lines (just "message" when path is
 * ""), as a malloc'd string; NULL when out of memory.
 */
char	*config_errors_format(const struct config_errors *errs);

/*
 * Keys present in cfg that swingsetd accepts but does not act on yet, as a
 * NULL-terminated array of key paths (e.g. "bundleCachePath",
 * "vats.alice.endowments", "devices"), in the order found.  The array and
 * its strings are owned by cfg.  Never NULL.
 */
const char *const *config_unsupported(const struct config *cfg);

/*
 * The worker argv (a JSON array of strings, borrowed from cfg) for
 * manager_type ("xs-worker" is looked up as "xsnap"), or NULL when
 * daemon.workers has none and there is no built-in default.  The daemon
 * decides what NULL means for "xsnap"; for every other type config_load()
 * has already refused a vat that would need one.
 */
const json_t *config_worker_argv(const struct config *cfg,
	    const char *manager_type);

/*
 * The vat's effective manager type: creationOptions.managerType, else
 * defaultManagerType; "xs-worker" is returned as "xsnap".  Borrowed from
 * cfg.
 */
const char *config_vat_manager_type(const struct config *cfg,
	    const struct config_vat *vat);

/*
 * The configuration as understood, defaults included, as a JSON object
 * (new reference) in the same shape as the input; feeding it back to
 * config_parse() gives the same configuration.
 */
json_t	*config_dump(const struct config *cfg);

#endif
