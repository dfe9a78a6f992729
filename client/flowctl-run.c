/* flowctl-run.c: the commands that follow a run's event stream: run, watch
 * and logs, with the three renderers and Ctrl-C handling. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "flowctl.h"

#define REDRAW_NS (80 * 1000000ull)

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted++;
}

static void catch_interrupts(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Everything one followed stream needs. */
typedef struct Follow {
    const FctlArgs *a;
    FcClient *client;
    FctlMode mode;
    FctlView *view;
    FILE *out;
    bool logs_only;  /* `flowctl logs` */
    bool can_cancel; /* `run`: Ctrl-C may cancel; `watch`/`logs`: it only stops */
    uint64_t t0, last_seq, last_draw;
    char run_id[128];
    FcEventType terminal;
    char *outputs;
    char *failure;           /* why the run failed, for the summary */
    char failed_nodes[1024]; /* "b: TIMEOUT: ...\n" per node that failed for good */
    char above[8192];        /* log lines waiting to be printed above the view */
    size_t above_len;
    int handled_interrupts;
    bool detached, cancelling, stopped;
} Follow;

static void follow_redraw(Follow *f, bool force)
{
    uint64_t now = fctl_now_ns();

    if (f->mode != FCTL_MODE_VIEW)
        return;
    if (!force && f->above_len == 0 && now - f->last_draw < REDRAW_NS)
        return;
    fctl_view_draw(f->view, f->out, now, f->above);
    f->above[0] = '\0';
    f->above_len = 0;
    f->last_draw = now;
}

static void queue_above(Follow *f, const FcEvent *ev)
{
    int n = snprintf(f->above + f->above_len, sizeof(f->above) - f->above_len, "  %s | %s\n", ev->node_id, ev->message);
    if (n > 0 && f->above_len + (size_t)n < sizeof(f->above))
        f->above_len += (size_t)n;
    else
        follow_redraw(f, true); /* full: flush what is queued and drop the rest */
}

static void remember_terminal(Follow *f, const FcEvent *ev)
{
    f->terminal = ev->type;
    if (ev->output_json[0] && !f->outputs)
        f->outputs = strdup(ev->output_json);
    if (ev->has_failure || ev->message[0]) {
        free(f->failure);
        f->failure = NULL;
        if (ev->has_failure && ev->failure.message[0])
            f->failure = strdup(ev->failure.message);
        else if (ev->message[0])
            f->failure = strdup(ev->message);
    }
}

static void remember_failed_node(Follow *f, const FcEvent *ev)
{
    size_t len = strlen(f->failed_nodes);

    snprintf(f->failed_nodes + len, sizeof(f->failed_nodes) - len, "  node %s (attempt %u): %s%s%.200s\n", ev->node_id,
             ev->attempt, ev->has_failure ? fc_failure_kind_name(ev->failure.kind) : "failed",
             ev->has_failure && ev->failure.message[0] ? ": " : "",
             ev->has_failure ? ev->failure.message : ev->message);
}

static void print_log_event(Follow *f, const FcEvent *ev)
{
    if (ev->type != FC_EVENT_NODE_LOG || (f->a->node && strcmp(f->a->node, ev->node_id) != 0))
        return;
    if (f->mode == FCTL_MODE_JSON) {
        fctl_print_json(fctl_event_to_json(ev));
        return;
    }
    if (f->a->node)
        fprintf(f->out, "%s\n", ev->message);
    else
        fprintf(f->out, "%-16s | %s\n", ev->node_id, ev->message);
    fflush(f->out);
}

static void render_event(Follow *f, const FcEvent *ev)
{
    char line[8192];

    if (f->logs_only) {
        print_log_event(f, ev);
        return;
    }
    switch (f->mode) {
    case FCTL_MODE_JSON:
        fctl_print_json(fctl_event_to_json(ev));
        break;
    case FCTL_MODE_PLAIN:
        fctl_format_event_plain(ev, f->t0, line, sizeof(line));
        fprintf(f->out, "%s\n", line);
        fflush(f->out);
        break;
    case FCTL_MODE_VIEW:
        fctl_view_apply(f->view, ev, fctl_now_ns());
        if (ev->type == FC_EVENT_NODE_LOG)
            queue_above(f, ev);
        follow_redraw(f, fc_event_type_is_terminal(ev->type));
        break;
    }
}

/* ---- Ctrl-C -------------------------------------------------------------------- */

typedef enum Choice { CHOICE_CANCEL, CHOICE_DETACH, CHOICE_WATCH } Choice;

/* Reads one answer line from the terminal. The Ctrl-C handler may run on any
 * thread (gRPC's threads do not block signals), so a read would not see
 * EINTR: poll in short steps and watch the interrupt counter instead. */
static int read_answer(char *buf, size_t len)
{
    int seen = interrupted;
    size_t n = 0;

    while (n + 1 < len) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        char ch;
        if (interrupted != seen)
            return -EINTR;
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (read(STDIN_FILENO, &ch, 1) != 1)
            return -EIO;
        if (ch == '\n')
            break;
        buf[n++] = ch;
    }
    buf[n] = '\0';
    return 0;
}

static Choice ask(Follow *f)
{
    char answer[16];

    if (f->mode == FCTL_MODE_VIEW)
        fctl_view_forget(f->view);
    fprintf(stderr,
            "\nRun %s is still going. [c]ancel it, [d]etach (it keeps running), "
            "or [w]atch on? [c/d/w] ",
            f->run_id);
    fflush(stderr);
    /* A second Ctrl-C here means "get me out", which leaves the run alone. */
    if (read_answer(answer, sizeof(answer)) < 0)
        return CHOICE_DETACH;
    f->handled_interrupts = interrupted;
    return answer[0] == 'c' || answer[0] == 'C'   ? CHOICE_CANCEL
           : answer[0] == 'd' || answer[0] == 'D' ? CHOICE_DETACH
                                                  : CHOICE_WATCH;
}

static Choice decide(Follow *f)
{
    if (!f->can_cancel || f->cancelling)
        return CHOICE_DETACH; /* watch/logs, or a second Ctrl-C while cancelling */
    if (f->a->on_interrupt == FCTL_INTERRUPT_CANCEL)
        return CHOICE_CANCEL;
    if (f->a->on_interrupt == FCTL_INTERRUPT_DETACH)
        return CHOICE_DETACH;
    if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO))
        return ask(f);
    return CHOICE_CANCEL;
}

static int cancel_run(Follow *f)
{
    FcError err = {0};
    FcRun *run = NULL;

    fprintf(stderr, "flowctl: cancelling run %s ...\n", f->run_id);
    if (fc_cancel_run(f->client, f->run_id, "interrupted in flowctl", &run, &err) < 0) {
        fprintf(stderr, "flowctl: cannot cancel run %s: %s (%s)\n", f->run_id, err.message, fc_status_name(err.status));
        f->detached = true;
        return 1;
    }
    fc_run_free(run);
    f->cancelling = true;
    if (f->mode == FCTL_MODE_VIEW)
        fctl_view_forget(f->view);
    return 0; /* keep following to see RUN_CANCELLED */
}

/* Called between and after events; returns non-zero to stop the stream. */
static int check_interrupt(Follow *f)
{
    if (interrupted <= f->handled_interrupts)
        return 0;
    f->handled_interrupts = interrupted;
    if (!f->run_id[0]) {
        fprintf(stderr, "\nflowctl: interrupted before the server acknowledged the run\n");
        f->stopped = true;
        return 1;
    }
    switch (decide(f)) {
    case CHOICE_CANCEL:
        return cancel_run(f);
    case CHOICE_DETACH:
        f->detached = true;
        return 1;
    case CHOICE_WATCH:
        return 0;
    }
    return 0;
}

static int on_event(const FcEvent *ev, void *userdata)
{
    Follow *f = userdata;

    if (!f->run_id[0])
        snprintf(f->run_id, sizeof(f->run_id), "%s", ev->run_id);
    if (!f->t0)
        f->t0 = ev->time_unix_nano;
    f->last_seq = ev->seq;
    if (fc_event_type_is_terminal(ev->type))
        remember_terminal(f, ev);
    if (ev->type == FC_EVENT_NODE_FAILED)
        remember_failed_node(f, ev);
    render_event(f, ev);
    return check_interrupt(f);
}

static int on_idle(void *userdata)
{
    Follow *f = userdata;
    follow_redraw(f, false);
    return check_interrupt(f);
}

/* ---- after the stream --------------------------------------------------------------- */

static void print_outputs(Follow *f)
{
    FcRun *run = NULL;
    FcError err = {0};

    if (f->mode == FCTL_MODE_JSON || f->logs_only)
        return;
    /* RUN_SUCCEEDED carries the outputs; a failed run's partial outputs come
     * from GetRun. */
    if (!f->outputs && fc_get_run(f->client, f->run_id, &run, &err) == 0 && run->outputs_json[0])
        f->outputs = strdup(run->outputs_json);
    fc_run_free(run);
    if (!f->outputs || !f->outputs[0])
        return;
    fprintf(f->out, f->mode == FCTL_MODE_VIEW ? "\noutputs:\n" : "outputs:\n");
    fctl_print_json_text(f->out, f->outputs);
}

static int finish(Follow *f, int r, const FcError *err)
{
    const char *verb = f->a->command == FCTL_CMD_RUN ? "run" : "watch";

    if (f->mode == FCTL_MODE_VIEW && f->view && (fctl_view_dirty(f->view) || f->above_len))
        follow_redraw(f, true);
    if (f->detached) {
        fprintf(stderr,
                "\nflowctl: stopped following run %s; it keeps running.\n"
                "  Follow it again with: flowctl watch %s --from %llu\n",
                f->run_id, f->run_id, (unsigned long long)f->last_seq);
        return f->a->command == FCTL_CMD_RUN ? FCTL_EXIT_OK : 130;
    }
    if (f->stopped)
        return 130;
    if (r < 0 && !f->terminal) {
        if (f->run_id[0] && (err->status == FC_STATUS_UNAVAILABLE || err->status == FC_STATUS_INTERNAL))
            fprintf(stderr,
                    "flowctl: lost the stream of run %s after event #%llu: %s\n"
                    "  The run goes on on the server; resume with: "
                    "flowctl watch %s --from %llu\n",
                    f->run_id, (unsigned long long)f->last_seq, err->message, f->run_id,
                    (unsigned long long)f->last_seq);
        return fctl_fail(f->a, err, verb);
    }
    if (!f->terminal) {
        fprintf(stderr, "flowctl: the server ended the stream of run %s before the run ended\n", f->run_id);
        return FCTL_EXIT_FAILED;
    }
    print_outputs(f);
    if (f->terminal == FC_EVENT_RUN_SUCCEEDED)
        return FCTL_EXIT_OK;
    if (!f->logs_only) {
        fprintf(stderr, "flowctl: run %s %s%s%s\n%s", f->run_id,
                f->terminal == FC_EVENT_RUN_FAILED ? "failed" : "was cancelled", f->failure ? ": " : "",
                f->failure ? f->failure : "", f->failed_nodes);
        if (f->failed_nodes[0])
            fprintf(stderr, "  Failed nodes are kept with their inputs in the dead-letter queue "
                            "(flowctl dlq list).\n");
    }
    return f->logs_only ? FCTL_EXIT_OK : FCTL_EXIT_FAILED;
}

static void follow_free(Follow *f)
{
    fctl_view_free(f->view);
    free(f->outputs);
    free(f->failure);
}

static const FcStreamHandlers *handlers_for(Follow *f, FcStreamHandlers *h)
{
    *h = (FcStreamHandlers){.on_event = on_event, .on_idle = on_idle, .userdata = f};
    return h;
}

static unsigned terminal_width(void)
{
    struct winsize ws;
    const char *cols = getenv("COLUMNS");

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    if (cols && atoi(cols) > 20)
        return (unsigned)atoi(cols);
    return 100;
}

static int follow_init(Follow *f, const FctlArgs *a, FcClient *c, const char *title, const char *const *ids, size_t n)
{
    FctlViewOptions o = {.color = fctl_use_color(a, stdout), .width = terminal_width()};

    *f = (Follow){.a = a, .client = c, .mode = fctl_mode(a), .out = stdout};
    if (f->mode != FCTL_MODE_VIEW)
        return 0;
    f->view = fctl_view_new(title, ids, n, &o);
    if (!f->view)
        return -ENOMEM;
    follow_redraw(f, true);
    return 0;
}

/* ---- the commands --------------------------------------------------------------- */

static int load_inputs(const FctlArgs *a, const FcWorkflow *wf, char **ret)
{
    FcDiagnostics d = {0};
    FcError err = {0};

    if (!a->input) {
        *ret = NULL;
        return 0;
    }
    if (fc_inputs_load_file(a->input, wf, &d, ret, &err) == 0)
        return 0;
    if (d.n)
        fctl_print_diagnostics(stderr, a->input, &d);
    else
        fprintf(stderr, "flowctl: %s\n", err.message);
    fc_diagnostics_clear(&d);
    return FCTL_EXIT_USAGE;
}

static int run_detached(const FctlArgs *a, FcClient *c, const FcWorkflow *wf, const FcSubmitOptions *so)
{
    FcError err = {0};
    char *run_id = NULL;
    bool dedup = false;

    if (fc_submit(c, wf, so, &run_id, &dedup, &err) < 0)
        return fctl_fail(a, &err, "submit the run");
    if (fctl_mode(a) == FCTL_MODE_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "run_id", json_string(run_id));
        json_object_set_new(o, "deduplicated", json_boolean(dedup));
        fctl_print_json(o);
    } else {
        printf("%s\n", run_id);
        fprintf(stderr, "flowctl: %s run %s; follow it with: flowctl watch %s\n",
                dedup ? "already submitted as" : "submitted", run_id, run_id);
    }
    free(run_id);
    return FCTL_EXIT_OK;
}

/* ExecuteRun refused the workflow: show the server's diagnostics one per line. */
static int report_invalid(const FctlArgs *a, FcClient *c, const FcWorkflow *wf, const FcError *err)
{
    FcDiagnostics d = {0};
    FcError verr = {0};
    bool valid = true;

    if (fc_validate(c, wf, &d, &valid, &verr) == 0 && !valid && d.n) {
        fctl_print_diagnostics(stderr, a->file, &d);
        fc_diagnostics_clear(&d);
        return FCTL_EXIT_USAGE;
    }
    fc_diagnostics_clear(&d);
    fprintf(stderr, "flowctl: %s: the server refused the run: %s\n", a->file, err->message);
    return FCTL_EXIT_USAGE;
}

static int run_follow(const FctlArgs *a, FcClient *c, const FcWorkflow *wf, const FcSubmitOptions *so)
{
    const char **ids = NULL;
    size_t n = 0;
    FcStreamHandlers h;
    FcError err = {0};
    Follow f;
    int r, ex;

    if (fc_workflow_topo_order(wf, &ids, &n) < 0 ||
        follow_init(&f, a, c, fc_workflow_name(wf)[0] ? fc_workflow_name(wf) : a->file, ids, n) < 0) {
        free(ids);
        fprintf(stderr, "flowctl: out of memory\n");
        return FCTL_EXIT_FAILED;
    }
    f.can_cancel = true;
    catch_interrupts();
    r = fc_execute(c, wf, so, handlers_for(&f, &h), &err);
    if (r < 0 && err.status == FC_STATUS_INVALID_ARGUMENT && !f.run_id[0]) {
        if (f.mode == FCTL_MODE_VIEW)
            fputc('\n', stdout);
        ex = report_invalid(a, c, wf, &err);
    } else {
        ex = finish(&f, r, &err);
    }
    follow_free(&f);
    free(ids);
    return ex;
}

int fctl_cmd_run(const FctlArgs *a)
{
    FcWorkflow *wf = NULL;
    FcClient *c = NULL;
    char *inputs = NULL;
    int ex;

    ex = fctl_load_workflow(a->file, &wf);
    if (ex == 0)
        ex = load_inputs(a, wf, &inputs);
    if (ex == 0)
        ex = fctl_connect(a, &c);
    if (ex == 0) {
        FcSubmitOptions so = {
            .inputs_json = inputs, .idempotency_key = a->idempotency_key, .n_labels = a->n_labels, .labels = a->labels};
        ex = a->detach ? run_detached(a, c, wf, &so) : run_follow(a, c, wf, &so);
    }
    fc_client_free(c);
    fc_workflow_free(wf);
    free(inputs);
    return ex;
}

/* The run's node ids in the server's order, borrowed from run. */
static const char **run_node_ids(const FcRun *run)
{
    const char **ids = calloc(run->n_nodes + 1, sizeof(char *));
    for (size_t i = 0; ids && i < run->n_nodes; i++)
        ids[i] = run->nodes[i].node_id;
    return ids;
}

static int follow_existing(const FctlArgs *a, bool logs_only, uint64_t from)
{
    FcClient *c = NULL;
    FcRun *run = NULL;
    const char **ids = NULL;
    FcStreamHandlers h;
    FcError err = {0};
    Follow f;
    int ex, r;

    ex = fctl_connect(a, &c);
    if (ex)
        return ex;
    if (fc_get_run(c, a->run_id, &run, &err) < 0) {
        ex = fctl_fail(a, &err, "get the run");
        fc_client_free(c);
        return ex;
    }
    ids = run_node_ids(run);
    if (!ids || follow_init(&f, a, c, run->workflow_name, ids, run->n_nodes) < 0) {
        fprintf(stderr, "flowctl: out of memory\n");
        ex = FCTL_EXIT_FAILED;
    } else {
        f.logs_only = logs_only;
        f.t0 = run->created_unix_nano;
        snprintf(f.run_id, sizeof(f.run_id), "%s", run->run_id);
        catch_interrupts();
        r = fc_watch(c, a->run_id, from, handlers_for(&f, &h), &err);
        ex = finish(&f, r, &err);
        follow_free(&f);
    }
    free(ids);
    fc_run_free(run);
    fc_client_free(c);
    return ex;
}

int fctl_cmd_watch(const FctlArgs *a) { return follow_existing(a, false, a->from_seq); }

int fctl_cmd_logs(const FctlArgs *a) { return follow_existing(a, true, 0); }
