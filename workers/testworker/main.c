/*
 * main.c — bin/testworker's entry point: the command line and the xsnap
 * command loop (worker-protocol.md §1–§3, §6, §8).
 *
 * It owns the one-byte command tags and the exit codes; what a `?`
 * request means belongs to supervisor.c, the bytes on the pipes to
 * pipe.c.  Commands: `?` (supervisor request), `e` (accepted, evaluates
 * nothing), `R`, `q`; `w` fails like a snapshot that cannot be written;
 * anything else is a protocol error.  Only exits with code 0 free their
 * memory first; the others leave at once with _exit(), as xsnap does.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers/testworker/testworker.h"

static const char	*main_label;	/* the first non-flag argument */
static int		 main_threw;	/* the last `e`/`?` replied `!` */

static void		 main_usage(void) __attribute__((noreturn));
static void		 main_args(int, char **);
static void		 main_sigpipe(int);
static void		 main_exit(void) __attribute__((noreturn));
static void		 main_command(const unsigned char *, size_t);
static void		 main_request(const unsigned char *, size_t);

void
tw_fatal(int code, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "%s: ", main_label ? main_label : "testworker");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(code);
}

static void
main_usage(void)
{
	fprintf(stderr, "usage: testworker label [-l limit] [-i n] [-s kB]"
	    " [-p] [-v] [-h]\n");
	exit(TW_EXIT_USAGE);
}

/* The flags of xsnap-worker; a non-dash argument is a label. */
static void
main_args(int argc, char **argv)
{
	int	 i;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-') {
			if (main_label == NULL)
				main_label = argv[i];
			continue;
		}
		if (strcmp(argv[i], "-l") == 0 && i + 1 < argc) {
			meter_set_limit((uint64_t)(unsigned)atoi(argv[++i]));
		} else if (strcmp(argv[i], "-D") == 0 && i + 1 < argc) {
			if (supervisor_set_delay(argv[++i]) == -1)
				main_usage();
		} else if ((strcmp(argv[i], "-i") == 0 ||
		    strcmp(argv[i], "-s") == 0) && i + 1 < argc) {
			i++;
		} else if (strcmp(argv[i], "-r") == 0) {
			tw_fatal(TW_EXIT_IO, "cannot read snapshot %s:"
			    " testworker has no heap snapshots",
			    i + 1 < argc ? argv[i + 1] : "");
		} else if (strcmp(argv[i], "-p") == 0) {
			continue;
		} else if (strcmp(argv[i], "-v") == 0) {
			printf("testworker (xsnap protocol, swingsetd)\n");
			exit(TW_EXIT_OK);
		} else if (strcmp(argv[i], "-n") == 0) {
			printf("deprecated\n");
			exit(TW_EXIT_OK);
		} else if (strcmp(argv[i], "-h") == 0) {
			main_usage();
		} else
			main_usage();
	}
}

static void
main_sigpipe(int sig)
{
	static const char msg[] = "Caught SIGPIPE. Has parent died?\n";
	ssize_t	 n;

	(void)sig;
	n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
	_exit(TW_EXIT_IO);
}

/* `q` or EOF between commands: xsnap exits 15 when the last evaluation
 * threw, 0 otherwise. */
static void
main_exit(void)
{
	int	 code = main_threw ? TW_EXIT_UNHANDLED : TW_EXIT_OK;

	supervisor_clear();
	pipe_clear();
	exit(code);
}

static void
main_request(const unsigned char *payload, size_t len)
{
	char	*out = NULL, *meter;
	int	 rc;

	meter_begin();
	rc = supervisor_handle(payload, len, &out);
	if (rc == -1) {
		main_threw = 1;
		if (pipe_write('!', out, strlen(out), NULL, 0) == -1)
			tw_fatal(TW_EXIT_IO, "cannot write reply");
	} else {
		main_threw = 0;
		if ((meter = meter_render(supervisor_live())) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		if (pipe_write('.', meter, strlen(meter), out,
		    strlen(out)) == -1)
			tw_fatal(TW_EXIT_IO, "cannot write reply");
		free(meter);
	}
	free(out);
}

static void
main_command(const unsigned char *frame, size_t len)
{
	char	*meter;

	switch (frame[0]) {
	case '?':
		main_request(frame + 1, len - 1);
		break;
	case 'e':
		/* No JavaScript here: evaluating is a no-op with a meter. */
		meter_begin();
		main_threw = 0;
		if ((meter = meter_render(supervisor_live())) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		if (pipe_write('.', meter, strlen(meter), "", 0) == -1)
			tw_fatal(TW_EXIT_IO, "cannot write reply");
		free(meter);
		break;
	case 'R':
		if (pipe_write('.', NULL, 0, NULL, 0) == -1)
			tw_fatal(TW_EXIT_IO, "cannot write reply");
		break;
	case 'q':
		main_exit();
	case 'w':
		tw_fatal(TW_EXIT_IO, "cannot write snapshot %.*s:"
		    " testworker has no heap snapshots",
		    (int)(len > 65 ? 64 : len - 1), (const char *)frame + 1);
	default:
		tw_fatal(TW_EXIT_IO, "Unexpected prefix '%c' (0x%02x)",
		    frame[0] >= 0x20 && frame[0] < 0x7f ? frame[0] : '?',
		    frame[0]);
	}
}

int
main(int argc, char **argv)
{
	const unsigned char	*frame;
	unsigned char		*copy;
	size_t			 len;
	int			 rc;

	main_args(argc, argv);
	if (signal(SIGPIPE, main_sigpipe) == SIG_ERR)
		tw_fatal(TW_EXIT_IO, "signal: %s", strerror(errno));
	if (pipe_init() == -1)
		tw_fatal(TW_EXIT_IO, "fd 3 and fd 4 must be open: %s",
		    strerror(errno));
	for (;;) {
		if ((rc = pipe_read(&frame, &len)) == 0)
			main_exit();
		/* Upcalls read the pipe again: keep the command apart. */
		if ((copy = malloc(len + 1)) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory (%zu bytes)", len);
		memcpy(copy, frame, len);
		copy[len] = '\0';
		main_command(copy, len);
		free(copy);
	}
}
