/*
 * swingctl.c — the status and block-producer client for swingsetd.
 *
 *   swingctl [--socket PATH] [--json] [--timeout MS] status
 *   swingctl [--socket PATH] [--json] commit HEIGHT
 *   swingctl [--socket PATH] [--json] shutdown
 *   swingctl [--socket PATH] [--json] queue (--vat NAME | --target KREF)
 *	METHOD [ARGS]
 *   swingctl [--socket PATH] [--json] run [--cranks N] [--computrons N]
 *	[--now T] [--cleanup true|false|BUDGET]
 *   swingctl [--socket PATH] [--json] poll T
 *   swingctl [--socket PATH] [--json] mailbox deliver PEER MESSAGES ACK
 *   swingctl [--socket PATH] [--json] mailbox outbox
 *   swingctl [--socket PATH] [--json] bridge send SRCID JSON
 *   swingctl [--socket PATH] [--json] promise [--release] KPID
 *   swingctl [--socket PATH] [--json] bundle install FILE
 *   swingctl [--socket PATH] [--json] terminate (--vat NAME | --id VATID)
 *	[REASON]
 *   swingctl [--socket PATH] [--json] reap
 *
 * Global options come before the command, the command's own after its
 * name; --json may also come last.  ARGS is capdata, {"body","slots"}, or
 * a JSON array of plain data that swingctl encodes as smallcaps.  REASON
 * is capdata without slots, or text that becomes an Error with that
 * message (default "terminated by the operator").
 * The socket defaults to $SWINGSET_SOCKET, else ./var/control.sock.
 * Exit codes: 0 done; 1 the daemon answered with an error; 64 usage;
 * 66 FILE cannot be read or is not a JSON object; 69 no daemon answers;
 * 70 the conversation broke or made no sense.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/capdata.h"
#include "protocol/smallcaps.h"
#include "tools/ctl_client.h"
#include "tools/ctl_output.h"

static const char *
nz(const char *s)
{
	return s != NULL ? s : "?";
}

#define EX_DAEMON_SAID_NO	1
#define EX_USAGE		64
#define EX_NOINPUT		66
#define EX_UNAVAILABLE		69
#define EX_SOFTWARE		70

/* A command's options: getopt_long() returns these as its val. */
enum cmd_opt {
	OPT_NONE,
	OPT_JSON,
	OPT_VAT,
	OPT_TARGET,
	OPT_CRANKS,
	OPT_COMPUTRONS,
	OPT_NOW,
	OPT_CLEANUP,
	OPT_RELEASE,
	OPT_ID,
	OPT_MAX
};

/* What follows the command name, once its options are taken out. */
struct cmd_args {
	char		**argv;			/* operands */
	int		  argc;
	const char	 *opt[OPT_MAX];		/* option values, or NULL */
};

struct cmd {
	const char	*name;
	const char	*sub;		/* the word after name, or NULL */
	const char	*op;		/* the control op it sends */
	int		 minargs, maxargs;	/* operands after options */
	const char	*usage;
	const struct option *opts;	/* the command's options, or NULL */
	/* ok: 1 fine, 0 a usage error, -1 an input file is unusable */
	json_t		*(*fields)(const struct cmd_args *, int *ok);
	void		(*print)(const struct ctl_output *, json_t *result);
};

static const struct option queue_opts[] = {
	{ "vat",	required_argument,	NULL, OPT_VAT },
	{ "target",	required_argument,	NULL, OPT_TARGET },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 }
};

static const struct option run_opts[] = {
	{ "cranks",	required_argument,	NULL, OPT_CRANKS },
	{ "computrons",	required_argument,	NULL, OPT_COMPUTRONS },
	{ "now",	required_argument,	NULL, OPT_NOW },
	{ "cleanup",	required_argument,	NULL, OPT_CLEANUP },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 }
};

static const struct option promise_opts[] = {
	{ "release",	no_argument,		NULL, OPT_RELEASE },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 }
};

static const struct option terminate_opts[] = {
	{ "vat",	required_argument,	NULL, OPT_VAT },
	{ "id",		required_argument,	NULL, OPT_ID },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 }
};

/* s as an integer in [min, INT64_MAX], for the daemon's json_int_t. */
static int
parse_count(const char *s, unsigned long long min, json_int_t *out)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || s[0] < '0' || s[0] > '9' ||
	    v < min || v > INT64_MAX)
		return -1;
	*out = (json_int_t)v;
	return 0;
}

static json_t *
no_fields(const struct cmd_args *a, int *ok)
{
	(void)a;
	*ok = 1;
	return NULL;
}

static json_t *
commit_fields(const struct cmd_args *a, int *ok)
{
	json_int_t	 h;

	*ok = parse_count(a->argv[0], 0, &h) == 0;
	if (!*ok) {
		fprintf(stderr, "swingctl: commit: HEIGHT must be a "
		    "non-negative integer, not '%s'\n", a->argv[0]);
		return NULL;
	}
	return json_pack("{s:I}", "height", h);
}

/*
 * ARGS on the command line: capdata as is (the daemon checks it), or an
 * array of plain data made into {"body":"#[…]","slots":[]}.  Object keys
 * are sorted so that equal arguments make equal bodies.
 */
static json_t *
queue_args(const char *text)
{
	json_error_t	 jerr;
	json_t		*v, *enc, *capdata = NULL;
	char		*body = NULL, *hashed = NULL;

	if ((v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fprintf(stderr, "swingctl: queue: ARGS is not a JSON array "
		    "or object: %s\n", jerr.text);
		return NULL;
	}
	if (json_is_object(v))
		return v;
	if ((enc = smallcaps_plain(v)) != NULL)
		body = json_dumps(enc, JSON_COMPACT | JSON_SORT_KEYS);
	if (body != NULL && asprintf(&hashed, "#%s", body) == -1)
		hashed = NULL;	/* asprintf leaves it undefined */
	if (hashed != NULL)
		capdata = json_pack("{s:s, s:[]}", "body", hashed, "slots");
	if (capdata == NULL)
		fprintf(stderr, "swingctl: queue: out of memory\n");
	free(hashed);
	free(body);
	json_decref(enc);
	json_decref(v);
	return capdata;
}

static json_t *
queue_fields(const struct cmd_args *a, int *ok)
{
	const char	*vat = a->opt[OPT_VAT], *target = a->opt[OPT_TARGET];
	json_t		*fields, *args = NULL;

	*ok = 0;
	if ((vat == NULL) == (target == NULL)) {
		fprintf(stderr, "swingctl: queue: give one of --vat NAME and "
		    "--target KREF\n");
		return NULL;
	}
	if (a->argc == 2 && (args = queue_args(a->argv[1])) == NULL)
		return NULL;
	fields = json_pack("{s:s, s:s}", vat != NULL ? "vat" : "target",
	    vat != NULL ? vat : target, "method", a->argv[0]);
	if (fields == NULL) {
		fprintf(stderr, "swingctl: queue: NAME, KREF and METHOD must "
		    "be UTF-8\n");
		json_decref(args);
		return NULL;
	}
	if (args != NULL && json_object_set_new(fields, "args", args) == -1) {
		fprintf(stderr, "swingctl: queue: out of memory\n");
		json_decref(fields);
		return NULL;
	}
	*ok = 1;
	return fields;
}

/* One budget option into budget, or a usage message. */
static int
run_budget(json_t *budget, const char *opt, const char *key)
{
	json_int_t	 n;

	if (opt == NULL)
		return 0;
	if (parse_count(opt, 1, &n) == -1) {
		fprintf(stderr, "swingctl: run: --%s must be a positive "
		    "integer, not '%s'\n", key, opt);
		return -1;
	}
	if (json_object_set_new(budget, key, json_integer(n)) == -1) {
		fprintf(stderr, "swingctl: run: out of memory\n");
		return -1;
	}
	return 0;
}

/*
 * A time T for the timer device: decimal digits, at most 2^64-1, sent
 * as a JSON integer, or as its digits past 2^63-1.
 */
static json_t *
time_value(const char *cmd, const char *s)
{
	unsigned long long	 v;
	char			*end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || s[0] < '0' || s[0] > '9') {
		fprintf(stderr, "swingctl: %s: the time must be a non-negative "
		    "integer below 2^64, not '%s'\n", cmd, s);
		return NULL;
	}
	return v > INT64_MAX ? json_string(s) : json_integer((json_int_t)v);
}

static json_t *
run_fields(const struct cmd_args *a, int *ok)
{
	json_t	*budget, *fields, *now = NULL;

	*ok = 0;
	if (a->opt[OPT_NOW] != NULL && (now = time_value("run --now",
	    a->opt[OPT_NOW])) == NULL)
		return NULL;
	if ((budget = json_object()) == NULL ||
	    run_budget(budget, a->opt[OPT_CRANKS], "cranks") == -1 ||
	    run_budget(budget, a->opt[OPT_COMPUTRONS], "computrons") == -1 ||
	    (fields = json_object()) == NULL) {
		json_decref(budget);
		json_decref(now);
		return NULL;
	}
	if (a->opt[OPT_CLEANUP] != NULL) {
		/* true, false or a budget object: the daemon checks it */
		json_t *c = json_loads(a->opt[OPT_CLEANUP], JSON_DECODE_ANY,
		    NULL);

		if (c == NULL) {
			fprintf(stderr, "swingctl: run --cleanup: not JSON "
			    "(true, false or {\"default\": N, …})\n");
			json_decref(budget);
			json_decref(now);
			json_decref(fields);
			return NULL;
		}
		json_object_set_new(fields, "cleanup", c);
	}
	*ok = 1;
	if (now != NULL)
		json_object_set_new(fields, "now", now);
	if (json_object_size(budget) > 0)
		json_object_set_new(fields, "budget", budget);
	else
		json_decref(budget);	/* no budget: until idle */
	if (json_object_size(fields) == 0) {
		json_decref(fields);
		return NULL;
	}
	return fields;
}

/* mailbox deliver PEER MESSAGES ACK: MESSAGES a JSON array of
 * [msgnum, body]; the daemon checks it. */
static json_t *
mailbox_fields(const struct cmd_args *a, int *ok)
{
	json_error_t	 jerr;
	json_t		*msgs;
	json_int_t	 ack;

	*ok = 0;
	if ((msgs = json_loads(a->argv[1], JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_array(msgs)) {
		fprintf(stderr, "swingctl: mailbox deliver: MESSAGES must be a "
		    "JSON array of [msgnum, body]%s%s\n", msgs ? "" : ": ",
		    msgs ? "" : jerr.text);
		json_decref(msgs);
		return NULL;
	}
	if (parse_count(a->argv[2], 0, &ack) == -1) {
		fprintf(stderr, "swingctl: mailbox deliver: ACK must be a "
		    "non-negative integer, not '%s'\n", a->argv[2]);
		json_decref(msgs);
		return NULL;
	}
	*ok = 1;
	return json_pack("{s:s, s:o, s:I}", "peer", a->argv[0], "messages",
	    msgs, "ack", ack);
}

/* bridge send SRCID JSON: the bridge's deliverInbound(SRCID, JSON). */
static json_t *
bridge_fields(const struct cmd_args *a, int *ok)
{
	json_error_t	 jerr;
	json_t		*obj;

	*ok = 0;
	if ((obj = json_loads(a->argv[1], JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fprintf(stderr, "swingctl: bridge send: JSON must be a JSON "
		    "value: %s\n", jerr.text);
		return NULL;
	}
	*ok = 1;
	return json_pack("{s:s, s:o}", "srcID", a->argv[0], "obj", obj);
}

/* poll T: the timer device's poll(T). */
static json_t *
poll_fields(const struct cmd_args *a, int *ok)
{
	json_t *now = time_value("poll", a->argv[0]);

	*ok = now != NULL;
	return now ? json_pack("{s:o}", "now", now) : NULL;
}

static json_t *
promise_fields(const struct cmd_args *a, int *ok)
{
	json_t	*fields = json_pack("{s:s}", "kpid", a->argv[0]);

	/* --release: the host lets go of its result after reading it */
	if (fields != NULL && a->opt[OPT_RELEASE] != NULL)
		json_object_set_new(fields, "release", json_true());
	*ok = fields != NULL;
	if (!*ok)
		fprintf(stderr, "swingctl: promise: KPID must be UTF-8\n");
	return fields;
}

/* bundle install FILE: the bundle, as the file has it. */
static json_t *
bundle_fields(const struct cmd_args *a, int *ok)
{
	json_error_t	 jerr;
	json_t		*bundle, *fields;

	*ok = 0;
	if (strcmp(a->argv[0], "install") != 0) {
		fprintf(stderr, "swingctl: bundle: unknown subcommand '%s'\n",
		    a->argv[0]);
		return NULL;
	}
	*ok = -1;
	bundle = json_load_file(a->argv[1], JSON_REJECT_DUPLICATES, &jerr);
	if (bundle == NULL) {
		fprintf(stderr, "swingctl: bundle install: %s: %s\n",
		    a->argv[1], jerr.text);
		return NULL;
	}
	if (!json_is_object(bundle)) {
		fprintf(stderr, "swingctl: bundle install: %s: not a JSON "
		    "object\n", a->argv[1]);
		json_decref(bundle);
		return NULL;
	}
	if ((fields = json_pack("{s:o}", "bundle", bundle)) == NULL)
		fprintf(stderr, "swingctl: bundle install: out of memory\n");
	else
		*ok = 1;
	return fields;
}

/* REASON: capdata as given, or text made an Error's message. */
static json_t *
terminate_reason(const char *text)
{
	json_t *cd = json_loads(text, JSON_REJECT_DUPLICATES, NULL);

	if (json_is_object(cd))
		return cd;
	json_decref(cd);
	return capdata_error(text);
}

/* terminate (--vat NAME | --id VATID) [REASON] */
static json_t *
terminate_fields(const struct cmd_args *a, int *ok)
{
	const char	*vat = a->opt[OPT_VAT], *id = a->opt[OPT_ID];
	json_t		*fields, *reason;

	*ok = 0;
	if ((vat == NULL) == (id == NULL)) {
		fprintf(stderr, "swingctl: terminate: give one of --vat NAME "
		    "and --id VATID\n");
		return NULL;
	}
	reason = terminate_reason(a->argc == 1 ? a->argv[0] :
	    "terminated by the operator");
	fields = reason ? json_pack("{s:s, s:o}", vat ? "vat" : "vatID",
	    vat ? vat : id, "reason", reason) : NULL;
	if (fields == NULL)
		fprintf(stderr, "swingctl: terminate: NAME, VATID and REASON "
		    "must be UTF-8\n");
	else
		*ok = 1;
	return fields;
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

static void
print_queue(const struct ctl_output *o, json_t *r)
{
	o->queue(stdout, r);
}

static void
print_run(const struct ctl_output *o, json_t *r)
{
	o->run(stdout, r);
}

static void
print_promise(const struct ctl_output *o, json_t *r)
{
	o->promise(stdout, r);
}

static void
print_bundle(const struct ctl_output *o, json_t *r)
{
	o->bundle(stdout, r);
}

static void
print_poll(const struct ctl_output *o, json_t *r)
{
	o->poll(stdout, r);
}

static void
print_mailbox(const struct ctl_output *o, json_t *r)
{
	o->mailbox(stdout, r);
}

static void
print_terminate(const struct ctl_output *o, json_t *r)
{
	o->terminate(stdout, r);
}

static void
print_reap(const struct ctl_output *o, json_t *r)
{
	o->reap(stdout, r);
}

static const struct cmd commands[] = {
	{ "status", NULL, "status", 0, 0, "status", NULL, no_fields, print_status },
	{ "reap", NULL, "reapAllVats", 0, 0, "reap", NULL, no_fields,
	    print_reap },
	{ "commit", NULL, "commit", 1, 1, "commit HEIGHT", NULL, commit_fields,
	    print_commit },
	{ "shutdown", NULL, "shutdown", 0, 0, "shutdown", NULL, no_fields,
	    print_shutdown },
	{ "queue", NULL, "queue", 1, 2,
	    "queue (--vat NAME | --target KREF) METHOD [ARGS]", queue_opts,
	    queue_fields, print_queue },
	{ "run", NULL, "run", 0, 0, "run [--cranks N] [--computrons N] [--now T] [--cleanup C]",
	    run_opts, run_fields, print_run },
	{ "poll", NULL, "poll", 1, 1, "poll T", NULL, poll_fields, print_poll },
	{ "promise", NULL, "promise", 1, 1, "promise [--release] KPID",
	    promise_opts, promise_fields, print_promise },
	{ "bundle", NULL, "installBundle", 2, 2, "bundle install FILE", NULL,
	    bundle_fields, print_bundle },
	{ "mailbox", "deliver", "mailboxDeliver", 3, 3,
	    "mailbox deliver PEER MESSAGES ACK", NULL, mailbox_fields,
	    print_mailbox },
	{ "mailbox", "outbox", "mailboxOutbox", 0, 0, "mailbox outbox", NULL,
	    no_fields, print_mailbox },
	{ "bridge", "send", "bridgeInbound", 2, 2, "bridge send SRCID JSON",
	    NULL, bridge_fields, print_mailbox },
	{ "terminate", NULL, "terminateVat", 0, 1,
	    "terminate (--vat NAME | --id VATID) [REASON]", terminate_opts,
	    terminate_fields, print_terminate },
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

/*
 * Take cmd's options out of argv (argv[0] is the command name) into a,
 * leaving its operands.  Commands without options take their operands as
 * they come, so that `commit -1` is a bad height, not a bad option.
 * Returns -1 on a usage error.
 */
static int
parse_cmd_args(const struct cmd *cmd, int argc, char **argv,
    struct cmd_args *a, const struct ctl_output **out)
{
	static char	 prog[64];	/* getopt's messages name it */
	int		 ch;

	memset(a, 0, sizeof(*a));
	if (cmd->opts != NULL) {
		(void)snprintf(prog, sizeof(prog), "swingctl %s", cmd->name);
		argv[0] = prog;
		optind = 0;	/* glibc: start afresh, on this argv */
		while ((ch = getopt_long(argc, argv, "+", cmd->opts, NULL))
		    != -1) {
			if (ch <= OPT_NONE || ch >= OPT_MAX)
				return -1;
			if (ch == OPT_JSON)
				*out = &ctl_output_json;
			a->opt[ch] = optarg ? optarg : "";	/* "": a flag */
		}
	} else
		optind = 1;
	argv += optind;
	argc -= optind;
	/* --json may also come last: status --json */
	if (argc > cmd->minargs && strcmp(argv[argc - 1], "--json") == 0) {
		*out = &ctl_output_json;
		argc--;
	}
	if (argc < cmd->minargs || argc > cmd->maxargs)
		return -1;
	a->argv = argv;
	a->argc = argc;
	return 0;
}

static int
run(const struct cmd *cmd, const struct cmd_args *args, const char *path,
    int timeout, const struct ctl_output *out)
{
	struct ctl_client	 c;
	json_t			*fields, *resp = NULL;
	char			 err[512];
	int			 ok, rc;

	fields = cmd->fields(args, &ok);
	if (ok != 1)
		return ok == 0 ? EX_USAGE : EX_NOINPUT;
	rc = ctl_client_connect(&c, path, err, sizeof(err));
	if (rc == CTL_CLIENT_OK)
		rc = ctl_client_call(&c, cmd->op, fields, timeout, &resp,
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
		struct cmd_args a;

		int sub = cmd->sub != NULL;

		if (strcmp(argv[optind], cmd->name) != 0 || (sub &&
		    (optind + 1 >= argc || strcmp(argv[optind + 1], cmd->sub)
		    != 0)))
			continue;
		if (parse_cmd_args(cmd, argc - optind - sub, argv + optind +
		    sub, &a, &out) == -1)
			usage();
		return run(cmd, &a, path, timeout, out);
	}
	fprintf(stderr, "swingctl: unknown command '%s'\n", argv[optind]);
	usage();
}
