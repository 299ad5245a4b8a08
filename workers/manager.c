/*
 * manager.c — what differs between worker kinds, and nothing else: the
 * command line each is started with, the boot commands sent before
 * setBundle, and whether it has heap snapshots.  Everything after the
 * ready handshake is the same code path (vatworker.c) for every kind.
 *
 *   testworker   <command…> <vatID>:<name> [-l LIMIT]; no boot commands;
 *                no heap snapshots
 *   xsnap        <xsnap-worker…> <vatID>:<name> [-r @8:<vatID>-<pos>]
 *                [-l LIMIT] (SwingSet's order); boot: the lockdown bundle,
 *                then the supervisor bundle, each evaluated with 'e' (the
 *                commands come from the daemon, which reads the bundles
 *                once: spec->boot) — none when restoring from a snapshot
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/vatworker.h"

struct manager {
	const char	*type;
	json_t		*(*boot)(const struct vatworker_spec *);
	bool		 snapshots;	/* fd 7, `w@7`, `-r @8:…` */
};

static json_t *
testworker_boot(const struct vatworker_spec *spec)
{
	(void)spec;
	return json_array();
}

static json_t *
xsnap_boot(const struct vatworker_spec *spec)
{
	return spec->restore ? json_array() : json_incref(spec->boot);
}

static const struct manager managers[] = {
	{ "testworker", testworker_boot, false },
	{ "xsnap", xsnap_boot, true },
};

static const struct manager *
manager_find(const char *type)
{
	for (size_t i = 0; i < sizeof(managers) / sizeof(managers[0]); i++)
		if (strcmp(managers[i].type, type) == 0)
			return &managers[i];
	return NULL;
}

bool
manager_snapshots(const char *type)
{
	const struct manager *m = type ? manager_find(type) : NULL;

	return m != NULL && m->snapshots;
}

void
manager_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

static char *
fmt(const char *f, const char *a, const char *b)
{
	char *s = NULL;

	return asprintf(&s, f, a, b) < 0 ? NULL : s;
}

/* "@8:<vatID>-<pos>": the snapshot's label (the worker ignores it). */
static char *
restore_arg(const struct vatworker_spec *spec)
{
	char pos[32];

	snprintf(pos, sizeof(pos), "%llu",
	    (unsigned long long)spec->restore_pos);
	return fmt("@8:%s-%s", spec->vat_id, pos);
}

/* command… label [-r @8:…] [-l limit], all copied; the array is
 * NULL-terminated and every slot up to the first failure is valid. */
static char **
build_argv(const struct vatworker_spec *spec)
{
	size_t	 n = json_array_size(spec->command), i;
	char	**argv = calloc(n + 6, sizeof(char *)), limit[32];
	bool	 ok = argv != NULL;

	for (i = 0; ok && i < n; i++)
		ok = (argv[i] = strdup(json_string_value(
		    json_array_get(spec->command, i)))) != NULL;
	if (ok)
		ok = (argv[i++] = fmt("%s:%s", spec->vat_id,
		    spec->vat_name ? spec->vat_name : "")) != NULL;
	if (ok && spec->restore)
		ok = (argv[i++] = strdup("-r")) != NULL &&
		    (argv[i++] = restore_arg(spec)) != NULL;
	if (ok && spec->compute_limit > 0) {
		snprintf(limit, sizeof(limit), "%llu",
		    (unsigned long long)spec->compute_limit);
		ok = (argv[i++] = strdup("-l")) != NULL &&
		    (argv[i++] = strdup(limit)) != NULL;
	}
	if (!ok) {
		manager_argv_free(argv);
		return NULL;
	}
	return argv;
}

int
manager_prepare(const struct vatworker_spec *spec, char ***argv,
    json_t **boot, char *errbuf, size_t errlen)
{
	const struct manager *m = manager_find(spec->manager_type);

	*argv = NULL;
	*boot = NULL;
	if (m == NULL) {
		snprintf(errbuf, errlen, "no worker for manager type '%s'",
		    spec->manager_type);
		return -1;
	}
	if (json_array_size(spec->command) == 0) {
		snprintf(errbuf, errlen, "no command configured for manager "
		    "type '%s'", spec->manager_type);
		return -1;
	}
	if (spec->restore && !m->snapshots) {
		snprintf(errbuf, errlen, "manager type '%s' has no heap "
		    "snapshots", m->type);
		return -1;
	}
	if (strcmp(m->type, "xsnap") == 0 && spec->boot == NULL &&
	    !spec->restore) {
		snprintf(errbuf, errlen, "the xsnap lockdown and supervisor "
		    "bundles were not loaded");
		return -1;
	}
	if ((*argv = build_argv(spec)) == NULL ||
	    (*boot = m->boot(spec)) == NULL) {
		manager_argv_free(*argv);
		*argv = NULL;
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	return 0;
}
