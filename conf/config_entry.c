/*
 * config_entry.c — the "vats", "bundles" and "devices" groups of the
 * configuration file: each entry's keys, its one source (sourceSpec,
 * bundleSpec, bundle or bundleName) and, for a vat, that a worker exists
 * for its manager type.  It fills struct config_vat; the key tables and
 * value checks it uses are config_keys.c's, the top-level walk that calls
 * it is config.c's.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "conf/config_impl.h"

/* ---- vats, bundles, devices ------------------------------------------- */

const char *
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

void
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
