/*
 * log.c — the one logger: a line per event on stderr, prefixed with UTC
 * time, level and subsystem.  Lines are written with a single write(2) so
 * that concurrent writers (daemon and workers sharing a journal) do not
 * interleave within a line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol/log.h"

static enum log_level	 log_min = LOG_LVL_INFO;
static const char	*log_prog = "swingsetd";

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_init(enum log_level level, const char *progname)
{
	log_min = level;
	if (progname != NULL)
		log_prog = progname;
}

enum log_level
log_level_get(void)
{
	return log_min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	    i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Control characters in a message become \xNN: messages quote peers'
 * bytes (field names, worker output), which must not forge log lines or
 * drive a terminal.  Returns a malloc'd copy, or NULL.
 */
static char *
escape_controls(const char *msg)
{
	size_t	 n = 0;
	char	*out, *p;

	for (const char *s = msg; *s != '\0'; s++)
		n += ((unsigned char)*s < 0x20 || *s == 0x7f) ? 4 : 1;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (p = out; *msg != '\0'; msg++) {
		unsigned char c = (unsigned char)*msg;

		if (c < 0x20 || c == 0x7f)
			p += sprintf(p, "\\x%02x", c);
		else
			*p++ = (char)c;
	}
	*p = '\0';
	return out;
}

static void
vlog(enum log_level lvl, const char *sub, const char *suffix,
    const char *fmt, va_list ap)
{
	char		 stamp[40];
	struct timespec	 ts;
	struct tm	 tm;
	char		*raw = NULL, *msg = NULL, *line = NULL;
	int		 saved = errno, n;

	if (lvl < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (vasprintf(&raw, fmt, ap) < 0)
		raw = NULL;
	msg = raw != NULL ? escape_controls(raw) : NULL;
	free(raw);
	n = asprintf(&line, "%s.%03ldZ %s %s: %s%s%s\n", stamp,
	    ts.tv_nsec / 1000000, level_names[lvl], sub,
	    msg != NULL ? msg : fmt, suffix != NULL ? ": " : "",
	    suffix != NULL ? suffix : "");
	if (n > 0) {
		ssize_t off = 0;
		while (off < n) {
			ssize_t w = write(STDERR_FILENO, line + off,
			    (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += w;
		}
	}
	free(line);
	free(msg);
	errno = saved;
}

#define LOG_BODY(lvl, suffix) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	vlog((lvl), sub, (suffix), fmt, ap);	\
	va_end(ap);				\
} while (0)

void
log_debug(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, NULL);
}

void
log_info(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, NULL);
}

void
log_warn(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, strerror(errno));
}

void
log_warnx(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, NULL);
}

void
log_error(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, NULL);
}

void
fatal(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, strerror(errno));
	exit(EXIT_SYSTEM);
}

void
fatalx(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, NULL);
	exit(EXIT_SYSTEM);
}
