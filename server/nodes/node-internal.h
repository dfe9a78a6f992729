/* node-internal.h: what the built-in kinds share: config checks that name
 * every problem with its path, the run skeleton of a built-in (envelope in,
 * output or failure out), field paths, value comparison, conditions, and
 * the pieces tests reach directly (CSV, SHA-256, PII detection, file
 * paths). */
#ifndef FLOWD_NODE_INTERNAL_H
#define FLOWD_NODE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/nodes/nodes.h"
#include "server/util/util.h"

/* Bounds on what a config may ask for (STYLE rule 7). */
#define NODE_MAX_FIELDS 256   /* fields, conditions, sort keys, metrics, cases */
#define NODE_MAX_PATH_LEN 256 /* a dotted field path */
#define NODE_MAX_COND_DEPTH 8 /* nested all/any/not */
#define NODE_MAX_PROBLEMS 100 /* validate: problems listed in one failure */

/* ---- config checks (validation time, in the server) ---- */

/* "base.key" into buf. */
const char *node_subpath(char *buf, size_t size, const char *base, const char *fmt, ...) _printf_(4, 5);

/* Flags every key of config not in known (NULL-terminated); "params" is
 * always allowed (the engine's default inputs). */
void node_check_keys(const json_t *config, const char *path, const char *const *known, Diags *d);
/* A present key must be a non-empty string; returns it, or def. */
const char *node_check_string(const json_t *config, const char *key, const char *path, const char *def, Diags *d);
/* A present key must be a boolean; returns it, or def. */
bool node_check_bool(const json_t *config, const char *key, const char *path, bool def, Diags *d);
/* A present key must be an integer in [min, max]; returns it, or def. */
long long node_check_int(const json_t *config, const char *key, const char *path, long long def, long long min,
                         long long max, Diags *d);
/* A present key must be one of choices (NULL-terminated); returns its index, or def. */
int node_check_enum(const json_t *config, const char *key, const char *path, const char *const *choices, int def,
                    Diags *d);
/* v must be a dotted field path ("a.b.0.c"); path is v's own path. */
bool node_check_field(const json_t *v, const char *path, Diags *d);
/* config "input" (default def) and "output": the input key ("$" = the whole
 * inputs object where allow_root) and the output key. */
void node_check_io(const json_t *config, const char *path, bool allow_root, Diags *d);

/* ---- the run skeleton (in the sandboxed child) ---- */

typedef struct NodeErr {
    const char *type; /* "InvalidInput", "InvalidOutput", ... */
    char *message;    /* malloc'd */
} NodeErr;

/* Sets e and returns -1, so runs can `return node_err(e, ...)`. */
int node_err(NodeErr *e, const char *type, const char *fmt, ...) _printf_(3, 4);

typedef struct NodeCtx {
    const json_t *env;
    const json_t *config;
    const json_t *inputs; /* an object, maybe empty */
    const char *node;
} NodeCtx;

/* A built-in's body: 0 with *ret (a new object), or -1 with e set. */
typedef int (*NodeRunFn)(const NodeCtx *c, json_t **ret, NodeErr *e);

/* Writes all of s to fd, retrying on EINTR and short writes; 0 or -errno. */
int node_write_all(int fd, const char *s, size_t len);
/* Appends everything readable from fd to *b, at most max bytes; 0, -errno,
 * or -EFBIG past max. *b is freed on an error. */
int node_read_all(int fd, size_t max, StrBuf *b);

/* Reads the envelope, runs fn, writes its output or its failure; returns
 * the child's exit code. */
int node_main(NodeRunFn fn);
/* The same on an envelope already parsed (tests). Returns fn's result. */
int node_run_envelope(NodeRunFn fn, const json_t *env, json_t **ret, NodeErr *e);

/* The operand named by config "input" (default def; "$" = the inputs
 * object): borrowed, or NULL with e set ("input \"records\" is missing").
 * *ret_key gets the input key ("$" for the root). */
const json_t *node_operand(const NodeCtx *c, const char *def, const char **ret_key, NodeErr *e);
/* Wraps result as the output: under config "output" (default: the input
 * key, or fallback when the input is "$"). Steals result. */
json_t *node_output(const NodeCtx *c, const char *in_key, const char *fallback, json_t *result);

/* ---- values ---- */

/* The value at a dotted path ("a.b.0"; a numeric segment indexes an
 * array), borrowed, or NULL when absent. */
json_t *node_get(const json_t *v, const char *path);
/* Sets value (stolen) at a dotted path in obj, creating objects on the way.
 * Returns 0 or -1 when an intermediate value is not an object. */
int node_set(json_t *obj, const char *path, json_t *value);
/* Total order used by sort, min/max and comparisons: numbers numerically
 * (integers and reals together), strings bytewise (no locale), then by type
 * rank: number < string < boolean < array < object < null. */
int node_compare(const json_t *a, const json_t *b);
/* Numbers equal across integer/real, otherwise json_equal. */
bool node_equal(const json_t *a, const json_t *b);
/* The JSON type name of v ("string", "integer", "number", ...). */
const char *node_type_name(const json_t *v);

/* Stable merge sort of n indices by cmp. Not qsort: it is not stable, and
 * glibc's probes the machine (sysinfo) and allocates behind our back. */
void node_stable_sort(size_t *idx, size_t n, int (*cmp)(size_t a, size_t b, void *u), void *u);

/* ---- conditions (filter, switch) ---- */

/* {field, op, value} or {"all": [...]}, {"any": [...]}, {"not": cond}. */
void node_cond_check(const json_t *cond, const char *path, Diags *d);
bool node_cond_eval(const json_t *cond, const json_t *record);

/* ---- CSV (node-csv.c) ---- */

typedef struct CsvReadOptions {
    char delimiter;
    bool header;
    bool infer_types;
    bool allow_ragged;
    size_t max_rows; /* 0: no limit */
} CsvReadOptions;

/* Parses RFC 4180 text into rows: objects keyed by the header's names, or
 * arrays when header is false. Returns 0 with *ret_rows and *ret_columns
 * (NULL without a header), or -1 with e set (InvalidInput, naming line and
 * column). */
int csv_parse(const char *text, size_t len, const CsvReadOptions *o, json_t **ret_rows, json_t **ret_columns,
              NodeErr *e);

typedef struct CsvWriteOptions {
    char delimiter;
    bool header;
    bool crlf;
    bool escape_formulas;
    const json_t *columns; /* array of names, or NULL: union of keys in first-seen order */
} CsvWriteOptions;

/* Formats rows (objects or arrays) as CSV into out. Returns 0 with
 * *ret_columns (new, maybe empty) or -1 with e set. */
int csv_format(const json_t *rows, const CsvWriteOptions *o, StrBuf *out, json_t **ret_columns, NodeErr *e);

void node_csv_configure(uint64_t max_bytes);

/* ---- files under <data_dir>/files (server side, node-files.c) ---- */

/* NULL if rel is an acceptable relative path, else why not (static). */
const char *node_file_path_problem(const char *rel);
/* Reads rel under the files root, at most max bytes. */
int node_file_read(const char *rel, uint64_t max, char **ret_data, size_t *ret_len, char **ret_msg);
/* Writes data atomically as <dir of rel>/<stem>_<UTC>.<ext> (never
 * replacing a file); *ret_rel is the path written, relative to the root. */
int node_file_write(const char *rel, const char *data, size_t len, char **ret_rel, char **ret_msg);
/* Set by nodes_setup(); "" when FLOWD_DATA_DIR is unknown. */
void node_files_set_root(const char *data_dir);
const char *node_files_root(void);
/* The UTC timestamp of written files, overridable by tests (0: now). */
extern time_t node_files_fixed_time;

/* ---- PII (node-mask.c) ---- */

void node_sha256(const void *data, size_t len, uint8_t out[32]);
void node_sha256_hex(const void *data, size_t len, char out[65]);
bool node_luhn_ok(const char *digits, size_t n);

/* ---- exec and plugin kinds ---- */

void node_exec_configure(const char *self_exe, const char *allow);
bool node_exec_allowed(const char *program);
int node_exec_adapter(const char *allow);
int node_plugin_configure(const char *self_exe, const char *dir, char *err, size_t err_size);
const NodeKind *node_plugin_find(const char *name);
const char *node_plugin_dir(void);
int node_plugin_runner(const char *path);
/* Adds a kind to the registry (plugins); 0 or -ENOSPC. */
int nodes_register(const NodeKind *k);

#endif
