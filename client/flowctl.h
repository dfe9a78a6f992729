/* flowctl.h: the parts of flowctl that tests reach: argument parsing, the
 * event renderers (plain lines, JSON lines, the live terminal view) and the
 * commands. */
#ifndef FLOWD_FLOWCTL_H
#define FLOWD_FLOWCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "flowd/client.h"

/* Exit codes, the contract of scripts that call flowctl (docs/flowctl.md). */
enum {
    FCTL_EXIT_OK = 0,
    FCTL_EXIT_FAILED = 1,      /* the run failed or was cancelled; the operation failed */
    FCTL_EXIT_USAGE = 2,       /* bad arguments, invalid workflow or inputs */
    FCTL_EXIT_UNREACHABLE = 3, /* no server at the address */
    FCTL_EXIT_AUTH = 4,        /* UNAUTHENTICATED or PERMISSION_DENIED */
};

typedef enum FctlCommand {
    FCTL_CMD_NONE,
    FCTL_CMD_RUN,
    FCTL_CMD_VALIDATE,
    FCTL_CMD_WATCH,
    FCTL_CMD_GET,
    FCTL_CMD_LIST,
    FCTL_CMD_CANCEL,
    FCTL_CMD_LOGS,
    FCTL_CMD_DLQ_LIST,
    FCTL_CMD_DLQ_RETRY,
    FCTL_CMD_INFO,
    FCTL_CMD_HEALTH,
    FCTL_CMD_TOKEN_CREATE,
    FCTL_CMD_VERSION,
    FCTL_CMD_HELP,
    _FCTL_CMD_MAX,
} FctlCommand;

typedef enum FctlOutput {
    FCTL_OUTPUT_AUTO, /* live view on a terminal, plain lines otherwise */
    FCTL_OUTPUT_TEXT, /* plain lines even on a terminal */
    FCTL_OUTPUT_JSON, /* JSON lines for events, a JSON document otherwise */
    _FCTL_OUTPUT_MAX,
} FctlOutput;

typedef enum FctlInterrupt {
    FCTL_INTERRUPT_ASK, /* on a terminal: ask; otherwise: cancel */
    FCTL_INTERRUPT_CANCEL,
    FCTL_INTERRUPT_DETACH,
    _FCTL_INTERRUPT_MAX,
} FctlInterrupt;

#define FCTL_MAX_LABELS 64

/* What the command line (and FLOWD_* environment) asked for. Strings point
 * into argv or the environment. */
typedef struct FctlArgs {
    FctlCommand command;
    bool help;            /* --help: print the command's help and exit 0 */
    FctlCommand help_for; /* `flowctl help CMD` */

    const char *addr, *token, *token_file, *ca, *tls_server_name;
    FctlOutput output;
    bool no_color;

    const char *file;   /* run, validate */
    const char *run_id; /* watch, get, cancel, logs */
    const char *id;     /* dlq retry */
    const char *input;  /* run --input */
    bool detach, offline, outputs;
    FcLabel labels[FCTL_MAX_LABELS];
    size_t n_labels;
    const char *idempotency_key;
    FctlInterrupt on_interrupt;
    uint64_t from_seq;
    FcRunStatus status;
    uint32_t limit;
    const char *reason, *node, *service;

    /* token create: everything after it, passed to `flowd token create`. */
    int n_rest;
    char **rest;
} FctlArgs;

/* Parses argv (argv[0] is the program) and the FLOWD_* environment into
 * *ret. On a usage error returns -EINVAL with a one-line message in errbuf. */
int fctl_parse_args(int argc, char **argv, FctlArgs *ret, char *errbuf, size_t errlen);

const char *fctl_command_name(FctlCommand cmd);
/* Help for a command (FCTL_CMD_NONE: the overview). */
void fctl_print_help(FILE *f, FctlCommand cmd);

/* ---- rendering ------------------------------------------------------------- */

/* "12.3MiB", "512B"; "2.0s", "8.1ms", "1m05s". */
void fctl_format_bytes(uint64_t bytes, char *buf, size_t len);
void fctl_format_duration_us(uint64_t us, char *buf, size_t len);

/* One plain line (no newline) for an event; t0_ns is the first event's time. */
void fctl_format_event_plain(const FcEvent *ev, uint64_t t0_ns, char *buf, size_t len);
/* The event as a JSON object (output_json parsed where it is JSON). */
json_t *fctl_event_to_json(const FcEvent *ev);
json_t *fctl_run_to_json(const FcRun *run);
json_t *fctl_dead_letter_to_json(const FcDeadLetter *dl);
/* Prints JSON text that came from the server, pretty, or as is if it is not JSON. */
void fctl_print_json_text(FILE *f, const char *text);
/* Writes v with reals in their shortest exact form; indent_step 0 is compact. */
void fctl_dump_json(const json_t *v, FILE *f, int indent_step);

/* The live terminal view: one line per node, redrawn in place. */
typedef struct FctlView FctlView;

typedef struct FctlViewOptions {
    bool color;
    unsigned width; /* terminal columns; 0: 100 */
} FctlViewOptions;

/* node_ids in display order (DAG order); borrowed for the view's life. */
FctlView *fctl_view_new(const char *title, const char *const *node_ids, size_t n, const FctlViewOptions *opts);
FctlView *fctl_view_free(FctlView *view);
/* Folds one event into the state. `recv_ns` is the client clock when it
 * arrived (it ties server time to ours for running timers). */
void fctl_view_apply(FctlView *view, const FcEvent *ev, uint64_t recv_ns);
/* Renders the frame for client time now_ns into a malloc()ed string; every
 * line ends in "\n" and *ret_lines says how many there are. */
char *fctl_view_render(FctlView *view, uint64_t now_ns, size_t *ret_lines);
/* Draws the frame on f over the previous one; `above` (may be NULL) is text
 * printed above the view first (log lines), so that it scrolls away. */
void fctl_view_draw(FctlView *view, FILE *f, uint64_t now_ns, const char *above);
bool fctl_view_finished(const FctlView *view);
/* True when events came in since the last draw. */
bool fctl_view_dirty(const FctlView *view);
/* Forgets the frame on screen: the next draw starts below it (after a prompt). */
void fctl_view_forget(FctlView *view);

/* Aligned tables: add rows of cells, then print with column widths fitted. */
typedef struct FctlTable FctlTable;
FctlTable *fctl_table_new(size_t n_columns, const char *const *headers);
void fctl_table_add(FctlTable *t, const char *const *cells);
void fctl_table_print(FctlTable *t, FILE *f);
FctlTable *fctl_table_free(FctlTable *t);

/* ---- commands -------------------------------------------------------------- */

/* Runs the parsed command; returns the process exit code. */
int fctl_main(const FctlArgs *args);

/* Shared by the command files. */
typedef enum FctlMode {
    FCTL_MODE_VIEW,  /* live view on a terminal */
    FCTL_MODE_PLAIN, /* one plain line per event */
    FCTL_MODE_JSON,  /* one JSON line per event */
} FctlMode;

FctlMode fctl_mode(const FctlArgs *args);
bool fctl_use_color(const FctlArgs *args, FILE *f);
/* Connects as the arguments say; on failure prints why and returns an exit code > 0. */
int fctl_connect(const FctlArgs *args, FcClient **ret);
/* Prints what went wrong with an RPC in words a user can act on; returns the exit code. */
int fctl_fail(const FctlArgs *args, const FcError *err, const char *doing);
/* Prints diagnostics as "FILE:LINE:COL: message" or "FILE: path: message". */
void fctl_print_diagnostics(FILE *f, const char *file, const FcDiagnostics *diags);
/* Loads the workflow (and inputs); on failure prints why and returns exit code 2. */
int fctl_load_workflow(const char *file, FcWorkflow **ret);
uint64_t fctl_now_ns(void);
void fctl_print_json(json_t *doc); /* consumes doc */

int fctl_cmd_run(const FctlArgs *args);
int fctl_cmd_watch(const FctlArgs *args);
int fctl_cmd_logs(const FctlArgs *args);

#endif
