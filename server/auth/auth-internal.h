/* auth-internal.h: the loaded tokens, tenants and secrets. Read-only after
 * auth_new except the audit log, which has its own lock. */
#ifndef FLOWD_AUTH_INTERNAL_H
#define FLOWD_AUTH_INTERNAL_H

#include <pthread.h>
#include <stdio.h>

#include "server/auth/auth.h"
#include "server/util/strmap.h"

typedef struct AuthToken {
    char sha256[65];
    char user[128];
    char tenant[128];
    unsigned roles;
} AuthToken;

typedef struct AuthTenant {
    char *name;
    AuthQuota quota;
    char **secrets;
    size_t n_secrets;
} AuthTenant;

typedef struct AuthSecret {
    char *name;
    char *value;
} AuthSecret;

struct Auth {
    bool enabled;
    AuthToken *tokens;
    size_t n_tokens;
    StrMap token_index; /* sha256 hex -> index */
    AuthTenant *tenants;
    size_t n_tenants;
    bool have_tenants_file;
    AuthSecret *secrets; /* values of every secret some tenant may use */
    size_t n_secrets;
    char *secrets_dir;
    FILE *audit;
    pthread_mutex_t audit_mu;
    unsigned audit_unsynced;
    uint64_t audit_last_sync;
};

void auth_sha256_hex(const char *s, char out[65]);
const AuthTenant *auth_tenant_find(const Auth *a, const char *name);
int auth_load_tokens(Auth *a, const char *path, char *err, size_t size);
int auth_load_tenants(Auth *a, const char *path, char *err, size_t size);
void auth_load_secrets(Auth *a);
int auth_audit_open(Auth *a, const char *path, char *err, size_t size);
void auth_audit_close(Auth *a);

#endif
