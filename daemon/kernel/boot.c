/*
 * boot.c — the kernel's first start and its later starts.
 *
 * First start (the store has no "kernel.version"): one crank records what
 * the configuration says the kernel is made of — vat IDs and names in boot
 * order, each vat's options and parameters, devices, and the kernel-wide
 * settings — in the block that the producer's first commit seals.  IDs
 * depend only on the configuration, and are SwingSet's: the bootstrap vat
 * is v1, then vatAdmin, comms, vattp and timer (those configured), then
 * the other vats sorted by name; devices are d7… sorted by name.
 * Later starts: the configuration must still produce the same records
 * (every key below except the counters that grow at run time); if it does
 * not, the daemon names the first difference and refuses to start rather
 * than run a state it was not configured for.  JSON records are written
 * with sorted keys, so the order of keys in the file does not matter.
 *
 * Keys written here are listed in docs/state.md ("Kernel keys").  Starting
 * workers and queueing bootstrap() belong to the kernel proper.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/bundles/bundles.h"
#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

/* 2: kernel.maxFrame and kernel.relaxDurabilityRules are recorded, and
 * installBundle is a crank.  3: new events enter the acceptance queue
 * and routing cranks move them on (the same inputs give other cranks);
 * configured timer and mailbox devices run (dN.deviceState, dN.mailbox)
 * and a timer device brings the timer vat.  4: reference counts
 * (koN.refCount, kpN.refCount, pinnedObjects, device c-list imports),
 * unreferenced promises deleted; vat and device IDs and the first
 * krefs in SwingSet's order.  5: the kernel statistics (kernelStats,
 * local.kernelStats: daemon/kernel/stats.c), counted from the start.
 * A state of another version is refused. */
#define KERNEL_STATE_VERSION	"5"

/* SwingSet's first device ID (kernelKeeper's FIRST_DEVICE_ID) */
#define FIRST_DEVICE_ID		7

/* Where the boot records go: into the store (first start), or compared
 * with it (later starts). */
struct boot_sink {
	const struct kernel_params *p;	/* bundling, the xsnap bundle IDs */
	struct store	*st;
	bool		 check;
	char		*diff;		/* first difference found, malloc'd */
};

static int
sink_compare(struct boot_sink *bs, const char *key, const char *val)
{
	const void	*have;
	size_t		 hlen;
	int		 rc;

	if (bs->diff != NULL)
		return STORE_OK;
	rc = store_get(bs->st, STORE_KV, key, strlen(key), &have, &hlen);
	if (rc == STORE_OK && hlen == strlen(val) && memcmp(have, val, hlen)
	    == 0)
		return STORE_OK;
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return rc;
	if (asprintf(&bs->diff, "%s: the configuration gives %s, the state "
	    "has %s%.*s%s", key, val, rc == STORE_OK ? "'" : "nothing",
	    rc == STORE_OK ? (int)(hlen > 200 ? 200 : hlen) : 0,
	    rc == STORE_OK ? (const char *)have : "",
	    rc == STORE_OK ? "'" : "") < 0)
		return STORE_ENOMEM;
	return STORE_OK;
}

static int
sink_put_str(struct boot_sink *bs, const char *key, const char *val)
{
	if (bs->check)
		return sink_compare(bs, key, val);
	return store_put(bs->st, STORE_KV, key, strlen(key), val, strlen(val));
}

/* A record SwingSet writes only when it holds (its "missing | 'true'"
 * keys): val NULL means absent, and a later start checks that it is. */
static int
sink_put_if(struct boot_sink *bs, const char *key, const char *val)
{
	const void	*have;
	size_t		 hlen;
	int		 rc;

	if (val != NULL)
		return sink_put_str(bs, key, val);
	if (!bs->check || bs->diff != NULL)
		return STORE_OK;
	rc = store_get(bs->st, STORE_KV, key, strlen(key), &have, &hlen);
	if (rc == STORE_NOTFOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	if (asprintf(&bs->diff, "%s: the configuration gives nothing, the "
	    "state has '%.*s'", key, (int)(hlen > 200 ? 200 : hlen),
	    (const char *)have) < 0)
		return STORE_ENOMEM;
	return STORE_OK;
}

/* A record that grows at run time: written at first start, not checked. */
static int
sink_put_initial(struct boot_sink *bs, const char *key, const char *val)
{
	return bs->check ? STORE_OK : sink_put_str(bs, key, val);
}

static int
sink_put_json(struct boot_sink *bs, const char *key, const json_t *val)
{
	char	*text = json_dumps(val, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
	int	 rc;

	if (text == NULL)
		return STORE_ENOMEM;
	rc = sink_put_str(bs, key, text);
	free(text);
	return rc;
}

static int
sink_put_fmt(struct boot_sink *bs, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
sink_put_fmt(struct boot_sink *bs, const char *key, const char *fmt, ...)
{
	va_list	 ap;
	char	*val = NULL;
	int	 rc, n;

	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return STORE_ENOMEM;
	rc = sink_put_str(bs, key, val);
	free(val);
	return rc;
}

static const struct config_vat *
find_vat(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nvats; i++)
		if (strcmp(cfg->vats[i].name, name) == 0)
			return &cfg->vats[i];
	return NULL;
}

static const struct config_vat *
find_entry(const struct config_vat *list, size_t n, const char *name)
{
	for (size_t i = 0; name != NULL && i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	return NULL;
}

static bool
listed(const json_t *names, const char *name)
{
	size_t i;

	for (i = 0; i < json_array_size(names); i++)
		if (strcmp(json_string_value(json_array_get(names, i)), name) ==
		    0)
			return true;
	return false;
}

/*
 * The configured vats in boot order, as a JSON array of names: SwingSet's
 * (initializeSwingset's sortObjectProperties): the bootstrap vat, then
 * vatAdmin, comms, vattp and timer when configured, then the others by
 * name.  The config keeps vats sorted by name.
 */
static json_t *
boot_vat_order(const struct config *cfg)
{
	const char	*firsts[] = { cfg->bootstrap, "vatAdmin", "comms",
			    "vattp", "timer" };
	json_t		*names = json_array();

	if (names == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++)
		if (firsts[i] != NULL && find_vat(cfg, firsts[i]) != NULL &&
		    !listed(names, firsts[i]))
			json_array_append_new(names, json_string(firsts[i]));
	for (size_t i = 0; i < cfg->nvats; i++)
		if (!listed(names, cfg->vats[i].name))
			json_array_append_new(names,
			    json_string(cfg->vats[i].name));
	return names;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The devices, sorted by name: the configured ones (native devices of
 * daemon/devices/, found by name; their code in the configuration is not
 * run) and, when a vat named vatAdmin exists, the kernel's own vatAdmin
 * device.
 */
static json_t *
device_names(const struct config *cfg)
{
	const char	**v = calloc(cfg->ndevices + 1, sizeof(char *));
	json_t		 *names = json_array();
	size_t		  n = 0;

	for (size_t i = 0; v != NULL && i < cfg->ndevices; i++)
		v[n++] = cfg->devices[i].name;
	if (v != NULL && find_vat(cfg, "vatAdmin") != NULL)
		v[n++] = "vatAdmin";
	if (v != NULL)
		qsort(v, n, sizeof(char *), cmp_str);
	for (size_t i = 0; v != NULL && names != NULL && i < n; i++)
		json_array_append_new(names, json_string(v[i]));
	if (v == NULL) {
		json_decref(names);
		names = NULL;
	}
	free(v);
	return names;
}

/* The bundle an entry names (new reference), or NULL with *why set
 * (malloc'd).  A sourceSpec is bundled now, by @endo/bundle-source. */
static json_t *
entry_bundle(const struct boot_sink *bs, const struct config *cfg,
    const struct config_vat *e, char **why)
{
	json_error_t	 jerr;
	json_t		*b = NULL;
	char		 err[1024];

	switch (e->source) {
	case CONFIG_SRC_BUNDLE:
		return json_incref(e->bundle);
	case CONFIG_SRC_BUNDLE_SPEC:
		if ((b = json_load_file(e->path, 0, &jerr)) == NULL)
			snprintf(err, sizeof(err), "its bundleSpec file is not "
			    "a JSON bundle (%s)", jerr.text);
		break;
	case CONFIG_SRC_BUNDLE_NAME:
		e = find_entry(cfg->bundles, cfg->nbundles, e->bundle_name);
		if (e != NULL && e->source != CONFIG_SRC_BUNDLE_NAME)
			return entry_bundle(bs, cfg, e, why);
		snprintf(err, sizeof(err), "its bundleName names no bundle");
		break;
	case CONFIG_SRC_SOURCE_SPEC:
		b = bs->p->bundle_source(e->path, err, sizeof(err));
		break;
	default:
		snprintf(err, sizeof(err), "it has no source");
		break;
	}
	if (b == NULL)
		*why = strdup(err);
	return b;
}

/* Is the entry's code a sourceSpec (itself, or through bundleName)? */
static bool
from_source(const struct config *cfg, const struct config_vat *e)
{
	if (e->source == CONFIG_SRC_BUNDLE_NAME)
		e = find_entry(cfg->bundles, cfg->nbundles, e->bundle_name);
	return e != NULL && e->source == CONFIG_SRC_SOURCE_SPEC;
}

/*
 * vN.source = {"bundleID": …}; the bundle itself into the bundles table.
 * That is the first start; a later one compares the ID, except for a
 * sourceSpec, which is bundled at the first start only, as SwingSet does
 * (the recorded bundle is the vat's code from then on).
 */
static int
record_source(struct boot_sink *bs, const struct config *cfg,
    const struct config_vat *v, const char *key)
{
	char		*why = NULL;
	json_t		*b, *src = NULL;
	char		*text = NULL, *id = NULL;
	int		 rc = STORE_ENOMEM;

	if (bs->check && from_source(cfg, v))
		return STORE_OK;
	if ((b = entry_bundle(bs, cfg, v, &why)) == NULL) {
		if (bs->diff == NULL && asprintf(&bs->diff, "%s.%s: %s",
		    strncmp(key, "namedBundleID.", 14) == 0 ? "bundles" :
		    "vats", v->name, why ? why : "out of memory") < 0)
			bs->diff = NULL;
		free(why);
		return bs->check ? STORE_OK : STORE_EINVAL;
	}
	if (bs->check) {
		text = bundle_text(b);
		id = text ? bundle_id(text) : NULL;
	} else
		rc = bundle_install(bs->st, b, &id);
	src = id == NULL ? NULL : strncmp(key, "namedBundleID.", 14) == 0 ?
	    json_string(id) : json_pack("{s:s}", "bundleID", id);
	if (src != NULL)
		rc = json_is_string(src) ? sink_put_str(bs, key,
		    json_string_value(src)) : sink_put_json(bs, key, src);
	json_decref(b);
	json_decref(src);
	free(text);
	free(id);
	return rc;
}

/* namedBundleID.<name> for each entry of the configuration's bundles,
 * each bundle installed. */
static int
record_bundles(struct boot_sink *bs, const struct config *cfg)
{
	char	*key;
	int	 rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < cfg->nbundles; i++) {
		if (asprintf(&key, "namedBundleID.%s", cfg->bundles[i].name) <
		    0)
			return STORE_ENOMEM;
		rc = record_source(bs, cfg, &cfg->bundles[i], key);
		free(key);
	}
	return rc;
}

/*
 * A later start: what became of static vat n (configured as name).  Its
 * records are compared only while it lives: once terminated it has lost
 * its name and its state is being deleted (VAT_ENDED: in
 * vats.terminated), and once cleaned up nothing of it is left (VAT_GONE:
 * no vat.name.<name>, no vN.options, and n below vat.nextID, so not a
 * vat the configuration adds).
 */
enum { VAT_LIVE, VAT_ENDED, VAT_GONE };

static bool
state_has(struct boot_sink *bs, const char *key)
{
	const void	*v;
	size_t		 len;

	return store_get(bs->st, STORE_KV, key, strlen(key), &v, &len) ==
	    STORE_OK;
}

static int
static_vat_fate(struct boot_sink *bs, const char *name, size_t n)
{
	json_t	*term, *x;
	char	 key[48], id[32], *next, *namekey = NULL;
	size_t	 i;
	int	 fate = VAT_LIVE;

	if (!bs->check)
		return VAT_LIVE;	/* the first start: nothing ended */
	term = kv_get_json(bs->st, "vats.terminated");
	next = kv_get(bs->st, "vat.nextID");
	snprintf(id, sizeof(id), "v%zu", n);
	json_array_foreach(term, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x), id) == 0)
			fate = VAT_ENDED;
	/* a name has no length limit: the key is made to size */
	if (fate == VAT_LIVE && asprintf(&namekey, "vat.name.%s", name) >= 0 &&
	    !state_has(bs, namekey)) {
		snprintf(key, sizeof(key), "%s.options", id);
		if (!state_has(bs, key) && next != NULL &&
		    n < strtoull(next, NULL, 10))
			fate = VAT_GONE;
	}
	free(namekey);
	json_decref(term);
	free(next);
	return fate;
}

static int
record_vat(struct boot_sink *st, const struct config *cfg, const char *name,
    size_t n)
{
	const struct config_vat	*v = find_vat(cfg, name);
	json_t			*opts, *params;
	char			 key[64], *namekey = NULL;
	int			 rc, fate;

	if (v == NULL)
		return STORE_ESTATE;
	opts = json_pack("{s:s, s:s}", "name", name, "managerType",
	    config_vat_manager_type(cfg, v));
	if (opts == NULL || json_object_update_missing(opts,
	    v->creation_options) == -1 || asprintf(&namekey, "vat.name.%s",
	    name) < 0) {
		json_decref(opts);
		return STORE_ENOMEM;
	}
	snprintf(key, sizeof(key), "v%zu", n);
	fate = static_vat_fate(st, name, n);
	rc = fate == VAT_LIVE ? sink_put_str(st, namekey, key) : STORE_OK;
	if (fate != VAT_LIVE) {
		free(namekey);
		json_decref(opts);
		return rc;
	}
	snprintf(key, sizeof(key), "v%zu.options", n);
	if (rc == STORE_OK)
		rc = sink_put_json(st, key, opts);
	/* no dirt yet (SwingSet's initializeVatState writes it so) */
	snprintf(key, sizeof(key), "v%zu.reapDirt", n);
	if (rc == STORE_OK)
		rc = sink_put_initial(st, key, "{}");
	snprintf(key, sizeof(key), "v%zu.vatParameters", n);
	params = capdata_data(v->parameters);
	if (rc == STORE_OK)
		rc = params ? sink_put_json(st, key, params) : STORE_ENOMEM;
	json_decref(params);
	snprintf(key, sizeof(key), "v%zu.source", n);
	if (rc == STORE_OK)
		rc = record_source(st, cfg, v, key);
	free(namekey);
	json_decref(opts);
	return rc;
}

/* device.name.<n> = dN in name order; dN.deviceParameters for the
 * configured ones, each of which must be one swingsetd implements
 * (daemon/devices/).  A configured device may not take the vatAdmin
 * name when the kernel provides that device. */
static int
record_devices(struct boot_sink *st, const struct config *cfg,
    const json_t *names)
{
	const struct config_vat	*dev;
	const char		*name;
	char			*key = NULL, id[64];
	size_t			 i;
	int			 rc = STORE_OK;

	if (find_vat(cfg, "vatAdmin") != NULL && find_entry(cfg->devices, cfg->ndevices, "vatAdmin")) {
		if (st->diff == NULL && asprintf(&st->diff, "devices.vatAdmin: "
		    "swingsetd provides the vatAdmin device itself (there is "
		    "a vatAdmin vat); remove it from the configuration") < 0)
			st->diff = NULL;
		return st->check ? STORE_OK : STORE_EINVAL;
	}
	/* a device swingsetd does not implement is refused, naming it:
	 * recording it and running without it would give vats a device
	 * that never answers */
	for (i = 0; i < cfg->ndevices; i++) {
		if (devices_native(cfg->devices[i].name))
			continue;
		if (st->diff == NULL && asprintf(&st->diff, "devices.%s: "
		    "swingsetd does not implement a device named '%s' (its "
		    "devices: %s, and vatAdmin, its own)", cfg->devices[i].name,
		    cfg->devices[i].name, devices_native_list()) < 0)
			st->diff = NULL;
		return st->check ? STORE_OK : STORE_EINVAL;
	}
	for (i = 0; rc == STORE_OK && i < json_array_size(names); i++) {
		name = json_string_value(json_array_get(names, i));
		if (asprintf(&key, "device.name.%s", name) < 0)
			return STORE_ENOMEM;
		snprintf(id, sizeof(id), "d%zu", i + FIRST_DEVICE_ID);
		rc = sink_put_str(st, key, id);
		free(key);
		snprintf(id, sizeof(id), "d%zu.deviceParameters",
		    i + FIRST_DEVICE_ID);
		if (rc == STORE_OK && (dev = find_entry(cfg->devices,
		    cfg->ndevices, name)) != NULL)
			rc = sink_put_json(st, id, dev->parameters);
	}
	if (rc == STORE_OK)
		rc = sink_put_fmt(st, "device.nextID", "%zu",
		    i + FIRST_DEVICE_ID);
	return rc;
}

/* A reap threshold: a number of deliveries or krefs, or "never". */
static json_t *
reap_limit(int64_t v)
{
	return v == CONFIG_NEVER ? json_string("never") :
	    json_integer((json_int_t)v);
}

/* SwingSet's kernel.defaultReapDirtThreshold, from defaultReapInterval
 * and defaultReapGCKrefs (computrons have no knob: "never"); and the
 * empty reap queue. */
static int
record_reap_threshold(struct boot_sink *st, const struct config *cfg)
{
	json_t	*t = json_pack("{s:o, s:o, s:s}", "deliveries",
		    reap_limit(cfg->default_reap_interval), "gcKrefs",
		    reap_limit(cfg->default_reap_gc_krefs), "computrons",
		    "never");
	int	 rc = t ? sink_put_json(st, "kernel.defaultReapDirtThreshold",
		    t) : STORE_ENOMEM;

	json_decref(t);
	return rc == STORE_OK ? sink_put_initial(st, "reapQueue", "[]") : rc;
}

static int
record_settings(struct boot_sink *st, const struct config *cfg)
{
	/* snapshotInitial and snapshotInterval are consensus, as in
	 * SwingSet: a heap snapshot and the restart from it change the
	 * computrons of later deliveries (XS collects garbage, liveslots
	 * then finalizes it in metered code), and computrons reach meters
	 * and run budgets (daemon/vats/snapshot.c). */
	int rc = sink_put_str(st, "kernel.defaultManagerType",
	    cfg->default_manager_type);

	if (rc == STORE_OK)
		rc = sink_put_fmt(st, "kernel.snapshotInitial", "%lld",
		    (long long)cfg->snapshot_initial);
	if (rc == STORE_OK)
		rc = sink_put_fmt(st, "kernel.snapshotInterval", "%lld",
		    (long long)cfg->snapshot_interval);

	if (rc == STORE_OK)
		rc = record_reap_threshold(st, cfg);
	if (rc == STORE_OK)
		rc = sink_put_str(st, "kernel.pinBootstrapRoot",
		    cfg->pin_bootstrap_root ? "true" : "false");
	/* liveslots' rules for what durable objects may hold: the vats'
	 * syscalls (and so the state) depend on them, so they are the
	 * kernel's, recorded once, as SwingSet's kernelKeeper records them */
	if (rc == STORE_OK)
		rc = sink_put_if(st, "kernel.relaxDurabilityRules",
		    cfg->relax_durability_rules ? "true" : NULL);
	/* a worker frame over the limit terminates the vat that sent it, so
	 * the limit decides state */
	if (rc == STORE_OK)
		rc = sink_put_fmt(st, "kernel.maxFrame", "%zu",
		    cfg->daemon.max_frame);
	/* the lockdown and supervisor every xsnap worker evaluates: a
	 * replay on other ones would not be the same vat (SwingSet records
	 * them in each vat's workerOptions) */
	if (rc == STORE_OK && st->p->xsnap_bundle_ids != NULL)
		rc = sink_put_json(st, "kernel.xsnapBundleIDs",
		    st->p->xsnap_bundle_ids);
	return rc;
}

/* vat.names: the configured static vats, in ID order; a later start
 * leaves out the ones terminated since (SwingSet forgets their names). */
static int
record_vat_names(struct boot_sink *st, const json_t *vats)
{
	json_t	*names = json_array();
	size_t	 i;
	int	 rc;

	for (i = 0; names != NULL && i < json_array_size(vats); i++)
		if (static_vat_fate(st, json_string_value(json_array_get(vats,
		    i)), i + 1) == VAT_LIVE)
			json_array_append(names, json_array_get(vats, i));
	rc = names ? sink_put_json(st, "vat.names", names) : STORE_ENOMEM;
	json_decref(names);
	return rc;
}

static int
boot_writes(struct boot_sink *st, const struct config *cfg)
{
	json_t	*vats = boot_vat_order(cfg), *devs = device_names(cfg);
	size_t	 i;
	int	 rc = STORE_ENOMEM;

	if (vats == NULL || devs == NULL)
		goto out;
	rc = record_settings(st, cfg);
	if (rc == STORE_OK)
		rc = record_vat_names(st, vats);
	if (rc == STORE_OK)
		rc = sink_put_initial(st, "vat.dynamicIDs", "[]");
	if (rc == STORE_OK)
		rc = sink_put_initial(st, "vats.terminated", "[]");
	for (i = 0; rc == STORE_OK && i < json_array_size(vats); i++)
		rc = record_vat(st, cfg, json_string_value(
		    json_array_get(vats, i)), i + 1);
	if (rc == STORE_OK) {
		char next[32];

		snprintf(next, sizeof(next), "%zu", i + 1);
		rc = sink_put_initial(st, "vat.nextID", next);
	}
	if (rc == STORE_OK)
		rc = sink_put_json(st, "device.names", devs);
	if (rc == STORE_OK)
		rc = record_devices(st, cfg, devs);
	if (rc == STORE_OK)
		rc = record_bundles(st, cfg);
	if (rc == STORE_OK && cfg->bootstrap != NULL)
		rc = sink_put_str(st, "kernel.bootstrapVat", "v1");
	if (rc == STORE_OK)
		rc = sink_put_str(st, "kernel.version", KERNEL_STATE_VERSION);
out:
	json_decref(vats);
	json_decref(devs);
	return rc;
}

static int
check_consistent(const struct kernel_params *p)
{
	struct boot_sink	 bs = { p, p->st, true, NULL };
	int			 rc = boot_writes(&bs, p->cfg);

	if (rc != STORE_OK) {
		log_error("kernel", "cannot compare the configuration with "
		    "the state: %s", store_strerror(rc));
		return -1;
	}
	if (bs.diff == NULL)
		return 0;
	log_error("kernel", "the configuration does not match the state in "
	    "%s: %s; refusing to start", p->state_dir, bs.diff);
	free(bs.diff);
	return -1;
}

/*
 * Called once at start with the store open.  Returns 0, or -1 after
 * logging why the daemon must not start.
 */
int
kernel_boot(const struct kernel_params *p)
{
	const struct config *cfg = p->cfg;
	struct boot_sink bs = { p, p->st, false, NULL };
	const void	*val;
	size_t		 len;
	int		 rc;

	rc = store_get(p->st, STORE_KV, "kernel.version", 14, &val, &len);
	if (rc == STORE_OK && (len != strlen(KERNEL_STATE_VERSION) ||
	    memcmp(val, KERNEL_STATE_VERSION, len) != 0)) {
		log_error("kernel", "%s holds state of version %.*s; this "
		    "swingsetd reads version %s only: start from an empty "
		    "state directory", p->state_dir, (int)(len > 16 ? 16 :
		    len), (const char *)val, KERNEL_STATE_VERSION);
		return -1;
	}
	if (rc == STORE_OK)
		return check_consistent(p);
	if (rc != STORE_NOTFOUND || (rc = store_crank_begin(p->st)) !=
	    STORE_OK)
		goto fail;
	if ((rc = boot_writes(&bs, cfg)) != STORE_OK) {
		store_crank_abort(p->st);
		if (bs.diff != NULL) {
			log_error("kernel", "first start: %s", bs.diff);
			free(bs.diff);
			return -1;
		}
		goto fail;
	}
	if ((rc = store_crank_commit(p->st)) != STORE_OK)
		goto fail;
	log_info("kernel", "first start: recorded %zu vats and %zu devices "
	    "in the open block", cfg->nvats, cfg->ndevices +
	    (find_vat(cfg, "vatAdmin") != NULL &&
	    find_entry(cfg->devices, cfg->ndevices,
	    "vatAdmin") == NULL));
	return 0;
fail:
	log_error("kernel", "first-start crank failed: %s: %s",
	    store_strerror(rc), store_errmsg(p->st));
	return -1;
}
