/*
 * config_dump.c — config_dump: a loaded config back as JSON, every key
 * with its effective value (defaults filled in, paths absolute), the
 * unsupported keys as given.  It walks the key tables of config_keys.c
 * and checks nothing.
 */
#include <stdint.h>

#include "conf/config.h"
#include "conf/config_impl.h"

/* ---- config_dump ------------------------------------------------------ */

static json_t *
conf_dump_ids(const struct config_ids *ids)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < ids->n; i++)
		if (json_array_append_new(a, json_integer(ids->v[i])) == -1) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

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
	case CT_IDS:
		return conf_dump_ids(f);
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
