/*
 * log.h — one line per event on stderr: "<UTC time> <level> <subsystem>:
 * <message>".  Shared by the daemon and its worker code.  log_warn()
 * appends strerror(errno) and preserves errno; log_warnx() does not.
 * fatal()/fatalx() log and exit(EXIT_SYSTEM) — for start-up and broken
 * invariants only, never for a peer's bytes.
 */
#ifndef PROTOCOL_LOG_H
#define PROTOCOL_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Exit codes of swingsetd (documented in README). */
#define EXIT_OK		0	/* clean shutdown */
#define EXIT_USAGE	64	/* bad command line */
#define EXIT_CONFIG	78	/* configuration invalid */
#define EXIT_INUSE	75	/* state dir locked or socket answered */
#define EXIT_SYSTEM	71	/* a system call or the store failed */

void	log_init(enum log_level level, const char *progname);
int	log_level_parse(const char *s, enum log_level *out);
enum log_level log_level_get(void);

void	log_debug(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_info(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warn(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warnx(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_error(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	fatal(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatalx(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
