/* switch: evaluates ordered cases against its inputs and outputs them with
 * "port" set to the first matching case's port, or to the default port.
 * The engine follows only the connections that carry that port. */
#include <string.h>

#include "server/nodes/node-internal.h"

#define SWITCH_MAX_PORT_LEN 64

static bool port_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SWITCH_MAX_PORT_LEN)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-' || *s == '.'))
            return false;
    return true;
}

static void check_port(const json_t *v, const char *path, Diags *d)
{
    if (!json_is_string(v) || !port_name_ok(json_string_value(v)))
        diags_add(d, path, "a port is a name of 1 to %d letters, digits, '_', '-' or '.'", SWITCH_MAX_PORT_LEN);
}

static void check_case(const json_t *cs, const json_t *cases, size_t i, const char *path, Diags *d)
{
    static const char *const keys[] = {"port", "when", NULL};
    char p[512];
    const json_t *port = json_object_get(cs, "port");

    if (!json_is_object(cs)) {
        diags_add(d, path, "a case is {\"port\": \"high\", \"when\": {\"field\": ..., \"op\": ..., \"value\": ...}}");
        return;
    }
    node_check_keys(cs, path, keys, d);
    check_port(port, node_subpath(p, sizeof(p), path, ".port"), d);
    for (size_t j = 0; json_is_string(port) && j < i; j++)
        if (json_equal((json_t *)port, json_object_get(json_array_get(cases, j), "port")))
            diags_add(d, p, "port \"%s\" is already used by case %zu; each case has its own port",
                      json_string_value(port), j);
    node_subpath(p, sizeof(p), path, ".when");
    if (!json_object_get(cs, "when"))
        diags_add(d, p, "a case needs a condition \"when\"");
    else
        node_cond_check(json_object_get(cs, "when"), p, d);
}

static void switch_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"cases", "default", NULL};
    const json_t *cases = json_object_get(config, "cases");
    char p[512];
    size_t i;
    json_t *cs;

    node_check_keys(config, path, keys, d);
    if (json_object_get(config, "default"))
        check_port(json_object_get(config, "default"), node_subpath(p, sizeof(p), path, ".default"), d);
    if (!json_is_array(cases) || json_array_size(cases) == 0 || json_array_size(cases) > NODE_MAX_FIELDS) {
        diags_add(d, node_subpath(p, sizeof(p), path, ".cases"),
                  "a switch node needs \"cases\": an array of 1 to %d {\"port\", \"when\"} objects", NODE_MAX_FIELDS);
        return;
    }
    json_array_foreach ((json_t *)cases, i, cs)
        check_case(cs, cases, i, node_subpath(p, sizeof(p), path, ".cases[%zu]", i), d);
}

static const char *default_port(const json_t *config)
{
    const char *def = json_string_value(json_object_get(config, "default"));
    return def ? def : "default";
}

static bool listed(const char *const *ports, size_t n, const char *port)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ports[i], port) == 0)
            return true;
    return false;
}

size_t nodes_switch_ports(const json_t *config, const char **ret, size_t max)
{
    const char *seen[NODE_MAX_FIELDS + 1];
    const json_t *cases = json_object_get(config, "cases");
    size_t n = 0, i;
    json_t *cs;

    json_array_foreach ((json_t *)cases, i, cs) {
        const char *port = json_string_value(json_object_get(cs, "port"));
        if (port && port_name_ok(port) && n < NODE_MAX_FIELDS && !listed(seen, n, port))
            seen[n++] = port;
    }
    if (port_name_ok(default_port(config)) && !listed(seen, n, default_port(config)))
        seen[n++] = default_port(config);
    for (i = 0; i < n && i < max; i++)
        ret[i] = seen[i];
    return n;
}

bool nodes_switch_has_port(const json_t *config, const char *port)
{
    const json_t *cases = json_object_get(config, "cases");
    size_t i;
    json_t *cs;

    if (!port || !port_name_ok(port))
        return false;
    if (strcmp(port, default_port(config)) == 0)
        return true;
    json_array_foreach ((json_t *)cases, i, cs)
        if (json_is_string(json_object_get(cs, "port")) &&
            strcmp(json_string_value(json_object_get(cs, "port")), port) == 0)
            return true;
    return false;
}

static int switch_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const json_t *cases = json_object_get(c->config, "cases");
    const char *port = default_port(c->config);
    size_t i;
    json_t *cs;

    (void)e;
    json_array_foreach ((json_t *)cases, i, cs)
        if (node_cond_eval(json_object_get(cs, "when"), c->inputs)) {
            port = json_string_value(json_object_get(cs, "port"));
            break;
        }
    json_t *out = json_copy((json_t *)c->inputs);
    json_object_set_new(out, "port", json_string(port));
    *ret = out;
    return 0;
}

static int switch_main(void) { return node_main(switch_run); }

const NodeKind node_kind_switch = {
    .name = "switch",
    .summary = "routes by ordered conditions: outputs its inputs plus \"port\" (a case's port or the default)",
    .check = switch_check,
    .builtin = switch_main,
    .profile = SBX_PROFILE_COMPUTE,
};
