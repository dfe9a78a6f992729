/* Tenants: quotas and the secrets their nodes may receive. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "server/auth/auth-internal.h"

static const struct {
    const char *key;
    size_t offset;
} quota_keys[] = {
    {"max_concurrent_runs", offsetof(AuthQuota, max_concurrent_runs)},
    {"max_queued_runs", offsetof(AuthQuota, max_queued_runs)},
    {"max_running_nodes", offsetof(AuthQuota, max_running_nodes)},
    {"max_memory_mb", offsetof(AuthQuota, max_memory_mb)},
    {"max_cpu_millis", offsetof(AuthQuota, max_cpu_millis)},
    {"max_pids", offsetof(AuthQuota, max_pids)},
    {"max_timeout_seconds", offsetof(AuthQuota, max_timeout_s)},
};

const AuthTenant *auth_tenant_find(const Auth *a, const char *name)
{
    for (size_t i = 0; i < a->n_tenants; i++)
        if (strcmp(a->tenants[i].name, name) == 0)
            return &a->tenants[i];
    return NULL;
}

static int parse_quota(const json_t *obj, AuthQuota *q, const char *tenant, char *err, size_t size)
{
    const char *key;
    json_t *val;

    json_object_foreach ((json_t *)obj, key, val) {
        if (strcmp(key, "secrets") == 0)
            continue;
        size_t k = 0;
        while (k < ELEMENTSOF(quota_keys) && strcmp(quota_keys[k].key, key) != 0)
            k++;
        if (k == ELEMENTSOF(quota_keys) || !json_is_integer(val) || json_integer_value(val) < 0 ||
            json_integer_value(val) > UINT32_MAX) {
            snprintf(err, size, "tenant \"%s\": \"%s\" is not a known quota with a whole number >= 0", tenant, key);
            return -EINVAL;
        }
        *(uint32_t *)((char *)q + quota_keys[k].offset) = (uint32_t)json_integer_value(val);
    }
    return 0;
}

static int parse_secrets(const json_t *list, AuthTenant *t, char *err, size_t size)
{
    size_t i;
    json_t *s;

    if (!list)
        return 0;
    if (!json_is_array(list)) {
        snprintf(err, size, "tenant \"%s\": \"secrets\" must be a list of names", t->name);
        return -EINVAL;
    }
    t->secrets = xcalloc(json_array_size(list), sizeof(char *));
    json_array_foreach (list, i, s) {
        if (!json_is_string(s)) {
            snprintf(err, size, "tenant \"%s\": secrets[%zu] is not a name", t->name, i);
            return -EINVAL;
        }
        t->secrets[t->n_secrets++] = xstrdup(json_string_value(s));
    }
    return 0;
}

int auth_load_tenants(Auth *a, const char *path, char *err, size_t size)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    const json_t *tenants = json_object_get(root, "tenants");
    const char *name;
    json_t *val;
    int r = 0;

    if (!root) {
        snprintf(err, size, "FLOWD_TENANTS_FILE %s: %s (line %d, column %d)", path, jerr.text, jerr.line, jerr.column);
        return -EINVAL;
    }
    if (!json_is_object(tenants)) {
        snprintf(err, size, "FLOWD_TENANTS_FILE %s: expected {\"tenants\": {\"NAME\": {quotas...}}}", path);
        json_decref(root);
        return -EINVAL;
    }
    a->have_tenants_file = true;
    a->tenants = xcalloc(json_object_size(tenants), sizeof(AuthTenant));
    json_object_foreach ((json_t *)tenants, name, val) {
        AuthTenant *t = &a->tenants[a->n_tenants++];
        t->name = xstrdup(name);
        if (!json_is_object(val)) {
            snprintf(err, size, "FLOWD_TENANTS_FILE %s: tenant \"%s\" must be an object", path, name);
            r = -EINVAL;
        }
        if (r == 0)
            r = parse_quota(val, &t->quota, name, err, size);
        if (r == 0)
            r = parse_secrets(json_object_get(val, "secrets"), t, err, size);
        if (r < 0)
            break;
    }
    json_decref(root);
    return r;
}

const AuthQuota *auth_tenant_quota(const Auth *a, const char *tenant)
{
    const AuthTenant *t = a ? auth_tenant_find(a, tenant) : NULL;
    return t ? &t->quota : NULL;
}
