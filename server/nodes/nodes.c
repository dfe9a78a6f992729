#include "server/nodes/nodes.h"

#include <string.h>

extern const NodeKind node_kind_noop;
extern const NodeKind node_kind_python;

static const NodeKind *const kinds[] = {
    &node_kind_noop,
    &node_kind_python,
};

static SbxBuiltin builtins[ELEMENTSOF(kinds)];
static int builtin_index[ELEMENTSOF(kinds)];
static size_t n_builtins;
static const char *python_path = "/usr/bin/python3";

void nodes_init(const NodesConfig *cfg)
{
    if (cfg && cfg->python && *cfg->python)
        python_path = cfg->python;
    n_builtins = 0;
    for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
        builtin_index[i] = -1;
        if (!kinds[i]->builtin)
            continue;
        builtin_index[i] = (int)n_builtins;
        builtins[n_builtins++] = (SbxBuiltin){kinds[i]->name, kinds[i]->builtin, kinds[i]->profile};
    }
}

static int kind_index(const NodeKind *k)
{
    for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
        if (kinds[i] == k)
            return (int)i;
    return -1;
}

const NodeKind *nodes_find(const char *name)
{
    for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 64;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(prev));
    }
    return prev[lb];
}

const char *nodes_suggest(const char *name)
{
    const char *best = NULL;
    size_t best_d = 3;

    for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
        size_t d = edit_distance(name, kinds[i]->name);
        if (d < best_d) {
            best_d = d;
            best = kinds[i]->name;
        }
    }
    return best;
}

const NodeKind *const *nodes_all(size_t *ret_n)
{
    *ret_n = ELEMENTSOF(kinds);
    return kinds;
}

const SbxBuiltin *nodes_builtins(size_t *ret_n)
{
    *ret_n = n_builtins;
    return builtins;
}

void nodes_fill_request(const NodeKind *k, SbxRequest *req)
{
    static const char *argv[6];

    req->profile = k->profile;
    if (k->builtin) {
        int i = kind_index(k);
        req->builtin = i >= 0 ? builtin_index[i] : -1;
        req->argv = NULL;
        return;
    }
    argv[0] = python_path;
    argv[1] = "-I";
    argv[2] = "-S";
    argv[3] = "-c";
    argv[4] = node_python_runner;
    argv[5] = NULL;
    req->builtin = -1;
    req->argv = argv;
}
