/*
 * ctl_client.h — a blocking client for the control socket: connect, send
 * one request line, read its one response line.  Used by swingctl.
 */
#ifndef TOOLS_CTL_CLIENT_H
#define TOOLS_CTL_CLIENT_H

#include <stddef.h>

#include <jansson.h>

struct ctl_client {
	int	 fd;
	char	*buf;		/* bytes read past the last response */
	size_t	 len, cap;
	long	 next_id;
};

/* Result codes; messages go to the caller's errbuf. */
enum ctl_client_rc {
	CTL_CLIENT_OK = 0,
	CTL_CLIENT_NODAEMON = -1,	/* nothing answers on the socket */
	CTL_CLIENT_EIO = -2,		/* the conversation broke */
	CTL_CLIENT_EPROTO = -3,		/* the reply is not a response */
};

int	ctl_client_connect(struct ctl_client *c, const char *path,
	    char *errbuf, size_t errlen);

/*
 * Send op with [in] fields (stolen; NULL for none) and wait up to
 * timeout_ms for the response; *resp receives the whole response object
 * (new reference) on CTL_CLIENT_OK.
 */
int	ctl_client_call(struct ctl_client *c, const char *op, json_t *fields,
	    int timeout_ms, json_t **resp, char *errbuf, size_t errlen);

void	ctl_client_close(struct ctl_client *c);

#endif
