/* flowd/node.h: the C ABI of flowd plugin nodes, version 1.
 *
 * A plugin is a shared library FLOWD_PLUGIN_DIR/<name>.so; workflows use it
 * as kind "plugin:<name>". It exports one function,
 *
 *     const FlowdNodeV1 *flowd_node_v1(void);
 *
 * returning a static description whose run() flowd calls once per attempt.
 *
 * Where it runs: every attempt is a fresh process (flowd-node, installed
 * next to flowd, started with a hidden flag) that loads the library, calls run() once and
 * exits. It runs confined like a python node: its own cgroup limits,
 * unprivileged uid, no network, read-only filesystem except a private
 * scratch directory (the current directory), no fork/exec, an empty
 * environment except the secrets granted to the node. Nothing persists
 * between attempts; a crash fails only the attempt.
 *
 * Memory contract:
 *   - Everything in the request (strings included) is owned by flowd and
 *     valid only during run(); copy what you keep. Never free it.
 *   - Output goes through out->write(), which copies the bytes: the plugin
 *     never hands flowd memory to free, and may free its own buffers as
 *     soon as write() returns. Allocate with anything you like.
 *   - Strings passed to out->fail() and out->progress() are copied.
 *
 * Error contract:
 *   - Success: run() returns 0 after writing exactly one JSON object
 *     (possibly in several write() calls). Anything else written is an
 *     INVALID_OUTPUT failure.
 *   - Failure: call out->fail(out, type, message) and return non-zero.
 *     type "InvalidInput" makes the failure INVALID_INPUT (bad inputs or
 *     config, retrying will not help), "InvalidOutput" INVALID_OUTPUT, any
 *     other type (e.g. "WordCountError") NONZERO_EXIT. Returning non-zero
 *     without fail() is reported as "PluginError".
 *   - write() returns 0, or -1 once the output exceeds the host's limit
 *     (the attempt will fail; stop writing).
 *   - Anything written to stderr becomes NODE_LOG events; stdout is not the
 *     output channel (use write()).
 *
 * Versioning: abi_version must be FLOWD_NODE_ABI_VERSION (1) and
 * struct_size sizeof(FlowdNodeV1) as compiled against this header. Later
 * versions only append fields and bump the version; flowd checks
 * struct_size before reading appended fields, and plugins check the
 * struct_size of the request and output structs they receive likewise.
 */
#ifndef FLOWD_NODE_H
#define FLOWD_NODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLOWD_NODE_ABI_VERSION 1
#define FLOWD_NODE_ENTRY_V1 "flowd_node_v1"

/* One attempt's request. JSON texts are UTF-8 and NUL-terminated; len
 * excludes the NUL. */
typedef struct FlowdNodeRequest {
    uint32_t struct_size;    /* sizeof(FlowdNodeRequest) of the host */
    uint32_t attempt;        /* 1 for the first attempt, 2 for the first retry, ... */
    const char *node_id;     /* the node's id in the workflow */
    const char *config_json; /* the node's "config" object */
    size_t config_len;
    const char *inputs_json; /* the node's assembled inputs object */
    size_t inputs_len;
} FlowdNodeRequest;

typedef struct FlowdNodeOutput FlowdNodeOutput;

/* Provided by the host; valid only during run(). */
struct FlowdNodeOutput {
    uint32_t struct_size; /* sizeof(FlowdNodeOutput) of the host */
    /* Appends len bytes of the output JSON text. 0, or -1 past the limit. */
    int (*write)(FlowdNodeOutput *out, const char *data, size_t len);
    /* Records the failure reported for this attempt (the last call wins). */
    void (*fail)(FlowdNodeOutput *out, const char *type, const char *message);
    /* Reports progress: fraction in [0, 1], message may be NULL. */
    void (*progress)(FlowdNodeOutput *out, double fraction, const char *message);
    void *host; /* the host's state; do not touch */
};

typedef struct FlowdNodeV1 {
    uint32_t abi_version; /* FLOWD_NODE_ABI_VERSION */
    uint32_t struct_size; /* sizeof(FlowdNodeV1) */
    const char *name;     /* e.g. "word_count"; informational */
    const char *version;  /* the plugin's own version, e.g. "1.0.0" */
    const char *summary;  /* one line for humans */
    int (*run)(const FlowdNodeRequest *req, FlowdNodeOutput *out);
} FlowdNodeV1;

typedef const FlowdNodeV1 *(*FlowdNodeEntryV1)(void);

/* Exported even when the plugin is built with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define FLOWD_NODE_EXPORT __attribute__((visibility("default")))
#else
#define FLOWD_NODE_EXPORT
#endif

/* Implemented by the plugin. */
FLOWD_NODE_EXPORT const FlowdNodeV1 *flowd_node_v1(void);

#ifdef __cplusplus
}
#endif

#endif
