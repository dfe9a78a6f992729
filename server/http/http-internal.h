/* http-internal.h: shared between the HTTP module's files. */
#ifndef FLOWD_HTTP_INTERNAL_H
#define FLOWD_HTTP_INTERNAL_H

#include <stddef.h>

#include "server/http/http.h"

/* Makes a bound, listening, non-blocking, close-on-exec socket for addr
 * (see HttpConfig.listen). Returns 0 with the fd and the bound port (0 for
 * unix sockets), or -errno with a message in err. */
int http_listen(const char *addr, int *ret_fd, int *ret_port, char *err, size_t err_size);

#endif
