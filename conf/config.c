/*
 * config.c — swingsetd's configuration file: reading it, checking every key
 * against the tables below, filling struct config and printing it back
 * (config_dump).  It owns the key names, their types and their defaults.
 * It does not log, create directories or start workers: it reports
 * problems as "key.path: message" records and the daemon acts on them.
 */
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"

#define CONF_MAX_FILE	(64 * 1024 * 1024)	/* larger files are refused */
#define CONF_MIN_MAP	1048576			/* smallest daemon.mapSize */

enum conf_type {
	CT_BOOL,	/* bool field */
	CT_COUNT,	/* int64_t field in [min, max] */
	CT_NEVER,	/* same, or "never" stored as CONFIG_NEVER */
	CT_SIZE,	/* size_t field in [min, max] */
	CT_U64,		/* uint64_t field in [min, max] */
	CT_UINT,	/* unsigned field in [min, max] */
	CT_STRING,	/* char * field */
	CT_PATH,	/* char * field, made absolute */
	CT_LEVEL,	/* char * field, a log level */
	CT_MANAGER,	/* char * field, a manager type */
	CT_RAW,		/* a string kept only in cfg->raw */
	CT_GROUP,	/* vats, bundles, devices, daemon, workers */
	CT_SOURCE,	/* entry: one way of giving code; off = config_source */
	CT_OBJECT,	/* entry: parameters, creationOptions, endowments */
	CT_STRARRAY,	/* creationOptions.nodeOptions */
};

/* Flags of a key: where an entry key is allowed, and support. */
#define CK_VATS		0x01
#define CK_BUNDLES	0x02
#define CK_DEVICES	0x04
#define CK_ALL		(CK_VATS | CK_BUNDLES | CK_DEVICES)
#define CK_UNSUPPORTED	0x10	/* accepted; listed by config_unsupported */

/* One row per key: name, type, field, bounds, default, flags. */
struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;		/* field offset in the struct filled */
	long long	 min, max;	/* numeric bounds */
	long long	 def;		/* numeric default */
	const char	*sdef;		/* string default (paths: from cwd) */
	unsigned	 flags;
};

#define TOP(f)	offsetof(struct config, f)
#define DMN(f)	offsetof(struct config_daemon, f)

static const struct conf_key conf_top_keys[] = {
	{ "bootstrap", CT_STRING, TOP(bootstrap), 0, 0, 0, NULL, 0 },
	{ "defaultManagerType", CT_MANAGER, TOP(default_manager_type),
	    0, 0, 0, "xsnap", 0 },
	{ "defaultReapInterval", CT_NEVER, TOP(default_reap_interval),
	    1, LLONG_MAX, 1, NULL, 0 },
	{ "defaultReapGCKrefs", CT_NEVER, TOP(default_reap_gc_krefs),
	    1, LLONG_MAX, 20, NULL, 0 },
	{ "snapshotInitial", CT_COUNT, TOP(snapshot_initial),
	    1, LLONG_MAX, 3, NULL, 0 },
	{ "snapshotInterval", CT_COUNT, TOP(snapshot_interval),
	    1, LLONG_MAX, 200, NULL, 0 },
	{ "pinBootstrapRoot", CT_BOOL, TOP(pin_bootstrap_root),
	    0, 0, 0, NULL, 0 },
	{ "relaxDurabilityRules", CT_BOOL, TOP(relax_durability_rules),
	    0, 0, 0, NULL, 0 },
	{ "includeDevDependencies", CT_BOOL, TOP(include_dev_dependencies),
	    0, 0, 0, NULL, CK_UNSUPPORTED },
	{ "bundleCachePath", CT_RAW, 0, 0, 0, 0, NULL, CK_UNSUPPORTED },
	{ "bundleFormat", CT_RAW, 0, 0, 0, 0, NULL, CK_UNSUPPORTED },
	{ "vats", CT_GROUP, 0, 0, 0, 0, NULL, 0 },
	{ "bundles", CT_GROUP, 0, 0, 0, 0, NULL, 0 },
	{ "devices", CT_GROUP, 0, 0, 0, 0, NULL, 0 },
	{ "daemon", CT_GROUP, 0, 0, 0, 0, NULL, 0 },
};

static const struct conf_key conf_daemon_keys[] = {
	{ "socket", CT_PATH, DMN(socket_path), 0, 0, 0,
	    "./var/control.sock", 0 },
	{ "stateDir", CT_PATH, DMN(state_dir), 0, 0, 0, "./var", 0 },
	{ "logLevel", CT_LEVEL, DMN(log_level), 0, 0, 0, "info", 0 },
	{ "mapSize", CT_SIZE, DMN(map_size), CONF_MIN_MAP, LLONG_MAX,
	    64LL * 1024 * 1024, NULL, 0 },
	{ "maxMapSize", CT_SIZE, DMN(max_map_size), 0, LLONG_MAX, 0, NULL, 0 },
	{ "maxRequestLine", CT_SIZE, DMN(max_request_line), 1, LLONG_MAX,
	    64LL * 1024 * 1024, NULL, 0 },
	{ "maxClients", CT_SIZE, DMN(max_clients), 1, LLONG_MAX, 1024,
	    NULL, 0 },
	{ "maxFrame", CT_SIZE, DMN(max_frame), 1, LLONG_MAX, 12000000,
	    NULL, 0 },
	{ "deliveryTimeoutMs", CT_U64, DMN(delivery_timeout_ms), 0, LLONG_MAX,
	    30000, NULL, 0 },
	{ "maxRetries", CT_UINT, DMN(max_retries), 0, UINT_MAX, 3, NULL, 0 },
	{ "workers", CT_GROUP, 0, 0, 0, 0, NULL, 0 },
};

/*
 * Keys of a vats/bundles/devices entry; flags say which groups allow it.
 * The CT_SOURCE rows come first, in enum config_source order (config_dump
 * names a source by indexing this table).
 */
static const struct conf_key conf_entry_keys[] = {
	{ "sourceSpec", CT_SOURCE, CONFIG_SRC_SOURCE_SPEC, 0, 0, 0, NULL,
	    CK_ALL },
	{ "bundleSpec", CT_SOURCE, CONFIG_SRC_BUNDLE_SPEC, 0, 0, 0, NULL,
	    CK_ALL },
	{ "bundle", CT_SOURCE, CONFIG_SRC_BUNDLE, 0, 0, 0, NULL, CK_ALL },
	{ "bundleName", CT_SOURCE, CONFIG_SRC_BUNDLE_NAME, 0, 0, 0, NULL,
	    CK_VATS | CK_DEVICES },
	{ "parameters", CT_OBJECT, 0, 0, 0, 0, NULL, CK_VATS | CK_DEVICES },
	{ "creationOptions", CT_OBJECT, 0, 0, 0, 0, NULL,
	    CK_VATS | CK_DEVICES },
	{ "endowments", CT_OBJECT, 0, 0, 0, 0, NULL,
	    CK_VATS | CK_DEVICES | CK_UNSUPPORTED },
	{ "bundleHash", CT_RAW, 0, 0, 0, 0, NULL,
	    CK_VATS | CK_DEVICES | CK_UNSUPPORTED },
};

/* SwingSet's static creationOptions (initializeKernel.js), and devices'. */
static const struct conf_key conf_copt_keys[] = {
	{ "enablePipelining", CT_BOOL, 0, 0, 0, 0, NULL, CK_VATS },
	{ "managerType", CT_MANAGER, 0, 0, 0, 0, NULL, CK_VATS },
	{ "enableDisavow", CT_BOOL, 0, 0, 0, 0, NULL, CK_VATS },
	{ "enableSetup", CT_BOOL, 0, 0, 0, 0, NULL, CK_VATS },
	{ "useTranscript", CT_BOOL, 0, 0, 0, 0, NULL, CK_VATS },
	{ "critical", CT_BOOL, 0, 0, 0, 0, NULL, CK_VATS },
	{ "reapInterval", CT_NEVER, 0, 1, LLONG_MAX, 0, NULL, CK_VATS },
	{ "reapGCKrefs", CT_NEVER, 0, 1, LLONG_MAX, 0, NULL, CK_VATS },
	{ "neverReap", CT_BOOL, 0, 0, 0, 0, NULL, CK_VATS },
	{ "nodeOptions", CT_STRARRAY, 0, 0, 0, 0, NULL,
	    CK_VATS | CK_UNSUPPORTED },
	{ "unendowed", CT_BOOL, 0, 0, 0, 0, NULL,
	    CK_DEVICES | CK_UNSUPPORTED },
};

#define NKEYS(t)	(sizeof(t) / sizeof((t)[0]))

static const char *const conf_managers[] = {
	"xsnap", "xs-worker", "local", "node-subprocess", "testworker", NULL
};
static const char *const conf_levels[] = {
	"debug", "info", "warn", "error", NULL
};

/* The state of one config_load/config_parse. */
struct conf_ctx {
	struct config		*cfg;
	struct config_errors	*errs;
	size_t			 nerr;	/* errors added by this call */
	bool			 nomem;	/* an allocation failed */
	char			*cwd;
};

static void	conf_error(struct conf_ctx *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* ---- errors ----------------------------------------------------------- */

static int
conf_errors_add(struct config_errors *errs, const char *path, char *msg)
{
	struct config_error	*v;
	char			*p = strdup(path);

	v = reallocarray(errs->v, errs->n + 1, sizeof(*v));
	if (p == NULL || v == NULL) {
		free(p);
		free(msg);
		return -1;
	}
	errs->v = v;
	v[errs->n].path = p;
	v[errs->n].message = msg;
	errs->n++;
	return 0;
}

static void
conf_error(struct conf_ctx *ctx, const char *path, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	ctx->nerr++;
	if (n < 0 || conf_errors_add(ctx->errs, path, msg) == -1)
		ctx->nomem = true;
}

void
config_errors_clear(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->v[i].path);
		free(errs->v[i].message);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

char *
config_errors_format(const struct config_errors *errs)
{
	size_t	 len = 1, off = 0;
	char	*out;

	for (size_t i = 0; i < errs->n; i++)
		len += strlen(errs->v[i].path) + strlen(errs->v[i].message) + 3;
	if ((out = malloc(len)) == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < errs->n; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s%s\n",
		    errs->v[i].path, errs->v[i].path[0] ? ": " : "",
		    errs->v[i].message);
	return out;
}

/* ---- small helpers ---------------------------------------------------- */

static char *
conf_strdup(struct conf_ctx *ctx, const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		ctx->nomem = true;
	return p;
}

/* "parent.key", or "key" at the top; NULL (and nomem) on failure. */
static char *
conf_path(struct conf_ctx *ctx, const char *parent, const char *key)
{
	char *p;

	if (asprintf(&p, "%s%s%s", parent, parent[0] ? "." : "", key) < 0) {
		ctx->nomem = true;
		return NULL;
	}
	return p;
}

static bool
conf_in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static void
conf_note_unsupported(struct conf_ctx *ctx, const char *path)
{
	struct config	*cfg = ctx->cfg;
	char		**v, *p = conf_strdup(ctx, path);

	v = reallocarray(cfg->unsupported, cfg->nunsupported + 2, sizeof(*v));
	if (p == NULL || v == NULL) {
		ctx->nomem = true;
		free(p);
		return;
	}
	v[cfg->nunsupported++] = p;
	v[cfg->nunsupported] = NULL;
	cfg->unsupported = v;
}

/*
 * An absolute, lexically normalised path: path itself if absolute, else
 * base/path; "." and empty components dropped, ".." removes one.
 */
static char *
conf_abspath(struct conf_ctx *ctx, const char *base, const char *path)
{
	char	*joined = NULL, *out = NULL, *comp, *save;
	size_t	 o = 0, n;

	if (asprintf(&joined, "%s/%s", path[0] == '/' ? "" : base, path) < 0)
		joined = NULL;
	if (joined == NULL || (out = malloc(strlen(joined) + 2)) == NULL) {
		ctx->nomem = true;
		free(joined);
		return NULL;
	}
	for (comp = strtok_r(joined, "/", &save); comp != NULL;
	    comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			while (o > 0 && out[--o] != '/')
				;
			continue;
		}
		n = strlen(comp);
		out[o++] = '/';
		memcpy(out + o, comp, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(joined);
	return out;
}

/* Optimal string alignment distance, for "did you mean" (short keys). */
static size_t
conf_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), d[3][65], r;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *cur = d[i % 3], *prev = d[(i - 1) % 3];
		size_t *prev2 = d[(i + 1) % 3];

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			r = prev[j] + 1;
			if (cur[j - 1] + 1 < r)
				r = cur[j - 1] + 1;
			if (prev[j - 1] + cost < r)
				r = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < r)
				r = prev2[j - 2] + 1;
			cur[j] = r;
		}
	}
	return d[la % 3][lb];
}

/*
 * Report key (at path) as unknown, suggesting the nearest name of table
 * allowed under mask (0: any row) when it is close enough.
 */
static void
conf_unknown(struct conf_ctx *ctx, const char *path, const char *key,
    const struct conf_key *table, size_t n, unsigned mask)
{
	const char	*best = NULL;
	size_t		 bestd = SIZE_MAX, d, limit;

	for (size_t i = 0; i < n; i++) {
		if (mask != 0 && (table[i].flags & mask) == 0)
			continue;
		d = conf_distance(key, table[i].name);
		limit = 1 + strlen(table[i].name) / 8;
		if (d <= limit && d < bestd) {
			best = table[i].name;
			bestd = d;
		}
	}
	if (best != NULL)
		conf_error(ctx, path, "unknown key (did you mean '%s'?)", best);
	else
		conf_error(ctx, path, "unknown key");
}

static const struct conf_key *
conf_find(const struct conf_key *table, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, key) == 0)
			return &table[i];
	return NULL;
}

/* "xs-worker" is an alias of "xsnap" (SwingSet's initializeSwingset). */
static const char *
conf_manager_canon(const char *mt)
{
	return strcmp(mt, "xs-worker") == 0 ? "xsnap" : mt;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted; NULL (and nomem) on failure or when empty. */
static const char **
conf_sorted_keys(struct conf_ctx *ctx, json_t *obj)
{
	const char	**names, *key;
	json_t		 *v;
	size_t		  i = 0;

	names = calloc(json_object_size(obj) + 1, sizeof(*names));
	if (names == NULL) {
		ctx->nomem = true;
		return NULL;
	}
	json_object_foreach(obj, key, v)
		names[i++] = key;
	qsort(names, i, sizeof(*names), cmp_names);
	return names;
}

/* ---- scalar values ---------------------------------------------------- */

/* An integer in [min, max] (or "never"); 0, or -1 after reporting. */
static int
conf_integer(struct conf_ctx *ctx, const char *path, json_t *v,
    const struct conf_key *k, long long *out)
{
	bool never = k->type == CT_NEVER;

	if (never && json_is_string(v) &&
	    strcmp(json_string_value(v), "never") == 0) {
		*out = CONFIG_NEVER;
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= k->min &&
	    json_integer_value(v) <= k->max) {
		*out = json_integer_value(v);
		return 0;
	}
	if (k->max == LLONG_MAX)
		conf_error(ctx, path, "must be an integer >= %lld%s", k->min,
		    never ? " or \"never\"" : "");
	else
		conf_error(ctx, path, "must be an integer from %lld to %lld",
		    k->min, k->max);
	return -1;
}

/* A string value, checked against its type; NULL after reporting. */
static const char *
conf_string(struct conf_ctx *ctx, const char *path, json_t *v,
    enum conf_type type)
{
	const char *s = json_string_value(v);

	if (s == NULL || (type == CT_PATH && s[0] == '\0')) {
		conf_error(ctx, path, "%s", type == CT_PATH ?
		    "must be a non-empty string" : "must be a string");
		return NULL;
	}
	if (type == CT_MANAGER && !conf_in_list(conf_managers, s)) {
		conf_error(ctx, path, "unknown manager type '%s' (one of "
		    "xsnap, xs-worker, local, node-subprocess, testworker)", s);
		return NULL;
	}
	if (type == CT_LEVEL && !conf_in_list(conf_levels, s)) {
		conf_error(ctx, path, "must be one of debug, info, warn, "
		    "error");
		return NULL;
	}
	return s;
}

/* Check v against k without storing it (creationOptions, raw keys). */
static void
conf_check(struct conf_ctx *ctx, const char *path, json_t *v,
    const struct conf_key *k)
{
	long long	 n;
	size_t		 i;
	json_t		*e;

	switch (k->type) {
	case CT_BOOL:
		if (!json_is_boolean(v))
			conf_error(ctx, path, "must be true or false");
		break;
	case CT_NEVER:
		(void)conf_integer(ctx, path, v, k, &n);
		break;
	case CT_STRARRAY:
		json_array_foreach(v, i, e)
			if (!json_is_string(e))
				break;
		if (!json_is_array(v) || i < json_array_size(v))
			conf_error(ctx, path, "must be an array of strings");
		break;
	case CT_OBJECT:
		if (!json_is_object(v))
			conf_error(ctx, path, "must be an object");
		break;
	default:
		(void)conf_string(ctx, path, v, k->type);
		break;
	}
}

static void
conf_set_default(struct conf_ctx *ctx, void *base, const struct conf_key *k)
{
	void *f = (char *)base + k->off;

	switch (k->type) {
	case CT_BOOL:
		*(bool *)f = k->def != 0;
		break;
	case CT_COUNT:
	case CT_NEVER:
		*(int64_t *)f = k->def;
		break;
	case CT_SIZE:
		*(size_t *)f = (size_t)k->def;
		break;
	case CT_U64:
		*(uint64_t *)f = (uint64_t)k->def;
		break;
	case CT_UINT:
		*(unsigned *)f = (unsigned)k->def;
		break;
	case CT_PATH:
		*(char **)f = conf_abspath(ctx, ctx->cwd, k->sdef);
		break;
	case CT_STRING:
	case CT_LEVEL:
	case CT_MANAGER:
		*(char **)f = k->sdef ? conf_strdup(ctx, k->sdef) : NULL;
		break;
	default:
		break;
	}
}

/* Check v and store it in k's field of base. */
static void
conf_set(struct conf_ctx *ctx, void *base, const char *path, json_t *v,
    const struct conf_key *k)
{
	void		*f = (char *)base + k->off;
	long long	 n;
	const char	*s;
	char		*copy;

	switch (k->type) {
	case CT_BOOL:
		if (json_is_boolean(v))
			*(bool *)f = json_is_true(v);
		else
			conf_error(ctx, path, "must be true or false");
		return;
	case CT_COUNT:
	case CT_NEVER:
	case CT_SIZE:
	case CT_U64:
	case CT_UINT:
		if (conf_integer(ctx, path, v, k, &n) == -1)
			return;
		if (k->type == CT_SIZE)
			*(size_t *)f = (size_t)n;
		else if (k->type == CT_U64)
			*(uint64_t *)f = (uint64_t)n;
		else if (k->type == CT_UINT)
			*(unsigned *)f = (unsigned)n;
		else
			*(int64_t *)f = n;
		return;
	case CT_RAW:
		conf_check(ctx, path, v, k);
		return;
	default:
		break;
	}
	if ((s = conf_string(ctx, path, v, k->type)) == NULL)
		return;
	if (k->type == CT_MANAGER)
		s = conf_manager_canon(s);
	if (k->type == CT_PATH)
		copy = conf_abspath(ctx, ctx->cfg->base_dir, s);
	else
		copy = conf_strdup(ctx, s);
	if (copy == NULL)
		return;
	free(*(char **)f);
	*(char **)f = copy;
}

/* ---- vats, bundles, devices ------------------------------------------- */

static const char *
conf_group_name(unsigned group)
{
	if (group == CK_VATS)
		return "vats";
	return group == CK_BUNDLES ? "bundles" : "devices";
}

/* A sourceSpec/bundleSpec file must be a readable regular file. */
static void
conf_check_file(struct conf_ctx *ctx, const char *path, const char *file)
{
	struct stat st;

	if (stat(file, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			conf_error(ctx, path, "no such file (%s)", file);
		else
			conf_error(ctx, path, "%s (%s)", strerror(errno), file);
	} else if (!S_ISREG(st.st_mode))
		conf_error(ctx, path, "not a regular file (%s)", file);
	else if (access(file, R_OK) == -1)
		conf_error(ctx, path, "not readable: %s (%s)", strerror(errno),
		    file);
}

static void
conf_source(struct conf_ctx *ctx, const char *path,
    const struct conf_key *k, json_t *v, struct config_vat *vat)
{
	json_t		*bundles;
	const char	*s = json_string_value(v);

	vat->source = (enum config_source)k->off;
	switch (vat->source) {
	case CONFIG_SRC_BUNDLE:
		if (!json_is_string(json_object_get(v, "moduleFormat")))
			conf_error(ctx, path, "must be a bundle object with "
			    "a string \"moduleFormat\"");
		else
			vat->bundle = json_incref(v);
		return;
	case CONFIG_SRC_BUNDLE_NAME:
		bundles = json_object_get(ctx->cfg->raw, "bundles");
		if (s == NULL)
			conf_error(ctx, path, "must be a string");
		else if (json_object_get(bundles, s) == NULL)
			conf_error(ctx, path, "no bundle named '%s' in "
			    "\"bundles\"", s);
		else
			vat->bundle_name = conf_strdup(ctx, s);
		return;
	default:
		break;
	}
	if (s == NULL || s[0] == '\0') {
		conf_error(ctx, path, "must be a non-empty string (a path)");
		return;
	}
	if ((vat->path = conf_abspath(ctx, ctx->cfg->base_dir, s)) != NULL)
		conf_check_file(ctx, path, vat->path);
}

static void
conf_creation_options(struct conf_ctx *ctx, const char *path, json_t *obj,
    unsigned group)
{
	const struct conf_key	*k;
	const char		*key;
	json_t			*v;
	char			*p;

	json_object_foreach(obj, key, v) {
		if ((p = conf_path(ctx, path, key)) == NULL)
			return;
		k = conf_find(conf_copt_keys, NKEYS(conf_copt_keys), key);
		if (k == NULL || (k->flags & group) == 0)
			conf_unknown(ctx, p, key, conf_copt_keys,
			    NKEYS(conf_copt_keys), group);
		else {
			conf_check(ctx, p, v, k);
			if (k->flags & CK_UNSUPPORTED)
				conf_note_unsupported(ctx, p);
		}
		free(p);
	}
}

/* One key of an entry, other than a source. */
static void
conf_entry_key(struct conf_ctx *ctx, const char *path, json_t *v,
    const struct conf_key *k, unsigned group, struct config_vat *vat)
{
	conf_check(ctx, path, v, k);
	if (k->flags & CK_UNSUPPORTED)
		conf_note_unsupported(ctx, path);
	if (!json_is_object(v))
		return;
	if (strcmp(k->name, "parameters") == 0) {
		json_decref(vat->parameters);
		vat->parameters = json_incref(v);
	} else if (strcmp(k->name, "creationOptions") == 0) {
		conf_creation_options(ctx, path, v, group);
		json_decref(vat->creation_options);
		vat->creation_options = json_incref(v);
	}
}

/* Exactly one source among the keys of entry allowed in group. */
static void
conf_entry_source(struct conf_ctx *ctx, const char *path, json_t *entry,
    unsigned group, struct config_vat *vat)
{
	const struct conf_key	*src[NKEYS(conf_entry_keys)];
	size_t			 n = 0;
	char			*p;

	for (size_t i = 0; i < NKEYS(conf_entry_keys); i++) {
		const struct conf_key *k = &conf_entry_keys[i];

		if (k->type == CT_SOURCE && (k->flags & group) &&
		    json_object_get(entry, k->name) != NULL)
			src[n++] = k;
	}
	if (n == 1 && (p = conf_path(ctx, path, src[0]->name)) != NULL) {
		conf_source(ctx, p, src[0], json_object_get(entry,
		    src[0]->name), vat);
		free(p);
	} else if (n > 1)
		conf_error(ctx, path, "has both %s and %s (exactly one of "
		    "sourceSpec, bundleSpec, bundle%s is allowed)",
		    src[0]->name, src[1]->name,
		    group == CK_BUNDLES ? "" : ", bundleName");
	else if (n == 0)
		conf_error(ctx, path, "needs one of sourceSpec, bundleSpec, "
		    "bundle%s", group == CK_BUNDLES ? "" : ", bundleName");
}

static void
conf_entry(struct conf_ctx *ctx, const char *path, json_t *entry,
    unsigned group, struct config_vat *vat)
{
	const struct conf_key	*k;
	const char		*key;
	json_t			*v;
	char			*p;

	if (!json_is_object(entry)) {
		conf_error(ctx, path, "must be an object");
		return;
	}
	json_object_foreach(entry, key, v) {
		if ((p = conf_path(ctx, path, key)) == NULL)
			return;
		k = conf_find(conf_entry_keys, NKEYS(conf_entry_keys), key);
		if (k == NULL)
			conf_unknown(ctx, p, key, conf_entry_keys,
			    NKEYS(conf_entry_keys), group);
		else if ((k->flags & group) == 0)
			conf_error(ctx, p, "not allowed in \"%s\"",
			    conf_group_name(group));
		else if (k->type != CT_SOURCE)
			conf_entry_key(ctx, p, v, k, group, vat);
		free(p);
	}
	conf_entry_source(ctx, path, entry, group, vat);
}

/* A vat needs a worker command for its manager type (xsnap: see config.h). */
static void
conf_vat_worker(struct conf_ctx *ctx, const char *path,
    const struct config_vat *vat)
{
	const char	*mt = config_vat_manager_type(ctx->cfg, vat);
	json_t		*own, *nopt;
	char		*p;

	own = json_object_get(vat->creation_options, "managerType");
	nopt = json_object_get(vat->creation_options, "nodeOptions");
	if ((own != NULL && !json_is_string(own)) || mt == NULL ||
	    !conf_in_list(conf_managers, mt))
		return;		/* already reported */
	if (nopt != NULL && strcmp(mt, "node-subprocess") != 0 &&
	    (p = conf_path(ctx, path, "creationOptions.nodeOptions")) != NULL) {
		conf_error(ctx, p, "requires managerType 'node-subprocess'");
		free(p);
	}
	if (strcmp(mt, "xsnap") == 0 || config_worker_argv(ctx->cfg, mt))
		return;
	if (own == NULL) {
		conf_error(ctx, path, "no worker for manager type '%s' (from "
		    "defaultManagerType; daemon.workers has none)", mt);
	} else if ((p = conf_path(ctx, path, "creationOptions.managerType"))
	    != NULL) {
		conf_error(ctx, p, "no worker for manager type '%s' "
		    "(daemon.workers has none)", mt);
		free(p);
	}
}

static void
conf_group(struct conf_ctx *ctx, json_t *root, unsigned group,
    struct config_vat **out, size_t *nout)
{
	const char	*gname = conf_group_name(group), **names;
	json_t		*g = json_object_get(root, gname);
	char		*p;

	if (g == NULL && group == CK_VATS)
		conf_error(ctx, gname, "missing (a config needs at least one "
		    "vat)");
	if (g == NULL)
		return;
	if (!json_is_object(g)) {
		conf_error(ctx, gname, "must be an object");
		return;
	}
	if (json_object_size(g) == 0 && group == CK_VATS)
		conf_error(ctx, gname, "empty (a config needs at least one vat)");
	if (json_object_size(g) > 0 && group == CK_DEVICES)
		conf_note_unsupported(ctx, gname);
	if ((names = conf_sorted_keys(ctx, g)) == NULL)
		return;
	if ((*out = calloc(json_object_size(g) + 1, sizeof(**out))) == NULL)
		ctx->nomem = true;
	for (size_t i = 0; *out != NULL && names[i] != NULL; i++) {
		struct config_vat *vat = &(*out)[(*nout)++];

		if ((vat->name = conf_strdup(ctx, names[i])) == NULL ||
		    (p = conf_path(ctx, gname, names[i])) == NULL)
			break;
		conf_entry(ctx, p, json_object_get(g, names[i]), group, vat);
		if (vat->parameters == NULL)
			vat->parameters = json_object();
		if (vat->creation_options == NULL)
			vat->creation_options = json_object();
		if (vat->parameters == NULL || vat->creation_options == NULL)
			ctx->nomem = true;
		else if (group == CK_VATS)
			conf_vat_worker(ctx, p, vat);
		free(p);
	}
	free(names);
}

/* ---- the daemon object ------------------------------------------------ */

/* One daemon.workers entry: a non-empty argv of non-empty strings. */
static json_t *
conf_worker_argv(struct conf_ctx *ctx, const char *path, json_t *v)
{
	json_t		*argv, *e;
	const char	*s;
	char		*abs;
	size_t		 i;

	json_array_foreach(v, i, e)
		if (json_string_value(e) == NULL || json_string_length(e) == 0)
			break;
	if (json_array_size(v) == 0 || i < json_array_size(v)) {
		conf_error(ctx, path, "must be a non-empty array of non-empty "
		    "strings (the worker's argv)");
		return NULL;
	}
	if ((argv = json_deep_copy(v)) == NULL) {
		ctx->nomem = true;
		return NULL;
	}
	/* A relative program path (with a slash) is from the config file. */
	s = json_string_value(json_array_get(v, 0));
	if (s[0] != '/' && strchr(s, '/') != NULL) {
		abs = conf_abspath(ctx, ctx->cfg->base_dir, s);
		if (abs == NULL || json_array_set_new(argv, 0,
		    json_string(abs)) == -1)
			ctx->nomem = true;
		free(abs);
	}
	return argv;
}

static void
conf_workers(struct conf_ctx *ctx, json_t *obj)
{
	json_t		*workers = ctx->cfg->daemon.workers, *v, *argv;
	const char	*key, *mt;
	char		*p;

	if (!json_is_object(obj)) {
		conf_error(ctx, "daemon.workers", "must be an object");
		return;
	}
	json_object_foreach(obj, key, v) {
		if ((p = conf_path(ctx, "daemon.workers", key)) == NULL)
			return;
		mt = conf_manager_canon(key);
		if (!conf_in_list(conf_managers, mt))
			conf_error(ctx, p, "unknown manager type '%s' (one of "
			    "xsnap, xs-worker, local, node-subprocess, "
			    "testworker)", key);
		else if (json_object_get(workers, mt) != NULL)
			conf_error(ctx, p, "given twice (xs-worker is an "
			    "alias of xsnap)");
		else if ((argv = conf_worker_argv(ctx, p, v)) != NULL &&
		    json_object_set_new(workers, mt, argv) == -1)
			ctx->nomem = true;
		free(p);
	}
}

static void
conf_daemon(struct conf_ctx *ctx, json_t *obj)
{
	const struct conf_key	*k;
	const char		*key;
	json_t			*v;
	char			*p;

	if (!json_is_object(obj)) {
		conf_error(ctx, "daemon", "must be an object");
		return;
	}
	json_object_foreach(obj, key, v) {
		if ((p = conf_path(ctx, "daemon", key)) == NULL)
			return;
		k = conf_find(conf_daemon_keys, NKEYS(conf_daemon_keys), key);
		if (k == NULL)
			conf_unknown(ctx, p, key, conf_daemon_keys,
			    NKEYS(conf_daemon_keys), 0);
		else if (k->type == CT_GROUP)
			conf_workers(ctx, v);
		else
			conf_set(ctx, &ctx->cfg->daemon, p, v, k);
		free(p);
	}
}

/* Checks across daemon keys, and the built-in worker default. */
static void
conf_daemon_finish(struct conf_ctx *ctx)
{
	struct config_daemon	*d = &ctx->cfg->daemon;
	struct sockaddr_un	 sun;
	json_t			*argv;
	char			*prog;

	if (d->max_map_size != 0 && d->max_map_size < d->map_size)
		conf_error(ctx, "daemon.maxMapSize", "must be 0 or >= mapSize "
		    "(%zu)", d->map_size);
	if (d->socket_path != NULL &&
	    strlen(d->socket_path) >= sizeof(sun.sun_path))
		conf_error(ctx, "daemon.socket", "too long for a unix socket "
		    "(%zu bytes, at most %zu): %s", strlen(d->socket_path),
		    sizeof(sun.sun_path) - 1, d->socket_path);
	if (json_object_get(d->workers, "testworker") != NULL)
		return;
	prog = conf_abspath(ctx, ctx->cwd, "bin/testworker");
	argv = prog ? json_pack("[s]", prog) : NULL;
	if (argv == NULL || json_object_set_new(d->workers, "testworker",
	    argv) == -1)
		ctx->nomem = true;
	free(prog);
}

/* ---- the whole file --------------------------------------------------- */

static void
conf_defaults(struct conf_ctx *ctx)
{
	for (size_t i = 0; i < NKEYS(conf_top_keys); i++)
		conf_set_default(ctx, ctx->cfg, &conf_top_keys[i]);
	for (size_t i = 0; i < NKEYS(conf_daemon_keys); i++)
		conf_set_default(ctx, &ctx->cfg->daemon, &conf_daemon_keys[i]);
	if ((ctx->cfg->daemon.workers = json_object()) == NULL)
		ctx->nomem = true;
}

/* Scalars and daemon in file order; then the groups, which need both. */
static void
conf_top(struct conf_ctx *ctx, json_t *root)
{
	struct config		*cfg = ctx->cfg;
	const struct conf_key	*k;
	const char		*key;
	json_t			*v;

	json_object_foreach(root, key, v) {
		k = conf_find(conf_top_keys, NKEYS(conf_top_keys), key);
		if (k == NULL)
			conf_unknown(ctx, key, key, conf_top_keys,
			    NKEYS(conf_top_keys), 0);
		else if (strcmp(key, "daemon") == 0)
			conf_daemon(ctx, v);
		else if (k->type != CT_GROUP)
			conf_set(ctx, cfg, key, v, k);
		if (k != NULL && (k->flags & CK_UNSUPPORTED))
			conf_note_unsupported(ctx, key);
	}
	conf_daemon_finish(ctx);
	conf_group(ctx, root, CK_BUNDLES, &cfg->bundles, &cfg->nbundles);
	conf_group(ctx, root, CK_VATS, &cfg->vats, &cfg->nvats);
	conf_group(ctx, root, CK_DEVICES, &cfg->devices, &cfg->ndevices);
	v = json_object_get(root, "vats");
	if (cfg->bootstrap != NULL && json_is_object(v) &&
	    json_object_get(v, cfg->bootstrap) == NULL)
		conf_error(ctx, "bootstrap", "no vat named '%s' in \"vats\"",
		    cfg->bootstrap);
}

/*
 * Parse text; name is what JSON syntax errors are reported against, file
 * the absolute path of the file (or NULL).
 */
static struct config *
conf_parse(const char *text, size_t len, const char *base_dir,
    const char *name, const char *file, struct config_errors *errs)
{
	struct conf_ctx	 ctx = { .errs = errs };
	json_error_t	 jerr;
	json_t		*root = NULL;
	char		*where;

	if ((ctx.cwd = get_current_dir_name()) == NULL) {
		conf_error(&ctx, "", "cannot get the current directory: %s",
		    strerror(errno));
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (asprintf(&where, "%s:%d:%d", name, jerr.line,
		    jerr.column) < 0) {
			ctx.nomem = true;
			goto out;
		}
		conf_error(&ctx, where, "%s", jerr.text);
		free(where);
		goto out;
	}
	if (!json_is_object(root)) {
		conf_error(&ctx, "", "%s: the top level must be a JSON object",
		    name);
		goto out;
	}
	if ((ctx.cfg = calloc(1, sizeof(*ctx.cfg))) == NULL) {
		ctx.nomem = true;
		goto out;
	}
	ctx.cfg->raw = json_incref(root);
	ctx.cfg->base_dir = conf_abspath(&ctx, ctx.cwd,
	    base_dir != NULL ? base_dir : ".");
	if (file != NULL)
		ctx.cfg->path = conf_strdup(&ctx, file);
	if (ctx.cfg->base_dir == NULL)
		goto out;
	conf_defaults(&ctx);
	if (!ctx.nomem)
		conf_top(&ctx, root);
out:
	if (ctx.nomem && conf_errors_add(errs, "", strdup("out of memory"))
	    == -1)
		ctx.nerr++;
	if ((ctx.nerr > 0 || ctx.nomem) && ctx.cfg != NULL) {
		config_free(ctx.cfg);
		ctx.cfg = NULL;
	}
	json_decref(root);
	free(ctx.cwd);
	return ctx.cfg;
}

struct config *
config_parse(const char *text, size_t len, const char *base_dir,
    struct config_errors *errs)
{
	return conf_parse(text, len, base_dir, "<string>", NULL, errs);
}

/* The whole file, NUL-terminated; NULL with errno set. */
static char *
conf_read(const char *path, size_t *lenp)
{
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (len + 1 >= cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > CONF_MAX_FILE + 1) {
				errno = EFBIG;
				goto fail;
			}
			if ((nbuf = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(void)close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	saved = errno;
	free(buf);
	(void)close(fd);
	errno = saved;
	return NULL;
}

struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct config	*cfg = NULL;
	char		*text = NULL, *real = NULL, *base = NULL, *slash;
	size_t		 len;

	if ((text = conf_read(path, &len)) == NULL ||
	    (real = realpath(path, NULL)) == NULL) {
		if (conf_errors_add(errs, path, strdup(strerror(errno))) == -1)
			(void)conf_errors_add(errs, "", strdup("out of memory"));
		goto out;
	}
	if ((base = strdup(real)) == NULL) {
		(void)conf_errors_add(errs, "", strdup("out of memory"));
		goto out;
	}
	slash = strrchr(base, '/');
	slash[slash == base] = '\0';	/* "/a/b.json" -> "/a"; "/b" -> "/" */
	cfg = conf_parse(text, len, base, path, real, errs);
out:
	free(text);
	free(real);
	free(base);
	return cfg;
}

/* ---- accessors -------------------------------------------------------- */

const char *const *
config_unsupported(const struct config *cfg)
{
	static const char *const none[] = { NULL };

	if (cfg->unsupported == NULL)
		return none;
	return (const char *const *)cfg->unsupported;
}

const json_t *
config_worker_argv(const struct config *cfg, const char *manager_type)
{
	return json_object_get(cfg->daemon.workers,
	    conf_manager_canon(manager_type));
}

const char *
config_vat_manager_type(const struct config *cfg,
    const struct config_vat *vat)
{
	const char *mt = json_string_value(json_object_get(
	    vat->creation_options, "managerType"));

	if (mt == NULL)
		mt = cfg->default_manager_type;
	return mt != NULL ? conf_manager_canon(mt) : NULL;
}

static void
conf_free_vats(struct config_vat *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
		free(v[i].bundle_name);
		json_decref(v[i].bundle);
		json_decref(v[i].creation_options);
		json_decref(v[i].parameters);
	}
	free(v);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->base_dir);
	free(cfg->bootstrap);
	free(cfg->default_manager_type);
	conf_free_vats(cfg->vats, cfg->nvats);
	conf_free_vats(cfg->bundles, cfg->nbundles);
	conf_free_vats(cfg->devices, cfg->ndevices);
	free(cfg->daemon.socket_path);
	free(cfg->daemon.state_dir);
	free(cfg->daemon.log_level);
	json_decref(cfg->daemon.workers);
	json_decref(cfg->raw);
	for (size_t i = 0; i < cfg->nunsupported; i++)
		free(cfg->unsupported[i]);
	free(cfg->unsupported);
	free(cfg);
}

/* ---- config_dump ------------------------------------------------------ */

/* k's field of base as JSON (new reference); NULL when unset. */
static json_t *
conf_dump_value(const void *base, const struct conf_key *k)
{
	const void *f = (const char *)base + k->off;

	switch (k->type) {
	case CT_BOOL:
		return json_boolean(*(const bool *)f);
	case CT_NEVER:
		if (*(const int64_t *)f == CONFIG_NEVER)
			return json_string("never");
		/* FALLTHROUGH */
	case CT_COUNT:
		return json_integer(*(const int64_t *)f);
	case CT_SIZE:
		return json_integer((json_int_t)*(const size_t *)f);
	case CT_U64:
		return json_integer((json_int_t)*(const uint64_t *)f);
	case CT_UINT:
		return json_integer(*(const unsigned *)f);
	case CT_STRING:
	case CT_PATH:
	case CT_LEVEL:
	case CT_MANAGER:
		return *(char *const *)f ? json_string(*(char *const *)f) :
		    NULL;
	default:
		return NULL;
	}
}

/* Rows of table into out; unsupported and raw keys only when given. */
static int
conf_dump_table(json_t *out, const void *base, const struct conf_key *table,
    size_t n, json_t *raw)
{
	json_t	*v;
	int	 rc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct conf_key *k = &table[i];

		if (k->type == CT_GROUP)
			continue;
		if ((k->flags & CK_UNSUPPORTED) || k->type == CT_RAW) {
			if ((v = json_object_get(raw, k->name)) != NULL)
				rc |= json_object_set_new(out, k->name,
				    json_deep_copy(v));
			continue;
		}
		if ((v = conf_dump_value(base, k)) != NULL)
			rc |= json_object_set_new(out, k->name, v);
	}
	return rc;
}

static json_t *
conf_dump_entry(const struct config_vat *vat, unsigned group, json_t *raw)
{
	json_t	*e = json_object(), *src;
	int	 rc = 0;

	if (e == NULL)
		return NULL;
	if (vat->source == CONFIG_SRC_BUNDLE)
		src = json_deep_copy(vat->bundle);
	else if (vat->source == CONFIG_SRC_BUNDLE_NAME)
		src = json_string(vat->bundle_name);
	else
		src = json_string(vat->path);
	rc |= json_object_set_new(e,
	    conf_entry_keys[vat->source].name, src);
	if (group != CK_BUNDLES) {
		rc |= json_object_set_new(e, "creationOptions",
		    json_deep_copy(vat->creation_options));
		rc |= json_object_set_new(e, "parameters",
		    json_deep_copy(vat->parameters));
	}
	for (size_t i = 0; i < NKEYS(conf_entry_keys); i++)
		if ((conf_entry_keys[i].flags & CK_UNSUPPORTED) &&
		    (src = json_object_get(raw, conf_entry_keys[i].name)))
			rc |= json_object_set_new(e, conf_entry_keys[i].name,
			    json_deep_copy(src));
	if (rc != 0) {
		json_decref(e);
		return NULL;
	}
	return e;
}

static json_t *
conf_dump_group(const struct config *cfg, unsigned group,
    const struct config_vat *v, size_t n)
{
	const char	*gname = conf_group_name(group);
	json_t		*g = json_object(), *raw;
	int		 rc = 0;

	raw = json_object_get(cfg->raw, gname);
	for (size_t i = 0; g != NULL && i < n; i++)
		rc |= json_object_set_new(g, v[i].name, conf_dump_entry(&v[i],
		    group, json_object_get(raw, v[i].name)));
	if (rc != 0) {
		json_decref(g);
		return NULL;
	}
	return g;
}

json_t *
config_dump(const struct config *cfg)
{
	json_t	*out = json_object(), *d = json_object();
	int	 rc = 0;

	if (out == NULL || d == NULL) {
		json_decref(out);
		json_decref(d);
		return NULL;
	}
	rc |= conf_dump_table(out, cfg, conf_top_keys, NKEYS(conf_top_keys),
	    cfg->raw);
	rc |= json_object_set_new(out, "vats", conf_dump_group(cfg, CK_VATS,
	    cfg->vats, cfg->nvats));
	rc |= json_object_set_new(out, "bundles", conf_dump_group(cfg,
	    CK_BUNDLES, cfg->bundles, cfg->nbundles));
	if (cfg->ndevices > 0)
		rc |= json_object_set_new(out, "devices", conf_dump_group(cfg,
		    CK_DEVICES, cfg->devices, cfg->ndevices));
	rc |= conf_dump_table(d, &cfg->daemon, conf_daemon_keys,
	    NKEYS(conf_daemon_keys), NULL);
	rc |= json_object_set_new(d, "workers",
	    json_deep_copy(cfg->daemon.workers));
	rc |= json_object_set_new(out, "daemon", d);
	if (rc != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}
