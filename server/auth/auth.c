/* Tokens and identities. A token is 32 random bytes, printed once as
 * "fwd_" + 64 hex digits; only its SHA-256 is kept. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "server/auth/auth-internal.h"

static const char *const role_names[_AUTH_ROLE_MAX] = {
    [AUTH_ROLE_VIEWER] = "viewer",
    [AUTH_ROLE_SUBMITTER] = "submitter",
    [AUTH_ROLE_ADMIN] = "admin",
};

const char *auth_role_name(AuthRole r) { return r >= 0 && r < _AUTH_ROLE_MAX ? role_names[r] : "?"; }

int auth_role_from_name(const char *s, AuthRole *ret)
{
    for (int i = 0; i < _AUTH_ROLE_MAX; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *ret = (AuthRole)i;
            return 0;
        }
    return -EINVAL;
}

void auth_sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;

    EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int parse_roles(const json_t *roles, unsigned *ret)
{
    size_t i;
    json_t *r;
    AuthRole role;

    *ret = 0;
    if (!json_is_array(roles) || json_array_size(roles) == 0)
        return -EINVAL;
    json_array_foreach (roles, i, r) {
        if (!json_is_string(r) || auth_role_from_name(json_string_value(r), &role) < 0)
            return -EINVAL;
        *ret |= 1u << role;
    }
    return 0;
}

static int parse_token_line(const char *line, AuthToken *t)
{
    json_t *j = json_loads(line, 0, NULL);
    const char *sha = json_string_value(json_object_get(j, "sha256"));
    const char *user = json_string_value(json_object_get(j, "user"));
    const char *tenant = json_string_value(json_object_get(j, "tenant"));
    int r = -EINVAL;

    if (sha && strlen(sha) == 64 && user && *user && tenant && *tenant &&
        parse_roles(json_object_get(j, "roles"), &t->roles) == 0) {
        snprintf(t->sha256, sizeof(t->sha256), "%s", sha);
        snprintf(t->user, sizeof(t->user), "%s", user);
        snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
        r = 0;
    }
    json_decref(j);
    return r;
}

int auth_load_tokens(Auth *a, const char *path, char *err, size_t size)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0, lineno = 0, alloc = 0;

    if (!f) {
        snprintf(err, size, "cannot read FLOWD_TOKENS_FILE %s: %s; make one with `flowd token create`", path,
                 strerror(errno));
        return -errno;
    }
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0' || line[0] == '#')
            continue;
        if (a->n_tokens == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            a->tokens = xrealloc(a->tokens, alloc * sizeof(AuthToken));
        }
        if (parse_token_line(line, &a->tokens[a->n_tokens]) < 0) {
            snprintf(err, size,
                     "%s line %zu: expected {\"sha256\": 64 hex digits, \"user\", \"tenant\", \"roles\": [viewer|"
                     "submitter|admin]}",
                     path, lineno);
            free(line);
            fclose(f);
            return -EINVAL;
        }
        a->n_tokens++;
    }
    free(line);
    fclose(f);
    strmap_init(&a->token_index, a->n_tokens);
    for (size_t i = 0; i < a->n_tokens; i++)
        strmap_put(&a->token_index, a->tokens[i].sha256, (uint32_t)i);
    return 0;
}

static void quota_for(const Auth *a, const char *tenant, AuthQuota *ret)
{
    const AuthTenant *t = auth_tenant_find(a, tenant);
    *ret = t ? t->quota : (AuthQuota){0};
}

int auth_identify(Auth *a, const char *token, AuthIdentity *ret)
{
    char sha[65];
    uint32_t i;

    memset(ret, 0, sizeof(*ret));
    if (!a || !a->enabled) {
        snprintf(ret->user, sizeof(ret->user), "local");
        snprintf(ret->tenant, sizeof(ret->tenant), "local");
        ret->roles = 1u << AUTH_ROLE_ADMIN;
        if (a)
            quota_for(a, "local", &ret->quota);
        return 0;
    }
    if (!token || !*token)
        return -ENOENT;
    auth_sha256_hex(token, sha);
    if (!strmap_get(&a->token_index, sha, &i))
        return -EACCES;
    const AuthToken *t = &a->tokens[i];
    snprintf(ret->user, sizeof(ret->user), "%s", t->user);
    snprintf(ret->tenant, sizeof(ret->tenant), "%s", t->tenant);
    ret->roles = t->roles;
    quota_for(a, t->tenant, &ret->quota);
    return 0;
}

int auth_new(const AuthConfig *cfg, Auth **ret, char *err, size_t size)
{
    Auth *a = xcalloc(1, sizeof(Auth));
    int r = 0;

    pthread_mutex_init(&a->audit_mu, NULL);
    a->enabled = cfg->tokens_file != NULL;
    a->secrets_dir = xstrdup(cfg->secrets_dir);
    if (a->enabled)
        r = auth_load_tokens(a, cfg->tokens_file, err, size);
    if (r == 0 && cfg->tenants_file)
        r = auth_load_tenants(a, cfg->tenants_file, err, size);
    if (r == 0 && cfg->audit_log)
        r = auth_audit_open(a, cfg->audit_log, err, size);
    if (r < 0) {
        auth_free(a);
        return r;
    }
    auth_load_secrets(a);
    *ret = a;
    return 0;
}

Auth *auth_free(Auth *a)
{
    if (!a)
        return NULL;
    auth_audit_close(a);
    for (size_t i = 0; i < a->n_tenants; i++) {
        free(a->tenants[i].name);
        for (size_t k = 0; k < a->tenants[i].n_secrets; k++)
            free(a->tenants[i].secrets[k]);
        free(a->tenants[i].secrets);
    }
    for (size_t i = 0; i < a->n_secrets; i++) {
        explicit_bzero(a->secrets[i].value, strlen(a->secrets[i].value));
        free(a->secrets[i].name);
        free(a->secrets[i].value);
    }
    free(a->secrets);
    free(a->tenants);
    free(a->tokens);
    free(a->secrets_dir);
    strmap_free(&a->token_index);
    pthread_mutex_destroy(&a->audit_mu);
    free(a);
    return NULL;
}

static int check_roles_csv(const char *csv, char *err, size_t size)
{
    _cleanup_free_ char *copy = xstrdup(csv);
    char *save = NULL;
    AuthRole role;

    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (auth_role_from_name(tok, &role) < 0) {
            snprintf(err, size, "unknown role \"%s\": use viewer, submitter or admin", tok);
            return -EINVAL;
        }
    return 0;
}

static char *token_line(const char *sha, const char *user, const char *tenant, const char *csv)
{
    json_t *roles = json_array();
    _cleanup_free_ char *copy = xstrdup(csv);
    char *save = NULL, when[32];
    time_t now = time(NULL);
    struct tm tm;

    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        json_array_append_new(roles, json_string(tok));
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:s}", "sha256", sha, "user", user, "tenant", tenant, "roles", roles,
                          "created", when);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

int auth_token_create(const char *tokens_file, const char *user, const char *tenant, const char *roles_csv,
                      char **ret_token, char *err, size_t size)
{
    unsigned char raw[32];
    char token[4 + 64 + 1], sha[65];

    if (!user || !*user || !tenant || !*tenant || !roles_csv || !*roles_csv) {
        snprintf(err, size, "--user, --tenant and --role are required");
        return -EINVAL;
    }
    if (check_roles_csv(roles_csv, err, size) < 0)
        return -EINVAL;
    if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
        snprintf(err, size, "no randomness: %s", strerror(errno));
        return -EIO;
    }
    memcpy(token, "fwd_", 4);
    for (int i = 0; i < 32; i++)
        snprintf(token + 4 + 2 * i, 3, "%02x", raw[i]);
    auth_sha256_hex(token, sha);
    _cleanup_free_ char *line = token_line(sha, user, tenant, roles_csv);
    int fd = open(tokens_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, size, "cannot write %s: %s", tokens_file, strerror(errno));
        return -errno;
    }
    dprintf(fd, "%s\n", line);
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    if (r < 0) {
        snprintf(err, size, "cannot sync %s: %s", tokens_file, strerror(-r));
        return r;
    }
    *ret_token = xstrdup(token);
    return 0;
}
