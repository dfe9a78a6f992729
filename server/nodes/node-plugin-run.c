/* The plugin runner: what a plugin attempt runs in flowd-node ("flowd-node
 * --flowd-plugin-node <dir>/<name>.so", node-plugin.c says why there). It
 * dlopen()s the library in that fresh, confined process, calls its run()
 * once with the node's config and inputs and writes what it produced as the
 * attempt's output. A file of its own so that the static flowd-zygote,
 * which never loads code, does not link dlopen. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <flowd/node.h>

#include "server/nodes/node-internal.h"

#define PLUGIN_OUTPUT_MAX (64u << 20)

typedef struct PluginHost {
    FlowdNodeOutput api;
    StrBuf out;
    bool overflow;
    char *fail_type;
    char *fail_message;
} PluginHost;

static int host_write(FlowdNodeOutput *o, const char *data, size_t len)
{
    PluginHost *h = o->host;
    if (h->overflow || h->out.len + len > PLUGIN_OUTPUT_MAX) {
        h->overflow = true;
        return -1;
    }
    sb_append(&h->out, data, len);
    return 0;
}

static void host_fail(FlowdNodeOutput *o, const char *type, const char *message)
{
    PluginHost *h = o->host;
    free(h->fail_type);
    free(h->fail_message);
    h->fail_type = xstrdup(type && *type ? type : "PluginError");
    h->fail_message = xstrdup(message ? message : "");
}

static void host_progress(FlowdNodeOutput *o, double fraction, const char *message)
{
    (void)o;
    node_progress(fraction, message);
}

static const FlowdNodeV1 *load(const char *path, char **ret_why)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        *ret_why = xasprintf("cannot load %s: %s", path, dlerror());
        return NULL;
    }
    FlowdNodeEntryV1 entry = (FlowdNodeEntryV1)dlsym(h, FLOWD_NODE_ENTRY_V1);
    const FlowdNodeV1 *p = entry ? entry() : NULL;
    if (!entry)
        *ret_why = xasprintf("%s does not export %s()", path, FLOWD_NODE_ENTRY_V1);
    else if (!p || p->abi_version != FLOWD_NODE_ABI_VERSION || p->struct_size < sizeof(FlowdNodeV1) || !p->run)
        *ret_why = xasprintf("%s: %s() returned no valid version %d description (abi_version %u)", path,
                             FLOWD_NODE_ENTRY_V1, FLOWD_NODE_ABI_VERSION, p ? p->abi_version : 0);
    else
        return p;
    return NULL;
}

static int finish_run(const FlowdNodeV1 *p, PluginHost *h, int rc)
{
    json_error_t jerr;

    if (rc != 0 || h->fail_type)
        return node_fail(h->fail_type ? h->fail_type : "PluginError", "%s",
                         h->fail_message ? h->fail_message : "the plugin failed without saying why");
    if (h->overflow)
        return node_fail("InvalidOutput", "plugin %s wrote more than %u bytes of output", p->name ? p->name : "",
                         PLUGIN_OUTPUT_MAX);
    json_t *v = json_loadb(h->out.s ? h->out.s : "", h->out.len, 0, &jerr);
    if (!json_is_object(v)) {
        json_decref(v);
        return node_fail("InvalidOutput", "plugin %s: the output is not a JSON object%s%s", p->name ? p->name : "",
                         v ? "" : ": ", v ? "" : jerr.text);
    }
    int r = node_write_output(v);
    json_decref(v);
    return r < 0 ? 1 : 0;
}

int node_plugin_runner(const char *path)
{
    json_t *env = NULL;
    char *why = NULL;

    if (node_read_envelope(&env) < 0)
        return node_fail("InvalidInput", "the input envelope is not a JSON object");
    const FlowdNodeV1 *p = load(path, &why);
    if (!p)
        return node_fail("PluginError", "%s", why);
    const json_t *config = json_object_get(env, "config"), *inputs = json_object_get(env, "inputs");
    char *cfg = json_dumps(config ? config : json_object(), JSON_COMPACT);
    char *in = json_dumps(inputs ? inputs : json_object(), JSON_COMPACT);
    const char *node = json_string_value(json_object_get(env, "node"));
    FlowdNodeRequest req = {
        .struct_size = sizeof(req),
        .attempt = (uint32_t)json_integer_value(json_object_get(env, "attempt")),
        .node_id = node ? node : "",
        .config_json = cfg ? cfg : "{}",
        .config_len = cfg ? strlen(cfg) : 2,
        .inputs_json = in ? in : "{}",
        .inputs_len = in ? strlen(in) : 2,
    };
    PluginHost h = {
        .api = {
            .struct_size = sizeof(FlowdNodeOutput), .write = host_write, .fail = host_fail, .progress = host_progress}};
    h.api.host = &h;
    int rc = p->run(&req, &h.api);
    return finish_run(p, &h, rc);
}

void nodes_helper_maybe_run(int argc, char **argv)
{
    nodes_exec_helper_maybe_run(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "--flowd-plugin-node") == 0)
        _exit(node_plugin_runner(argv[2]));
}
