/* fuzz-auth-files.c: the FLOWD_TOKENS_FILE and FLOWD_TENANTS_FILE parsers
 * (server/auth/). The input is a tokens file, a NUL byte and a tenants file.
 * Both go through memfds, so the parsers read real files as in flowd. A
 * loaded configuration is then asked about a token and the tenants. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/auth/auth.h"

static int memfd_with(const char *name, const void *p, size_t n, char *path, size_t path_size)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (n && write(fd, p, n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t tok_len = nul ? (size_t)(nul - data) : size;
    char tok_path[64], ten_path[64], err[512];
    int tok_fd = memfd_with("tokens", data, tok_len, tok_path, sizeof(tok_path));
    int ten_fd = nul ? memfd_with("tenants", nul + 1, size - tok_len - 1, ten_path, sizeof(ten_path)) : -1;

    if (tok_fd < 0 || (nul && ten_fd < 0))
        abort();
    AuthConfig cfg = {.tokens_file = tok_path, .tenants_file = nul ? ten_path : NULL};
    Auth *a = NULL;
    if (auth_new(&cfg, &a, err, sizeof(err)) == 0) {
        AuthIdentity id;
        (void)auth_identify(a, "fwd_0000000000000000000000000000000000000000000000000000000000000000", &id);
        (void)auth_identify(a, "", &id);
        (void)auth_tenant_quota(a, "team-a");
        (void)auth_tenant_quota(a, "local");
        (void)auth_secret(a, "team-a", "OPENAI_API_KEY");
        auth_free(a);
    } else {
        /* The message must be a terminated string. */
        (void)strlen(err);
    }
    close(tok_fd);
    if (ten_fd >= 0)
        close(ten_fd);
    return 0;
}
