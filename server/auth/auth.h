/* auth.h: who may do what (DESIGN.md §6). Bearer tokens are checked against
 * SHA-256 hashes in FLOWD_TOKENS_FILE; tenants and their quotas and allowed
 * secrets come from FLOWD_TENANTS_FILE; secret values come from
 * FLOWD_SECRETS_DIR or the server's environment and are scrubbed from
 * everything flowd writes; every RPC leaves a line in FLOWD_AUDIT_LOG.
 *
 * Files:
 *   tokens   one JSON object per line:
 *            {"sha256": "<hex>", "user": "alice", "tenant": "team-a",
 *             "roles": ["submitter"], "created": "2026-11-28T14:00:00Z"}
 *   tenants  {"tenants": {"team-a": {"max_concurrent_runs": 10,
 *             "max_queued_runs": 100, "max_running_nodes": 8,
 *             "max_memory_mb": 1024, "max_cpu_millis": 2000, "max_pids": 128,
 *             "max_timeout_seconds": 600, "secrets": ["OPENAI_API_KEY"]}}}
 */
#ifndef FLOWD_AUTH_H
#define FLOWD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/util/util.h"

typedef enum AuthRole {
    AUTH_ROLE_VIEWER,
    AUTH_ROLE_SUBMITTER,
    AUTH_ROLE_ADMIN,
    _AUTH_ROLE_MAX,
} AuthRole;

typedef struct AuthQuota {
    uint32_t max_concurrent_runs;
    uint32_t max_queued_runs;
    uint32_t max_running_nodes;
    uint32_t max_memory_mb;
    uint32_t max_cpu_millis;
    uint32_t max_pids;
    uint32_t max_timeout_s;
} AuthQuota;

typedef struct AuthIdentity {
    char user[128];
    char tenant[128];
    unsigned roles; /* bit set of 1 << AuthRole */
    AuthQuota quota;
} AuthIdentity;

typedef struct Auth Auth;

typedef struct AuthConfig {
    const char *tokens_file;  /* NULL: no authentication (FLOWD_AUTH=none) */
    const char *tenants_file; /* NULL: every tenant gets the default quota */
    const char *secrets_dir;  /* NULL: secrets come from the environment */
    const char *audit_log;    /* NULL: no audit log */
} AuthConfig;

/* Loads the files. Returns 0 or -errno with a message naming the file and
 * the line. */
int auth_new(const AuthConfig *cfg, Auth **ret, char *err, size_t err_size);
Auth *auth_free(Auth *a);

/* Resolves a bearer token: 0, -ENOENT without a token, -EACCES for an
 * unknown one. Without a tokens file every caller is the admin of tenant
 * "local". Thread-safe. */
int auth_identify(Auth *a, const char *token, AuthIdentity *ret);

/* The quota of a tenant, or NULL when it has none (no tenants file, or a
 * tenant the file does not list). */
const AuthQuota *auth_tenant_quota(const Auth *a, const char *tenant);

/* The value of a secret a node of tenant asks for, or NULL when the tenant
 * may not use it or it is not set. Thread-safe; the string is owned by a. */
const char *auth_secret(Auth *a, const char *tenant, const char *name);

/* Replaces every known secret value in s with "***". Returns a new string,
 * or NULL when s holds no secret. Thread-safe. */
char *auth_scrub(Auth *a, const char *s);

/* One audit line per RPC. Never holds secret values (scrubbed). */
typedef struct AuthAudit {
    const char *peer;
    const char *user;
    const char *tenant;
    const char *method;
    const char *run;
    const char *decision; /* "allow" or "deny" */
    const char *code;     /* the gRPC status name */
} AuthAudit;
void auth_audit(Auth *a, const AuthAudit *rec);

/* flowd token create: makes a token, appends its hash to the tokens file
 * and returns the token (printed once). */
int auth_token_create(const char *tokens_file, const char *user, const char *tenant, const char *roles_csv,
                      char **ret_token, char *err, size_t err_size);

const char *auth_role_name(AuthRole r);
int auth_role_from_name(const char *s, AuthRole *ret);

/* The shared instance the log scrubber uses (set by main). */
void auth_set_global(Auth *a);
char *auth_scrub_global(const char *s);

#endif
