/* Authentication and authorization of calls (DESIGN.md §6): the bearer
 * token in the `authorization` metadata names a caller (user, tenant,
 * roles); each method needs a role. Deny by default. Without an auth
 * function (FLOWD_AUTH=none, local development) every caller is the admin
 * of the single "local" tenant. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/rpc/rpc-internal.h"

static const char *const role_names[_ROLE_MAX] = {
    [ROLE_NONE] = "none",
    [ROLE_VIEWER] = "viewer",
    [ROLE_SUBMITTER] = "submitter",
    [ROLE_ADMIN] = "admin",
};

const char *rpc_role_name(RpcRole r) { return r >= 0 && r < _ROLE_MAX ? role_names[r] : "?"; }

/* Roles are cumulative: an admin may do what a submitter may, and so on. */
bool rpc_caller_has(const RpcCaller *who, RpcRole role)
{
    if (role == ROLE_NONE)
        return true;
    for (int r = role; r < _ROLE_MAX; r++)
        if (who->roles & (1u << r))
            return true;
    return false;
}

/* Copies the bearer token out of the metadata; NULL when absent. */
static char *bearer_token(const grpc_metadata_array *md, bool *ret_malformed)
{
    *ret_malformed = false;
    for (size_t i = 0; i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, "authorization") != 0)
            continue;
        char *v = grpc_slice_to_c_string(md->metadata[i].value);
        char *token = NULL;
        if (strncasecmp(v, "Bearer ", 7) == 0 && v[7])
            token = strdup(v + 7);
        else
            *ret_malformed = true;
        gpr_free(v);
        return token;
    }
    return NULL;
}

static void local_caller(RpcCaller *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->user, sizeof(c->user), "local");
    snprintf(c->tenant, sizeof(c->tenant), "local");
    c->roles = 1u << ROLE_ADMIN;
}

bool rpc_authorize(RpcCall *c)
{
    const RpcConfig *cfg = &c->srv->cfg;
    bool malformed;

    if (!cfg->auth) {
        local_caller(&c->caller);
        c->authenticated = true;
    } else {
        char *token = bearer_token(&c->md, &malformed);
        int r = malformed ? -EACCES : cfg->auth(token, &c->caller, cfg->auth_userdata);
        free(token);
        if (r < 0 && c->def->role != ROLE_NONE) {
            rpc_fail(c, GRPC_STATUS_UNAUTHENTICATED,
                     malformed ? "the authorization metadata must be \"Bearer <token>\""
                     : r == -ENOENT
                         ? "no token: send \"authorization: Bearer <token>\" (flowctl: --token or FLOWD_TOKEN)"
                         : "the token is not valid; ask an admin for a token made with `flowd token create`");
            return false;
        }
        c->authenticated = r == 0;
    }
    if (!rpc_caller_has(&c->caller, c->def->role)) {
        rpc_fail(c, GRPC_STATUS_PERMISSION_DENIED, "%s needs the %s role; user %s has not got it", c->def->name,
                 rpc_role_name(c->def->role), c->caller.user);
        return false;
    }
    c->caller.quota.user = c->caller.user;
    c->caller.quota.tenant = c->caller.tenant;
    return true;
}
