/* Secrets: a node receives the secrets it names that its tenant may use.
 * Values come from FLOWD_SECRETS_DIR/NAME (a mounted Kubernetes Secret) or
 * from the server's environment, read once at start. Every value is scrubbed
 * from what flowd writes: events, outputs, logs, the audit log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth/auth-internal.h"

static Auth *global_auth;

static char *read_secret_file(const char *dir, const char *name)
{
    char path[4096];
    StrBuf b = {0};
    char buf[4096];
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_append(&b, buf, n);
    fclose(f);
    /* A trailing newline from `echo value > file` is not part of the value. */
    while (b.len > 0 && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == '\r'))
        b.s[--b.len] = '\0';
    return sb_take(&b);
}

static bool known(const Auth *a, const char *name)
{
    for (size_t i = 0; i < a->n_secrets; i++)
        if (strcmp(a->secrets[i].name, name) == 0)
            return true;
    return false;
}

static void load_one(Auth *a, const char *name)
{
    char *v = a->secrets_dir ? read_secret_file(a->secrets_dir, name) : NULL;
    if (!v && getenv(name))
        v = xstrdup(getenv(name));
    if (!v || !*v) {
        free(v);
        return;
    }
    a->secrets = xrealloc(a->secrets, (a->n_secrets + 1) * sizeof(AuthSecret));
    a->secrets[a->n_secrets++] = (AuthSecret){xstrdup(name), v};
}

void auth_load_secrets(Auth *a)
{
    for (size_t t = 0; t < a->n_tenants; t++)
        for (size_t k = 0; k < a->tenants[t].n_secrets; k++)
            if (!known(a, a->tenants[t].secrets[k]))
                load_one(a, a->tenants[t].secrets[k]);
}

static bool tenant_may(const Auth *a, const char *tenant, const char *name)
{
    const AuthTenant *t = auth_tenant_find(a, tenant);
    for (size_t k = 0; t && k < t->n_secrets; k++)
        if (strcmp(t->secrets[k], name) == 0)
            return true;
    return false;
}

const char *auth_secret(Auth *a, const char *tenant, const char *name)
{
    if (!a || !tenant_may(a, tenant, name))
        return NULL;
    for (size_t i = 0; i < a->n_secrets; i++)
        if (strcmp(a->secrets[i].name, name) == 0)
            return a->secrets[i].value;
    return NULL;
}

char *auth_scrub(Auth *a, const char *s)
{
    char *out = NULL;

    if (!a || !s)
        return NULL;
    for (size_t i = 0; i < a->n_secrets; i++) {
        const char *v = a->secrets[i].value, *cur = out ? out : s;
        size_t vlen = strlen(v);
        if (vlen < 4 || !strstr(cur, v))
            continue; /* very short values would scrub ordinary text */
        StrBuf b = {0};
        for (const char *p; (p = strstr(cur, v)); cur = p + vlen) {
            sb_append(&b, cur, (size_t)(p - cur));
            sb_puts(&b, "***");
        }
        sb_puts(&b, cur);
        free(out);
        out = sb_take(&b);
    }
    return out;
}

void auth_set_global(Auth *a) { global_auth = a; }

char *auth_scrub_global(const char *s) { return auth_scrub(global_auth, s); }
