/*
 * swingctl.c — the status and block-producer client for swingsetd.
 *
 *   swingctl [--socket PATH] [--json] [--timeout MS] status
 *   swingctl [--socket PATH] [--json] commit HEIGHT
 *   swingctl [--socket PATH] [--json] shutdown
 *
 * The socket defaults to $SWINGSET_SOCKET, else ./var/control.sock.
 * Exit codes: 0 done; 1 the daemon answered with an error; 64 usage;
 * 69 no daemon answers; 70 the conversation broke or made no sense.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ctl_client.h"
#include "tools/ctl_output.h"

static const char *
nz(const char *s)
{
	return s != NULL ? s : "?";
}

#define EX_DAEMON_SAID_NO	1
#define EX_USAGE		64
#define EX_UNAVAILABLE		69
#define EX_SOFTWARE		70

struct cmd {
	const char	*name;
	int		 nargs;		/* exact number of operands */
	const char	*usage;
	json_t		*(*fields)(char **args, int *ok);
	void		(*print)(const struct ctl_output *, json_t *result);
};

static json_t *
no_fields(char **args, int *ok)
{
	(void)args;
	*ok = 1;
	return NULL;
}

static json_t *
commit_fields(char **args, int *ok)
{
	char		*end;
	unsigned long long h;

	errno = 0;
	h = strtoull(args[0], &end, 10);
	*ok = errno == 0 && *end == '\0' && args[0][0] >= '0' &&
	    args[0][0] <= '9' && h <= INT64_MAX;
	if (!*ok) {
		fprintf(stderr, "swingctl: commit: HEIGHT must be a "
		    "non-negative integer, not '%s'\n", args[0]);
		return NULL;
	}
	return json_pack("{s:I}", "height", (json_int_t)h);
}

static void
print_status(const struct ctl_output *o, json_t *r)
{
	o->status(stdout, r);
}

static void
print_commit(const struct ctl_output *o, json_t *r)
{
	o->commit(stdout, r);
}

static void
print_shutdown(const struct ctl_output *o, json_t *r)
{
	o->shutdown(stdout, r);
}

static const struct cmd commands[] = {
	{ "status", 0, "status", no_fields, print_status },
	{ "commit", 1, "commit HEIGHT", commit_fields, print_commit },
	{ "shutdown", 0, "shutdown", no_fields, print_shutdown },
};

/* Milliseconds, 1 to INT_MAX; anything else is a usage error (0). */
static int
parse_timeout(const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v <= 0 || v > INT_MAX) {
		fprintf(stderr, "swingctl: --timeout: '%s' is not a number "
		    "of milliseconds\n", s);
		return 0;
	}
	return (int)v;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: swingctl [--socket PATH] [--json] "
	    "[--timeout MS] COMMAND\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  %s\n", commands[i].usage);
	exit(EX_USAGE);
}

static int
report_error(json_t *resp)
{
	json_t *err = json_object_get(resp, "error");

	fprintf(stderr, "swingctl: the daemon refused: %s: %s\n",
	    nz(json_string_value(json_object_get(err, "code"))),
	    nz(json_string_value(json_object_get(err, "message"))));
	return EX_DAEMON_SAID_NO;
}

static int
run(const struct cmd *cmd, char **args, const char *path, int timeout,
    const struct ctl_output *out)
{
	struct ctl_client	 c;
	json_t			*fields, *resp = NULL;
	char			 err[512];
	int			 ok, rc;

	fields = cmd->fields(args, &ok);
	if (!ok)
		return EX_USAGE;
	rc = ctl_client_connect(&c, path, err, sizeof(err));
	if (rc == CTL_CLIENT_OK)
		rc = ctl_client_call(&c, cmd->name, fields, timeout, &resp,
		    err, sizeof(err));
	else
		json_decref(fields);
	ctl_client_close(&c);
	if (rc != CTL_CLIENT_OK) {
		fprintf(stderr, "swingctl: %s\n", err);
		return rc == CTL_CLIENT_NODAEMON ? EX_UNAVAILABLE : EX_SOFTWARE;
	}
	if (json_is_true(json_object_get(resp, "ok"))) {
		cmd->print(out, json_object_get(resp, "result"));
		rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : EX_SOFTWARE;
		if (rc != 0)
			fprintf(stderr, "swingctl: writing the output: %s\n",
			    strerror(errno));
	} else
		rc = report_error(resp);
	json_decref(resp);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",  required_argument, NULL, 's' },
		{ "json",    no_argument,	NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help",    no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct ctl_output	*out = &ctl_output_text;
	const char		*path = getenv("SWINGSET_SOCKET");
	int			 ch, timeout = 60000;

	if (path == NULL || *path == '\0')
		path = "./var/control.sock";
	while ((ch = getopt_long(argc, argv, "+s:jt:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': path = optarg; break;
		case 'j': out = &ctl_output_json; break;
		case 't': timeout = parse_timeout(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || timeout <= 0)
		usage();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct cmd *cmd = &commands[i];
		char **rest = argv + optind + 1;
		int nrest = argc - optind - 1;

		if (strcmp(argv[optind], cmd->name) != 0)
			continue;
		/* --json may also follow the command: status --json */
		if (nrest > cmd->nargs && strcmp(rest[nrest - 1], "--json")
		    == 0) {
			out = &ctl_output_json;
			nrest--;
		}
		if (nrest != cmd->nargs)
			usage();
		return run(cmd, rest, path, timeout, out);
	}
	fprintf(stderr, "swingctl: unknown command '%s'\n", argv[optind]);
	usage();
}
