/*
 * config_keys.c — the configuration keys: the tables of every key's name,
 * type, field, bounds and default, and the checks of single values against
 * them (integers, strings, manager types, log levels, paths made
 * absolute, lists of uids and gids), with the small helpers the other config*.c files share: key
 * paths, "did you mean" suggestions, the list of unsupported keys.  It
 * does not walk the file (config.c, config_entry.c) or print it back
 * (config_dump.c).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONF_KEYS_DEFINED	/* unsized tables below count their rows */
#include "conf/config.h"
#include "conf/config_impl.h"

#define CONF_MIN_MAP	1048576			/* smallest daemon.mapSize */

#define TOP(f)	offsetof(struct config, f)
#define DMN(f)	offsetof(struct config_daemon, f)

const struct conf_key conf_top_keys[] = {
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

const struct conf_key conf_daemon_keys[] = {
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
	{ "reservedClients", CT_SIZE, DMN(reserved_clients), 0, 1024, 2,
	    NULL, 0 },
	{ "clientIdleTimeoutMs", CT_U64, DMN(client_idle_timeout_ms), 0,
	    LLONG_MAX, 60000, NULL, 0 },
	{ "bridgeTimeoutMs", CT_U64, DMN(bridge_timeout_ms), 1,
	    LLONG_MAX, 30000, NULL, 0 },
	{ "clientBufferBudget", CT_SIZE, DMN(client_buffer_budget), 2,
	    LLONG_MAX, 256LL * 1024 * 1024, NULL, 0 },
	{ "allowedUids", CT_IDS, DMN(allowed_uids), 0, CONFIG_ID_MAX,
	    CONF_IDS_SELF_ROOT, NULL, 0 },
	{ "allowedGids", CT_IDS, DMN(allowed_gids), 0, CONFIG_ID_MAX,
	    CONF_IDS_SELF_GROUP, NULL, 0 },
	{ "producerUids", CT_IDS, DMN(producer_uids), 0, CONFIG_ID_MAX,
	    CONF_IDS_SELF_ROOT, NULL, 0 },
	{ "maxFrame", CT_SIZE, DMN(max_frame), 1, LLONG_MAX, 12000000,
	    NULL, 0 },
	{ "deliveryTimeoutMs", CT_U64, DMN(delivery_timeout_ms), 0, LLONG_MAX,
	    30000, NULL, 0 },
	{ "maxRetries", CT_UINT, DMN(max_retries), 0, UINT_MAX, 3, NULL, 0 },
	{ "cpuAffinity", CT_COUNT, DMN(cpu_affinity), -1, 1023, -1, NULL, 0 },
	{ "workers", CT_GROUP, 0, 0, 0, 0, NULL, 0 },
	{ "xsnapDir", CT_PATH, DMN(xsnap_dir), 0, 0, 0, NULL, 0 },
};

/*
 * Keys of a vats/bundles/devices entry; flags say which groups allow it.
 * The CT_SOURCE rows come first, in enum config_source order (config_dump
 * names a source by indexing this table).
 */
const struct conf_key conf_entry_keys[] = {
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
const struct conf_key conf_copt_keys[] = {
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

_Static_assert(NKEYS(conf_top_keys) == CONF_NTOP_KEYS, "CONF_NTOP_KEYS");
_Static_assert(NKEYS(conf_daemon_keys) == CONF_NDAEMON_KEYS,
    "CONF_NDAEMON_KEYS");
_Static_assert(NKEYS(conf_entry_keys) == CONF_NENTRY_KEYS,
    "CONF_NENTRY_KEYS");
_Static_assert(NKEYS(conf_copt_keys) == CONF_NCOPT_KEYS, "CONF_NCOPT_KEYS");

const char *const conf_managers[] = {
	"xsnap", "xs-worker", "local", "node-subprocess", "testworker", NULL
};
static const char *const conf_levels[] = {
	"debug", "info", "warn", "error", NULL
};

/* ---- small helpers ---------------------------------------------------- */

char *
conf_strdup(struct conf_ctx *ctx, const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		ctx->nomem = true;
	return p;
}

/* "parent.key", or "key" at the top; NULL (and nomem) on failure. */
char *
conf_path(struct conf_ctx *ctx, const char *parent, const char *key)
{
	char *p;

	if (asprintf(&p, "%s%s%s", parent, parent[0] ? "." : "", key) < 0) {
		ctx->nomem = true;
		return NULL;
	}
	return p;
}

bool
conf_in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

void
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
char *
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
void
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

const struct conf_key *
conf_find(const struct conf_key *table, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, key) == 0)
			return &table[i];
	return NULL;
}

/* "xs-worker" is an alias of "xsnap" (SwingSet's initializeSwingset). */
const char *
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
const char **
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
void
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

/* A CT_IDS default: the loading process's euid and root, or its egid. */
static void
conf_ids_default(struct conf_ctx *ctx, struct config_ids *ids, long long def)
{
	uint32_t own = def == CONF_IDS_SELF_GROUP ? (uint32_t)getegid() :
	    (uint32_t)geteuid();

	if ((ids->v = calloc(2, sizeof(*ids->v))) == NULL) {
		ctx->nomem = true;
		return;
	}
	ids->v[ids->n++] = own;
	if (def == CONF_IDS_SELF_ROOT && own != 0)
		ids->v[ids->n++] = 0;
}

/* An array of ids in [k->min, k->max]; it replaces the default. */
static void
conf_ids(struct conf_ctx *ctx, struct config_ids *ids, const char *path,
    json_t *v, const struct conf_key *k)
{
	uint32_t	*nv;
	json_t		*e;
	size_t		 i;
	char		*at;

	if (!json_is_array(v)) {
		conf_error(ctx, path, "must be an array of integers from %lld "
		    "to %lld", k->min, k->max);
		return;
	}
	json_array_foreach(v, i, e) {
		if (json_is_integer(e) && json_integer_value(e) >= k->min &&
		    json_integer_value(e) <= k->max)
			continue;
		if (asprintf(&at, "%s[%zu]", path, i) < 0) {
			ctx->nomem = true;
			return;
		}
		conf_error(ctx, at, "must be an integer from %lld to %lld",
		    k->min, k->max);
		free(at);
		return;
	}
	if ((nv = calloc(json_array_size(v) + 1, sizeof(*nv))) == NULL) {
		ctx->nomem = true;
		return;
	}
	json_array_foreach(v, i, e)
		nv[i] = (uint32_t)json_integer_value(e);
	free(ids->v);
	ids->v = nv;
	ids->n = json_array_size(v);
}

void
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
	case CT_IDS:
		conf_ids_default(ctx, f, k->def);
		break;
	case CT_PATH:
		*(char **)f = k->sdef ? conf_abspath(ctx, ctx->cwd, k->sdef) :
		    NULL;
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
void
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
	case CT_IDS:
		conf_ids(ctx, f, path, v, k);
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
