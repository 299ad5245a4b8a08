/*
 * config_impl.h — private to conf/: the shape of a key table row, the
 * state of one parse, and the functions and tables the config*.c files
 * share, grouped by the file that defines them.  Nothing outside conf/
 * includes it; conf/config.h is the contract.
 */
#ifndef CONF_CONFIG_IMPL_H
#define CONF_CONFIG_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "conf/config.h"

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
	CT_IDS,		/* struct config_ids field; def = CONF_IDS_* */
};

/* Defaults of a CT_IDS key, resolved when the file is loaded. */
#define CONF_IDS_SELF_ROOT	1	/* geteuid() and 0 */
#define CONF_IDS_SELF_GROUP	2	/* getegid() */

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

#define NKEYS(t)	(sizeof(t) / sizeof((t)[0]))

/* The state of one config_load/config_parse. */
struct conf_ctx {
	struct config		*cfg;
	struct config_errors	*errs;
	size_t			 nerr;	/* errors added by this call */
	bool			 nomem;	/* an allocation failed */
	char			*cwd;
};

/* config.c: errors */
void	 conf_error(struct conf_ctx *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * config_keys.c: the key tables.  Their sizes are spelled out so that the
 * other files can take NKEYS() of them; config_keys.c defines
 * CONF_KEYS_DEFINED to hide these declarations, so that its unsized
 * definitions count their own rows, and checks each count against these.
 */
#define CONF_NTOP_KEYS		15
#define CONF_NDAEMON_KEYS	20
#define CONF_NENTRY_KEYS	8
#define CONF_NCOPT_KEYS		11
#ifndef CONF_KEYS_DEFINED
extern const struct conf_key	conf_top_keys[CONF_NTOP_KEYS];
extern const struct conf_key	conf_daemon_keys[CONF_NDAEMON_KEYS];
extern const struct conf_key	conf_entry_keys[CONF_NENTRY_KEYS];
extern const struct conf_key	conf_copt_keys[CONF_NCOPT_KEYS];
#endif
extern const char *const	conf_managers[];

/* config_keys.c: small helpers */
char	*conf_strdup(struct conf_ctx *, const char *);
char	*conf_path(struct conf_ctx *, const char *, const char *);
bool	 conf_in_list(const char *const *, const char *);
void	 conf_note_unsupported(struct conf_ctx *, const char *);
char	*conf_abspath(struct conf_ctx *, const char *, const char *);
void	 conf_unknown(struct conf_ctx *, const char *, const char *,
	    const struct conf_key *, size_t, unsigned);
const struct conf_key *conf_find(const struct conf_key *, size_t,
	    const char *);
const char *conf_manager_canon(const char *);
const char **conf_sorted_keys(struct conf_ctx *, json_t *);

/* config_keys.c: scalar values */
void	 conf_check(struct conf_ctx *, const char *, json_t *,
	    const struct conf_key *);
void	 conf_set_default(struct conf_ctx *, void *, const struct conf_key *);
void	 conf_set(struct conf_ctx *, void *, const char *, json_t *,
	    const struct conf_key *);

/* config_entry.c: vats, bundles, devices */
const char *conf_group_name(unsigned);
void	 conf_group(struct conf_ctx *, json_t *, unsigned,
	    struct config_vat **, size_t *);

#endif /* CONF_CONFIG_IMPL_H */
