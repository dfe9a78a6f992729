/* flowctl-render.c: how events, runs and tables look. Plain lines for pipes
 * and logs, JSON lines for programs, and a live view for people at a
 * terminal. Everything here is pure formatting, so tests can pin it. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flowctl.h"

#define VIEW_BAR_WIDTH 20
#define VIEW_ID_MAX 32
#define VIEW_MSG_MAX 200

/* ---- units ------------------------------------------------------------------- */

void fctl_format_bytes(uint64_t b, char *buf, size_t len)
{
    if (b < 1024)
        snprintf(buf, len, "%" PRIu64 "B", b);
    else if (b < 1024 * 1024)
        snprintf(buf, len, "%.1fKiB", (double)b / 1024);
    else if (b < 1024ull * 1024 * 1024)
        snprintf(buf, len, "%.1fMiB", (double)b / (1024 * 1024));
    else
        snprintf(buf, len, "%.2fGiB", (double)b / (1024.0 * 1024 * 1024));
}

void fctl_format_duration_us(uint64_t us, char *buf, size_t len)
{
    if (us < 1000)
        snprintf(buf, len, "%" PRIu64 "us", us);
    else if (us < 1000000)
        snprintf(buf, len, "%.1fms", (double)us / 1e3);
    else if (us < 60000000)
        snprintf(buf, len, "%.1fs", (double)us / 1e6);
    else if (us < 3600000000ull)
        snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", us / 60000000, us / 1000000 % 60);
    else
        snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", us / UINT64_C(3600000000), us / 60000000 % 60);
}

/* Timers in the live view: always seconds, so the columns do not jump. */
static void format_elapsed(uint64_t ns, char *buf, size_t len)
{
    uint64_t s = ns / 1000000000ull;

    if (s < 60)
        snprintf(buf, len, "%.1fs", (double)ns / 1e9);
    else if (s < 3600)
        snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else
        snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
}

/* ---- a bounded string builder --------------------------------------------------- */

typedef struct Buf {
    char *s;
    size_t len, cap;
} Buf;

static void buf_add(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(Buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->len >= b->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

/* Text from the server goes on one line: control characters become spaces. */
static void buf_add_clean(Buf *b, const char *text, size_t max)
{
    for (size_t i = 0; text[i] && i < max && b->len + 1 < b->cap; i++) {
        unsigned char ch = (unsigned char)text[i];
        b->s[b->len++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    if (b->cap)
        b->s[b->len < b->cap ? b->len : b->cap - 1] = '\0';
}

static void describe_failure(const FcFailure *f, Buf *b)
{
    buf_add(b, "%s", fc_failure_kind_name(f->kind));
    if (f->kind == FC_FAILURE_NONZERO_EXIT)
        buf_add(b, " (exit %d)", f->exit_code);
    if (f->kind == FC_FAILURE_SIGNALED && f->signal)
        buf_add(b, " (signal %d)", f->signal);
    if (f->syscall[0])
        buf_add(b, " (syscall %s)", f->syscall);
    if (f->message[0]) {
        buf_add(b, ": ");
        buf_add_clean(b, f->message, VIEW_MSG_MAX);
    }
}

/* ---- plain lines ------------------------------------------------------------------ */

static bool is_run_event(FcEventType t)
{
    return t == FC_EVENT_RUN_QUEUED || t == FC_EVENT_RUN_STARTED || fc_event_type_is_terminal(t);
}

void fctl_format_event_plain(const FcEvent *ev, uint64_t t0_ns, char *out, size_t len)
{
    Buf b = {out, 0, len};
    char seq[24], x[32];
    double t = ev->time_unix_nano > t0_ns ? (double)(ev->time_unix_nano - t0_ns) / 1e9 : 0;

    snprintf(seq, sizeof(seq), "#%" PRIu64, ev->seq);
    buf_add(&b, "[%7.3fs] %-4s %-14s", t, seq, fc_event_type_name(ev->type));
    if (is_run_event(ev->type))
        buf_add(&b, "  run=%s", ev->run_id);
    if (ev->node_id[0])
        buf_add(&b, "  node=%s", ev->node_id);
    if (ev->attempt > 0)
        buf_add(&b, " attempt=%" PRIu32, ev->attempt);
    if (ev->type == FC_EVENT_NODE_PROGRESS)
        buf_add(&b, "  progress=%.0f%%", ev->progress * 100);
    if (ev->has_usage) {
        fctl_format_bytes(ev->usage.peak_memory_bytes, x, sizeof(x));
        buf_add(&b, "  peak=%s", x);
        fctl_format_duration_us(ev->usage.wall_us, x, sizeof(x));
        buf_add(&b, "  wall=%s", x);
    }
    if (ev->has_failure && ev->failure.kind != FC_FAILURE_UNSPECIFIED) {
        buf_add(&b, "  failure=");
        describe_failure(&ev->failure, &b);
    }
    /* Servers often repeat the failure's text as the message; say it once. */
    if (ev->message[0] && !(ev->has_failure && strstr(ev->failure.message, ev->message))) {
        buf_add(&b, ev->type == FC_EVENT_NODE_LOG ? "  | " : "  ");
        buf_add_clean(&b, ev->message, 4096);
    }
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, key, json_string(v));
}

static void set_uint(json_t *o, const char *key, uint64_t v)
{
    if (v)
        json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* Server JSON text as a value: parsed if it parses, a string otherwise. */
static void set_json_text(json_t *o, const char *key, const char *text)
{
    json_t *v;

    if (!text || !text[0])
        return;
    v = json_loads(text, JSON_DECODE_ANY, NULL);
    json_object_set_new(o, key, v ? v : json_string(text));
}

static json_t *failure_to_json(const FcFailure *f)
{
    json_t *o = json_object();
    set_str(o, "kind", fc_failure_kind_name(f->kind));
    set_str(o, "message", f->message);
    if (f->exit_code)
        json_object_set_new(o, "exit_code", json_integer(f->exit_code));
    if (f->signal)
        json_object_set_new(o, "signal", json_integer(f->signal));
    set_str(o, "syscall", f->syscall);
    return o;
}

static json_t *usage_to_json(const FcUsage *u)
{
    json_t *o = json_object();
    json_object_set_new(o, "peak_memory_bytes", json_integer((json_int_t)u->peak_memory_bytes));
    json_object_set_new(o, "cpu_user_us", json_integer((json_int_t)u->cpu_user_us));
    json_object_set_new(o, "cpu_system_us", json_integer((json_int_t)u->cpu_system_us));
    json_object_set_new(o, "wall_us", json_integer((json_int_t)u->wall_us));
    return o;
}

json_t *fctl_event_to_json(const FcEvent *ev)
{
    json_t *o = json_object();

    set_str(o, "run_id", ev->run_id);
    json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
    set_uint(o, "time_unix_nano", ev->time_unix_nano);
    json_object_set_new(o, "type", json_string(fc_event_type_name(ev->type)));
    set_str(o, "node_id", ev->node_id);
    set_uint(o, "attempt", ev->attempt);
    if (ev->type == FC_EVENT_NODE_PROGRESS)
        json_object_set_new(o, "progress", json_real(ev->progress));
    set_str(o, "message", ev->message);
    set_json_text(o, "output", ev->output_json);
    if (ev->has_failure)
        json_object_set_new(o, "failure", failure_to_json(&ev->failure));
    if (ev->has_usage)
        json_object_set_new(o, "usage", usage_to_json(&ev->usage));
    if (ev->run_status != FC_RUN_UNSPECIFIED)
        json_object_set_new(o, "run_status", json_string(fc_run_status_name(ev->run_status)));
    return o;
}

json_t *fctl_run_to_json(const FcRun *run)
{
    json_t *o = json_object(), *nodes = json_array(), *labels = json_object();

    set_str(o, "run_id", run->run_id);
    set_str(o, "workflow_name", run->workflow_name);
    set_str(o, "tenant", run->tenant);
    set_str(o, "owner", run->owner);
    json_object_set_new(o, "status", json_string(fc_run_status_name(run->status)));
    json_object_set_new(o, "degraded", json_boolean(run->degraded));
    set_uint(o, "created_unix_nano", run->created_unix_nano);
    set_uint(o, "started_unix_nano", run->started_unix_nano);
    set_uint(o, "finished_unix_nano", run->finished_unix_nano);
    for (size_t i = 0; i < run->n_nodes; i++) {
        const FcNodeRun *n = &run->nodes[i];
        json_t *no = json_object();
        set_str(no, "node_id", n->node_id);
        json_object_set_new(no, "status", json_string(fc_node_status_name(n->status)));
        json_object_set_new(no, "attempts", json_integer(n->attempts));
        if (n->has_failure)
            json_object_set_new(no, "failure", failure_to_json(&n->failure));
        if (n->has_usage)
            json_object_set_new(no, "usage", usage_to_json(&n->usage));
        set_json_text(no, "output", n->output_json);
        json_array_append_new(nodes, no);
    }
    json_object_set_new(o, "nodes", nodes);
    set_json_text(o, "outputs", run->outputs_json);
    if (run->has_failure)
        json_object_set_new(o, "failure", failure_to_json(&run->failure));
    for (size_t i = 0; i < run->n_labels; i++)
        json_object_set_new(labels, run->labels[i].key, json_string(run->labels[i].value));
    json_object_set_new(o, "labels", labels);
    return o;
}

json_t *fctl_dead_letter_to_json(const FcDeadLetter *dl)
{
    json_t *o = json_object();

    set_str(o, "id", dl->id);
    set_str(o, "run_id", dl->run_id);
    set_str(o, "node_id", dl->node_id);
    set_str(o, "workflow_name", dl->workflow_name);
    set_str(o, "tenant", dl->tenant);
    set_str(o, "kind", dl->kind);
    set_json_text(o, "inputs", dl->inputs_json);
    if (dl->has_failure)
        json_object_set_new(o, "failure", failure_to_json(&dl->failure));
    json_object_set_new(o, "attempts", json_integer(dl->attempts));
    set_uint(o, "created_unix_nano", dl->created_unix_nano);
    set_str(o, "retried_run_id", dl->retried_run_id);
    return o;
}

void fctl_print_json_text(FILE *f, const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

    if (!v) {
        fprintf(f, "%s\n", text);
        return;
    }
    fctl_dump_json(v, f, 2);
    fputc('\n', f);
    json_decref(v);
}

/* ---- the live view ------------------------------------------------------------------- */

typedef enum ViewState {
    VS_PENDING,
    VS_RUNNING,
    VS_RETRYING,
    VS_SUCCEEDED,
    VS_FAILED,
    VS_SKIPPED,
    VS_CANCELLED,
    _VS_MAX,
} ViewState;

static const char *const view_state_names[_VS_MAX] = {
    "PENDING", "RUNNING", "RETRYING", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED",
};

/* SGR colours per state; "" is the terminal's default. */
static const char *const view_state_colors[_VS_MAX] = {
    "2", "36", "33", "32", "31", "2", "35",
};

typedef struct ViewNode {
    char *id;
    ViewState state;
    uint32_t attempt;
    double progress;           /* < 0: unknown */
    uint64_t start_ns, end_ns; /* server clock */
    uint64_t peak_bytes;
    bool cached;
    char message[VIEW_MSG_MAX + 1];
} ViewNode;

struct FctlView {
    char *title;
    char run_id[128];
    FctlViewOptions opts;
    ViewNode *nodes;
    size_t n_nodes;
    FcRunStatus run_status;
    bool finished;
    uint64_t first_ns, end_ns; /* server clock */
    int64_t offset_ns;         /* server clock - client clock */
    bool have_offset;
    bool dirty; /* events applied since the last draw */
    size_t drawn_lines;
};

FctlView *fctl_view_new(const char *title, const char *const *node_ids, size_t n, const FctlViewOptions *opts)
{
    FctlView *v = calloc(1, sizeof(*v));

    if (!v)
        return NULL;
    v->title = strdup(title ? title : "");
    v->nodes = calloc(n + 1, sizeof(ViewNode));
    if (!v->title || !v->nodes)
        return fctl_view_free(v);
    for (size_t i = 0; i < n; i++) {
        v->nodes[i] = (ViewNode){.id = strdup(node_ids[i]), .progress = -1};
        if (!v->nodes[i].id)
            return fctl_view_free(v);
        v->n_nodes++;
    }
    if (opts)
        v->opts = *opts;
    if (!v->opts.width)
        v->opts.width = 100;
    v->run_status = FC_RUN_QUEUED;
    return v;
}

FctlView *fctl_view_free(FctlView *v)
{
    if (!v)
        return NULL;
    for (size_t i = 0; i < v->n_nodes; i++)
        free(v->nodes[i].id);
    free(v->nodes);
    free(v->title);
    free(v);
    return NULL;
}

bool fctl_view_finished(const FctlView *v) { return v->finished; }

bool fctl_view_dirty(const FctlView *v) { return v->dirty; }

void fctl_view_forget(FctlView *v) { v->drawn_lines = 0; }

/* The node's row, added at the end for a node we were not told about. */
static ViewNode *view_node(FctlView *v, const char *id)
{
    ViewNode *nodes;

    for (size_t i = 0; i < v->n_nodes; i++)
        if (strcmp(v->nodes[i].id, id) == 0)
            return &v->nodes[i];
    nodes = realloc(v->nodes, (v->n_nodes + 1) * sizeof(ViewNode));
    if (!nodes)
        return NULL;
    v->nodes = nodes;
    nodes[v->n_nodes] = (ViewNode){.id = strdup(id), .progress = -1};
    if (!nodes[v->n_nodes].id)
        return NULL;
    return &nodes[v->n_nodes++];
}

static void set_message(ViewNode *n, const char *text)
{
    Buf b = {n->message, 0, sizeof(n->message)};
    n->message[0] = '\0';
    buf_add_clean(&b, text, VIEW_MSG_MAX);
}

static void apply_node_event(ViewNode *n, const FcEvent *ev)
{
    Buf b = {n->message, 0, sizeof(n->message)};

    if (ev->attempt)
        n->attempt = ev->attempt;
    if (ev->has_usage && ev->usage.peak_memory_bytes > n->peak_bytes)
        n->peak_bytes = ev->usage.peak_memory_bytes;
    switch (ev->type) {
    case FC_EVENT_NODE_STARTED:
        if (n->state != VS_RETRYING || !n->start_ns)
            n->start_ns = ev->time_unix_nano;
        n->state = VS_RUNNING;
        n->progress = -1;
        set_message(n, ev->message);
        break;
    case FC_EVENT_NODE_PROGRESS:
        n->progress = ev->progress < 0 ? 0 : ev->progress > 1 ? 1 : ev->progress;
        if (ev->message[0])
            set_message(n, ev->message);
        break;
    case FC_EVENT_NODE_RETRYING:
        n->state = VS_RETRYING;
        n->message[0] = '\0';
        if (ev->has_failure)
            describe_failure(&ev->failure, &b);
        break;
    case FC_EVENT_NODE_SUCCEEDED:
        n->state = VS_SUCCEEDED;
        n->progress = 1;
        n->end_ns = ev->time_unix_nano;
        n->cached = strstr(ev->message, "cached") != NULL;
        set_message(n, ev->message);
        break;
    case FC_EVENT_NODE_FAILED:
        n->state = VS_FAILED;
        n->end_ns = ev->time_unix_nano;
        n->message[0] = '\0';
        if (ev->has_failure)
            describe_failure(&ev->failure, &b);
        else
            set_message(n, ev->message);
        break;
    case FC_EVENT_NODE_SKIPPED:
        n->state = VS_SKIPPED;
        set_message(n, ev->message);
        break;
    default:
        break;
    }
}

void fctl_view_apply(FctlView *v, const FcEvent *ev, uint64_t recv_ns)
{
    v->dirty = true;
    if (!v->have_offset && ev->time_unix_nano) {
        v->offset_ns = (int64_t)(ev->time_unix_nano - recv_ns);
        v->have_offset = true;
    }
    if (!v->first_ns || (ev->time_unix_nano && ev->time_unix_nano < v->first_ns))
        v->first_ns = ev->time_unix_nano;
    snprintf(v->run_id, sizeof(v->run_id), "%s", ev->run_id);
    if (ev->node_id[0] && ev->type != FC_EVENT_NODE_LOG) {
        ViewNode *n = view_node(v, ev->node_id);
        if (n)
            apply_node_event(n, ev);
    }
    if (ev->type == FC_EVENT_RUN_STARTED)
        v->run_status = FC_RUN_RUNNING;
    if (fc_event_type_is_terminal(ev->type)) {
        v->finished = true;
        v->end_ns = ev->time_unix_nano;
        v->run_status = ev->type == FC_EVENT_RUN_SUCCEEDED ? FC_RUN_SUCCEEDED
                        : ev->type == FC_EVENT_RUN_FAILED  ? FC_RUN_FAILED
                                                           : FC_RUN_CANCELLED;
        /* Nodes still running when the run ended were stopped with it. */
        for (size_t i = 0; i < v->n_nodes; i++)
            if (v->nodes[i].state == VS_RUNNING || v->nodes[i].state == VS_RETRYING) {
                v->nodes[i].state = VS_CANCELLED;
                v->nodes[i].end_ns = ev->time_unix_nano;
            }
    }
}

/* A line of at most `width` visible columns, with colour codes that do not count. */
typedef struct Line {
    Buf *b;
    size_t visible, width;
    bool color;
} Line;

static void line_text(Line *l, const char *text)
{
    for (const char *p = text; *p; p++) {
        bool cont = ((unsigned char)*p & 0xC0) == 0x80;
        if (!cont && l->visible >= l->width)
            return;
        buf_add(l->b, "%c", *p);
        if (!cont)
            l->visible++;
    }
}

static void line_textf(Line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_textf(Line *l, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    line_text(l, tmp);
}

static void line_sgr(Line *l, const char *code)
{
    if (l->color && code[0])
        buf_add(l->b, "\x1b[%sm", code);
}

static void line_end(Line *l)
{
    line_sgr(l, "0");
    buf_add(l->b, "\n");
}

static void bar(char *out, double fraction)
{
    int fill = (int)(fraction * VIEW_BAR_WIDTH + 0.5);
    out[0] = '[';
    for (int i = 0; i < VIEW_BAR_WIDTH; i++)
        out[1 + i] = i < fill ? '#' : '.';
    out[VIEW_BAR_WIDTH + 1] = ']';
    out[VIEW_BAR_WIDTH + 2] = '\0';
}

static uint64_t server_now(const FctlView *v, uint64_t now_ns) { return (uint64_t)((int64_t)now_ns + v->offset_ns); }

static const char *run_status_color(FcRunStatus s)
{
    return s == FC_RUN_SUCCEEDED ? "1;32" : s == FC_RUN_FAILED ? "1;31" : s == FC_RUN_CANCELLED ? "1;35" : "1;36";
}

static void render_header(FctlView *v, Line *l, uint64_t now_ns)
{
    size_t done = 0;
    char b[VIEW_BAR_WIDTH + 3], t[32];
    uint64_t end = v->finished ? v->end_ns : server_now(v, now_ns);

    for (size_t i = 0; i < v->n_nodes; i++)
        done += v->nodes[i].state >= VS_SUCCEEDED;
    bar(b, v->n_nodes ? (double)done / (double)v->n_nodes : 0);
    format_elapsed(end > v->first_ns && v->first_ns ? end - v->first_ns : 0, t, sizeof(t));
    line_sgr(l, "1");
    line_text(l, v->title);
    line_sgr(l, "0");
    if (v->run_id[0])
        line_textf(l, "  run %s", v->run_id);
    line_text(l, "  ");
    line_sgr(l, run_status_color(v->run_status));
    line_text(l, fc_run_status_name(v->run_status));
    line_sgr(l, "0");
    line_textf(l, "  %s %zu/%zu nodes  %s", b, done, v->n_nodes, t);
    line_end(l);
}

static size_t id_width(const FctlView *v)
{
    size_t w = 4;
    for (size_t i = 0; i < v->n_nodes; i++)
        if (strlen(v->nodes[i].id) > w)
            w = strlen(v->nodes[i].id);
    return w > VIEW_ID_MAX ? VIEW_ID_MAX : w;
}

static void render_node(FctlView *v, const ViewNode *n, Line *l, size_t idw, uint64_t now_ns)
{
    char b[VIEW_BAR_WIDTH + 3] = "", pct[8] = "", t[32] = "", mem[32] = "";
    uint64_t end = n->end_ns ? n->end_ns : server_now(v, now_ns);

    bool short_line = n->state == VS_PENDING || (n->state == VS_SKIPPED && !n->attempt);

    line_textf(l, "  %-*.*s  ", (int)idw, (int)idw, n->id);
    line_sgr(l, view_state_colors[n->state]);
    line_textf(l, short_line && !n->message[0] ? "%s" : "%-9s", view_state_names[n->state]);
    line_sgr(l, "0");
    if (short_line) {
        if (n->message[0])
            line_textf(l, "  %s", n->message);
        buf_add(l->b, "\n");
        return;
    }
    if (n->progress >= 0) {
        bar(b, n->progress);
        snprintf(pct, sizeof(pct), "%3d%%", (int)(n->progress * 100 + 0.5));
    }
    if (n->start_ns)
        format_elapsed(end > n->start_ns ? end - n->start_ns : 0, t, sizeof(t));
    if (n->peak_bytes)
        fctl_format_bytes(n->peak_bytes, mem, sizeof(mem));
    line_textf(l, "  #%-2" PRIu32 " %-*s %4s  %7s  %9s", n->attempt, VIEW_BAR_WIDTH + 2, b, pct, t, mem);
    if (n->cached)
        line_text(l, "  (cached)");
    if (n->message[0]) {
        line_text(l, "  ");
        line_sgr(l, n->state == VS_FAILED || n->state == VS_RETRYING ? "31" : "2");
        line_text(l, n->message);
    }
    line_end(l);
}

char *fctl_view_render(FctlView *v, uint64_t now_ns, size_t *ret_lines)
{
    size_t cap = (v->n_nodes + 2) * (v->opts.width * 2 + 64), idw = id_width(v);
    Buf b = {malloc(cap), 0, cap};
    Line l = {.b = &b, .width = v->opts.width > 1 ? v->opts.width - 1 : 1, .color = v->opts.color};

    if (!b.s)
        return NULL;
    b.s[0] = '\0';
    render_header(v, &l, now_ns);
    for (size_t i = 0; i < v->n_nodes; i++) {
        l.visible = 0;
        render_node(v, &v->nodes[i], &l, idw, now_ns);
    }
    *ret_lines = v->n_nodes + 1;
    return b.s;
}

void fctl_view_draw(FctlView *v, FILE *f, uint64_t now_ns, const char *above)
{
    size_t lines;
    char *frame = fctl_view_render(v, now_ns, &lines);

    if (!frame)
        return;
    /* Back to the first line of the old frame, and clear it and everything
     * below, so that a shorter frame leaves no debris. */
    if (v->drawn_lines)
        fprintf(f, "\r\x1b[%zuA\x1b[J", v->drawn_lines);
    if (above && above[0])
        fputs(above, f);
    fputs(frame, f);
    fflush(f);
    v->drawn_lines = lines;
    v->dirty = false;
    free(frame);
}

/* ---- tables --------------------------------------------------------------------------- */

struct FctlTable {
    size_t n_columns, n_rows;
    char **cells; /* row-major, header row first */
};

FctlTable *fctl_table_new(size_t n_columns, const char *const *headers)
{
    FctlTable *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->n_columns = n_columns;
    fctl_table_add(t, headers);
    return t;
}

void fctl_table_add(FctlTable *t, const char *const *cells)
{
    char **c;

    if (!t)
        return;
    c = realloc(t->cells, (t->n_rows + 1) * t->n_columns * sizeof(char *));
    if (!c)
        return;
    t->cells = c;
    for (size_t i = 0; i < t->n_columns; i++)
        c[t->n_rows * t->n_columns + i] = strdup(cells[i] ? cells[i] : "");
    t->n_rows++;
}

void fctl_table_print(FctlTable *t, FILE *f)
{
    size_t w[32] = {0};

    if (!t || t->n_columns > 32)
        return;
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < t->n_columns; c++) {
            const char *s = t->cells[r * t->n_columns + c];
            if (s && strlen(s) > w[c])
                w[c] = strlen(s);
        }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_columns; c++) {
            const char *s = t->cells[r * t->n_columns + c];
            if (c + 1 == t->n_columns)
                fprintf(f, "%s", s ? s : "");
            else
                fprintf(f, "%-*s  ", (int)w[c], s ? s : "");
        }
        fputc('\n', f);
    }
}

FctlTable *fctl_table_free(FctlTable *t)
{
    if (!t)
        return NULL;
    for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
    return NULL;
}
