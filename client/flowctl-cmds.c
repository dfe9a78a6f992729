/* flowctl-cmds.c: connecting, reporting failures, and the request/answer
 * commands (validate, get, list, cancel, dlq, info, health, token, version). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flowctl.h"

uint64_t fctl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void fctl_print_json(json_t *doc)
{
    if (!doc)
        return;
    fctl_dump_json(doc, stdout, 0);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(doc);
}

static void print_json_document(json_t *doc)
{
    fctl_dump_json(doc, stdout, 2);
    fputc('\n', stdout);
    json_decref(doc);
}

FctlMode fctl_mode(const FctlArgs *a)
{
    const char *term = getenv("TERM");

    if (a->output == FCTL_OUTPUT_JSON)
        return FCTL_MODE_JSON;
    if (a->output == FCTL_OUTPUT_TEXT || a->command == FCTL_CMD_LOGS)
        return FCTL_MODE_PLAIN;
    if (!isatty(STDOUT_FILENO) || (term && strcmp(term, "dumb") == 0))
        return FCTL_MODE_PLAIN;
    return FCTL_MODE_VIEW;
}

bool fctl_use_color(const FctlArgs *a, FILE *f)
{
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

    /* https://no-color.org: present and not empty disables colour. */
    if (a->no_color || (no && no[0]) || (term && strcmp(term, "dumb") == 0))
        return false;
    return isatty(fileno(f));
}

/* ---- connecting and failing ------------------------------------------------------ */

static int read_token_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f) {
        fprintf(stderr, "flowctl: cannot read the token file %s: %s\n", path, strerror(errno));
        return FCTL_EXIT_USAGE;
    }
    n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0) {
        fprintf(stderr, "flowctl: the token file %s is empty\n", path);
        return FCTL_EXIT_USAGE;
    }
    return 0;
}

int fctl_connect(const FctlArgs *a, FcClient **ret)
{
    char token[4096] = "";
    FcClientOptions o = {
        .address = a->addr, .token = a->token, .ca_file = a->ca, .tls_server_name = a->tls_server_name};
    FcError err = {0};
    int ex;

    if (a->token_file) {
        ex = read_token_file(a->token_file, token, sizeof(token));
        if (ex)
            return ex;
        o.token = token;
    }
    if (fc_client_new(&o, ret, &err) < 0) {
        fprintf(stderr, "flowctl: %s\n", err.message);
        ex = FCTL_EXIT_USAGE;
    } else {
        ex = 0;
    }
    explicit_bzero(token, sizeof(token));
    return ex;
}

int fctl_fail(const FctlArgs *a, const FcError *err, const char *doing)
{
    switch (err->status) {
    case FC_STATUS_UNAVAILABLE:
        if (strncmp(err->message, "flowd: ", 7) == 0) {
            /* The server answered: it cannot take the request right now. */
            fprintf(stderr, "flowctl: the flowd server at %s cannot %s right now: %s\n", a->addr, doing,
                    err->message + 7);
            return FCTL_EXIT_UNREACHABLE;
        }
        fprintf(stderr,
                "flowctl: cannot reach the flowd server at %s: %s\n"
                "  Is flowd running there? Start it with `flowd` (it listens on FLOWD_LISTEN,\n"
                "  default 127.0.0.1:50051), or point flowctl at it with --addr HOST:PORT or "
                "FLOWD_ADDR%s.\n",
                a->addr, err->message, a->ca ? "" : " (add --ca FILE if it speaks TLS)");
        if (strcasestr(err->message, "handshake"))
            fprintf(stderr, "  The TLS handshake failed: check that the server speaks TLS on this "
                            "port\n  (FLOWD_TLS_CERT) and that --ca holds the CA that signed its "
                            "certificate.\n");
        return FCTL_EXIT_UNREACHABLE;
    case FC_STATUS_DEADLINE_EXCEEDED:
        fprintf(stderr, "flowctl: no answer from the flowd server at %s in time (%s)\n", a->addr, err->message);
        return FCTL_EXIT_UNREACHABLE;
    case FC_STATUS_UNAUTHENTICATED:
        fprintf(stderr,
                "flowctl: the server at %s did not accept %s: %s\n"
                "  Pass a token with --token, --token-file or FLOWD_TOKEN; an admin makes one\n"
                "  with `flowctl token create` on the server host.\n",
                a->addr, a->token || a->token_file ? "the token" : "a call without a token", err->message);
        return FCTL_EXIT_AUTH;
    case FC_STATUS_PERMISSION_DENIED:
        fprintf(stderr,
                "flowctl: not allowed to %s: %s\n"
                "  The token's role lacks this right (viewer < submitter < admin); ask an admin.\n",
                doing, err->message);
        return FCTL_EXIT_AUTH;
    case FC_STATUS_INVALID_ARGUMENT:
        fprintf(stderr, "flowctl: cannot %s: %s\n", doing, err->message);
        return FCTL_EXIT_USAGE;
    case FC_STATUS_OK:
        fprintf(stderr, "flowctl: cannot %s: %s\n", doing, err->message);
        return FCTL_EXIT_FAILED;
    default:
        fprintf(stderr, "flowctl: cannot %s: %s (%s)\n", doing, err->message, fc_status_name(err->status));
        return FCTL_EXIT_FAILED;
    }
}

void fctl_print_diagnostics(FILE *f, const char *file, const FcDiagnostics *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const FcDiagnostic *x = &d->items[i];
        if (x->line > 0)
            fprintf(f, "%s:%d:%d: %s\n", file, x->line, x->column, x->message);
        else if (x->path[0])
            fprintf(f, "%s: %s: %s\n", file, x->path, x->message);
        else
            fprintf(f, "%s: %s\n", file, x->message);
    }
}

int fctl_load_workflow(const char *file, FcWorkflow **ret)
{
    FcDiagnostics d = {0};
    FcError err = {0};

    if (fc_workflow_load_file(file, &d, ret, &err) == 0)
        return 0;
    if (d.n) {
        fctl_print_diagnostics(stderr, file, &d);
        fprintf(stderr, "flowctl: %s is not a valid workflow (%zu problem%s)\n", file, d.n, d.n == 1 ? "" : "s");
    } else {
        fprintf(stderr, "flowctl: %s\n", err.message);
    }
    fc_diagnostics_clear(&d);
    return FCTL_EXIT_USAGE;
}

/* ---- validate ------------------------------------------------------------------------- */

static int cmd_validate(const FctlArgs *a)
{
    FcWorkflow *wf = NULL;
    FcClient *c = NULL;
    FcDiagnostics d = {0};
    FcError err = {0};
    bool valid = false;
    int ex;

    ex = fctl_load_workflow(a->file, &wf);
    if (ex == 0 && a->offline) {
        printf("%s: the file is well-formed (not checked by a server: --offline)\n", a->file);
    } else if (ex == 0 && (ex = fctl_connect(a, &c)) == 0) {
        if (fc_validate(c, wf, &d, &valid, &err) < 0) {
            ex = fctl_fail(a, &err, "validate the workflow");
        } else if (fctl_mode(a) == FCTL_MODE_JSON) {
            json_t *o = json_object(), *arr = json_array();
            for (size_t i = 0; i < d.n; i++)
                json_array_append_new(arr,
                                      json_pack("{s:s, s:s}", "path", d.items[i].path, "message", d.items[i].message));
            json_object_set_new(o, "valid", json_boolean(valid));
            json_object_set_new(o, "diagnostics", arr);
            print_json_document(o);
            ex = valid ? FCTL_EXIT_OK : FCTL_EXIT_USAGE;
        } else {
            fctl_print_diagnostics(valid ? stdout : stderr, a->file, &d);
            if (valid)
                printf("%s: valid (%zu node%s)\n", a->file, fc_workflow_node_count(wf),
                       fc_workflow_node_count(wf) == 1 ? "" : "s");
            else
                fprintf(stderr, "flowctl: %s is not valid (%zu problem%s)\n", a->file, d.n, d.n == 1 ? "" : "s");
            ex = valid ? FCTL_EXIT_OK : FCTL_EXIT_USAGE;
        }
    }
    fc_diagnostics_clear(&d);
    fc_client_free(c);
    fc_workflow_free(wf);
    return ex;
}

/* ---- get, list, cancel -------------------------------------------------------------------- */

static void format_time(uint64_t unix_nano, char *buf, size_t len)
{
    time_t t = (time_t)(unix_nano / 1000000000ull);
    struct tm tm;

    if (!unix_nano || !localtime_r(&t, &tm)) {
        snprintf(buf, len, "-");
        return;
    }
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void format_run_duration(const FcRun *run, char *buf, size_t len)
{
    uint64_t end = run->finished_unix_nano ? run->finished_unix_nano : fctl_now_ns();

    if (!run->started_unix_nano || end < run->started_unix_nano) {
        snprintf(buf, len, "-");
        return;
    }
    fctl_format_duration_us((end - run->started_unix_nano) / 1000, buf, len);
}

static void print_run_summary(const FcRun *run)
{
    char created[32], dur[32];

    format_time(run->created_unix_nano, created, sizeof(created));
    format_run_duration(run, dur, sizeof(dur));
    printf("Run:       %s\n", run->run_id);
    printf("Workflow:  %s\n", run->workflow_name);
    printf("Status:    %s%s\n", fc_run_status_name(run->status), run->degraded ? " (degraded)" : "");
    printf("Owner:     %s (tenant %s)\n", run->owner[0] ? run->owner : "-", run->tenant[0] ? run->tenant : "-");
    printf("Created:   %s   Duration: %s\n", created, dur);
    if (run->has_failure && run->failure.kind)
        printf("Failure:   %s: %s\n", fc_failure_kind_name(run->failure.kind), run->failure.message);
    for (size_t i = 0; i < run->n_labels; i++)
        printf("%s%s=%s\n", i == 0 ? "Labels:    " : "           ", run->labels[i].key, run->labels[i].value);
}

static void print_node_table(const FcRun *run)
{
    static const char *const headers[] = {"NODE", "STATUS", "ATTEMPTS", "WALL", "CPU", "PEAK MEM", "FAILURE"};
    FctlTable *t = fctl_table_new(7, headers);

    for (size_t i = 0; i < run->n_nodes; i++) {
        const FcNodeRun *n = &run->nodes[i];
        char att[16], wall[32] = "-", cpu[32] = "-", mem[32] = "-", fail[256] = "";
        snprintf(att, sizeof(att), "%" PRIu32, n->attempts);
        if (n->has_usage) {
            fctl_format_duration_us(n->usage.wall_us, wall, sizeof(wall));
            fctl_format_duration_us(n->usage.cpu_user_us + n->usage.cpu_system_us, cpu, sizeof(cpu));
            fctl_format_bytes(n->usage.peak_memory_bytes, mem, sizeof(mem));
        }
        if (n->has_failure && n->failure.kind)
            snprintf(fail, sizeof(fail), "%s: %.200s", fc_failure_kind_name(n->failure.kind), n->failure.message);
        const char *row[] = {n->node_id, fc_node_status_name(n->status), att, wall, cpu, mem, fail};
        fctl_table_add(t, row);
    }
    fctl_table_print(t, stdout);
    fctl_table_free(t);
}

static int cmd_get(const FctlArgs *a, FcClient *c)
{
    FcRun *run = NULL;
    FcError err = {0};

    if (fc_get_run(c, a->run_id, &run, &err) < 0)
        return fctl_fail(a, &err, "get the run");
    if (fctl_mode(a) == FCTL_MODE_JSON) {
        print_json_document(fctl_run_to_json(run));
    } else if (a->outputs) {
        fctl_print_json_text(stdout, run->outputs_json[0] ? run->outputs_json : "{}");
    } else {
        print_run_summary(run);
        printf("\n");
        print_node_table(run);
    }
    fc_run_free(run);
    return FCTL_EXIT_OK;
}

static void add_run_row(FctlTable *t, const FcRun *run)
{
    char created[32], dur[32], nodes[32];
    size_t done = 0;

    for (size_t i = 0; i < run->n_nodes; i++)
        done += run->nodes[i].status >= FC_NODE_SUCCEEDED;
    format_time(run->created_unix_nano, created, sizeof(created));
    format_run_duration(run, dur, sizeof(dur));
    /* A list may carry run summaries without their nodes. */
    if (run->n_nodes)
        snprintf(nodes, sizeof(nodes), "%zu/%zu", done, run->n_nodes);
    else
        snprintf(nodes, sizeof(nodes), "-");
    const char *row[] = {run->run_id, run->workflow_name, fc_run_status_name(run->status), nodes, created, dur};
    fctl_table_add(t, row);
}

static int cmd_list(const FctlArgs *a, FcClient *c)
{
    static const char *const headers[] = {"RUN", "WORKFLOW", "STATUS", "NODES", "CREATED", "DURATION"};
    uint32_t limit = a->limit ? a->limit : 20, got = 0;
    FctlTable *t = fctl_table_new(6, headers);
    json_t *arr = json_array();
    char *token = NULL;
    int ex = FCTL_EXIT_OK;

    while (got < limit) {
        FcListOptions o = {.page_size = limit - got, .page_token = token, .status = a->status};
        FcRunPage *page = NULL;
        FcError err = {0};

        if (fc_list_runs(c, &o, &page, &err) < 0) {
            ex = fctl_fail(a, &err, "list runs");
            break;
        }
        for (size_t i = 0; i < page->n_runs && got < limit; i++, got++) {
            add_run_row(t, &page->runs[i]);
            json_array_append_new(arr, fctl_run_to_json(&page->runs[i]));
        }
        free(token);
        token = page->next_page_token[0] ? strdup(page->next_page_token) : NULL;
        fc_run_page_free(page);
        if (!token)
            break;
    }
    if (ex == FCTL_EXIT_OK && fctl_mode(a) == FCTL_MODE_JSON) {
        json_t *doc = json_object();
        json_object_set(doc, "runs", arr);
        if (token)
            json_object_set_new(doc, "next_page_token", json_string(token));
        print_json_document(doc);
    } else if (ex == FCTL_EXIT_OK && got == 0) {
        fprintf(stderr, "no runs%s%s\n", a->status ? " with status " : "",
                a->status ? fc_run_status_name(a->status) : "");
    } else if (ex == FCTL_EXIT_OK) {
        fctl_table_print(t, stdout);
    }
    json_decref(arr);
    fctl_table_free(t);
    free(token);
    return ex;
}

static int cmd_cancel(const FctlArgs *a, FcClient *c)
{
    FcRun *run = NULL;
    FcError err = {0};

    if (fc_cancel_run(c, a->run_id, a->reason, &run, &err) < 0)
        return fctl_fail(a, &err, "cancel the run");
    if (fctl_mode(a) == FCTL_MODE_JSON)
        print_json_document(fctl_run_to_json(run));
    else
        printf("run %s: %s\n", run->run_id, fc_run_status_name(run->status));
    fc_run_free(run);
    return FCTL_EXIT_OK;
}

/* ---- dead letters ------------------------------------------------------------------------ */

static void add_dead_letter_row(FctlTable *t, const FcDeadLetter *dl)
{
    char created[32], att[16], fail[160] = "";

    format_time(dl->created_unix_nano, created, sizeof(created));
    snprintf(att, sizeof(att), "%" PRIu32, dl->attempts);
    if (dl->has_failure)
        snprintf(fail, sizeof(fail), "%s: %.100s", fc_failure_kind_name(dl->failure.kind), dl->failure.message);
    const char *row[] = {dl->id,
                         dl->run_id,
                         dl->node_id,
                         dl->workflow_name,
                         att,
                         created,
                         dl->retried_run_id[0] ? dl->retried_run_id : "-",
                         fail};
    fctl_table_add(t, row);
}

static int cmd_dlq_list(const FctlArgs *a, FcClient *c)
{
    static const char *const headers[] = {"ID",       "RUN",     "NODE",       "WORKFLOW",
                                          "ATTEMPTS", "CREATED", "RETRIED AS", "FAILURE"};
    uint32_t limit = a->limit ? a->limit : 50;
    FcDeadLetterPage *page = NULL;
    FcError err = {0};

    if (fc_list_dead_letters(c, limit, NULL, &page, &err) < 0)
        return fctl_fail(a, &err, "list dead letters");
    if (fctl_mode(a) == FCTL_MODE_JSON) {
        json_t *doc = json_object(), *arr = json_array();
        for (size_t i = 0; i < page->n_dead_letters; i++)
            json_array_append_new(arr, fctl_dead_letter_to_json(&page->dead_letters[i]));
        json_object_set_new(doc, "dead_letters", arr);
        if (page->next_page_token[0])
            json_object_set_new(doc, "next_page_token", json_string(page->next_page_token));
        print_json_document(doc);
    } else if (page->n_dead_letters == 0) {
        fprintf(stderr, "the dead-letter queue is empty\n");
    } else {
        FctlTable *t = fctl_table_new(8, headers);
        for (size_t i = 0; i < page->n_dead_letters; i++)
            add_dead_letter_row(t, &page->dead_letters[i]);
        fctl_table_print(t, stdout);
        fctl_table_free(t);
    }
    fc_dead_letter_page_free(page);
    return FCTL_EXIT_OK;
}

static int cmd_dlq_retry(const FctlArgs *a, FcClient *c)
{
    FcError err = {0};
    char *run_id = NULL;

    if (fc_retry_dead_letter(c, a->id, &run_id, &err) < 0)
        return fctl_fail(a, &err, "retry the dead letter");
    if (fctl_mode(a) == FCTL_MODE_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "run_id", json_string(run_id));
        print_json_document(o);
    } else {
        printf("%s\n", run_id);
        fprintf(stderr,
                "flowctl: dead letter %s re-runs as run %s; follow it with: "
                "flowctl watch %s\n",
                a->id, run_id, run_id);
    }
    free(run_id);
    return FCTL_EXIT_OK;
}

/* ---- info, health, version, token ----------------------------------------------------------- */

static json_t *strings_to_json(const char *const *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(v[i]));
    return arr;
}

static json_t *server_info_to_json(const FcServerInfo *i)
{
    json_t *o = json_pack("{s:s, s:o, s:s, s:i, s:{s:s, s:s, s:o}}", "version", i->version, "node_kinds",
                          strings_to_json(i->node_kinds, i->n_node_kinds), "sandbox_mode", i->sandbox_mode,
                          "cgroup_version", (int)i->cgroup_version, "caller", "user", i->user, "tenant", i->tenant,
                          "roles", strings_to_json(i->roles, i->n_roles));
    if (o && i->has_quota)
        json_object_set_new(
            o, "quota",
            json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "max_concurrent_runs", (int)i->quota.max_concurrent_runs,
                      "max_queued_runs", (int)i->quota.max_queued_runs, "max_running_nodes",
                      (int)i->quota.max_running_nodes, "max_memory_mb", (int)i->quota.max_memory_mb, "max_cpu_millis",
                      (int)i->quota.max_cpu_millis, "max_pids", (int)i->quota.max_pids, "max_timeout_seconds",
                      (int)i->quota.max_timeout_seconds));
    return o;
}

/* Zero in a quota field means "no limit". */
static void quota_item(const char *label, uint32_t v, const char *unit, bool *first)
{
    printf("%s%s ", *first ? "" : ", ", label);
    if (v)
        printf("%" PRIu32 "%s", v, unit);
    else
        printf("unlimited");
    *first = false;
}

static void print_quota(const FcQuota *q)
{
    bool first = true;

    printf("Quota:      ");
    quota_item("concurrent runs", q->max_concurrent_runs, "", &first);
    quota_item("queued runs", q->max_queued_runs, "", &first);
    quota_item("running nodes", q->max_running_nodes, "", &first);
    printf("\nPer node:   ");
    first = true;
    quota_item("memory", q->max_memory_mb, " MiB", &first);
    quota_item("cpu", q->max_cpu_millis, " mCPU", &first);
    quota_item("pids", q->max_pids, "", &first);
    quota_item("timeout", q->max_timeout_seconds, " s", &first);
    printf("\n");
}

static void print_server_info(const FctlArgs *a, const FcServerInfo *i)
{
    printf("Server:     %s (flowd %s)\n", a->addr, i->version);
    printf("Sandbox:    %s", i->sandbox_mode);
    if (i->cgroup_version)
        printf(" (cgroup v%" PRIu32 ")", i->cgroup_version);
    printf("\nNode kinds: ");
    for (size_t k = 0; k < i->n_node_kinds; k++)
        printf("%s%s", k ? ", " : "", i->node_kinds[k]);
    printf("\nCaller:     %s (tenant %s; roles ", i->user[0] ? i->user : "-", i->tenant[0] ? i->tenant : "-");
    for (size_t k = 0; k < i->n_roles; k++)
        printf("%s%s", k ? ", " : "", i->roles[k]);
    printf(")\n");
    if (i->has_quota)
        print_quota(&i->quota);
}

static int cmd_info(const FctlArgs *a, FcClient *c)
{
    FcServerInfo *info = NULL;
    FcError err = {0};

    if (fc_server_info(c, &info, &err) < 0)
        return fctl_fail(a, &err, "get the server's info");
    if (fctl_mode(a) == FCTL_MODE_JSON)
        print_json_document(server_info_to_json(info));
    else
        print_server_info(a, info);
    fc_server_info_free(info);
    return FCTL_EXIT_OK;
}

static int cmd_health(const FctlArgs *a, FcClient *c)
{
    FcHealthStatus st;
    FcError err = {0};

    if (fc_health_check(c, a->service, &st, &err) < 0)
        return fctl_fail(a, &err, "check health");
    if (fctl_mode(a) == FCTL_MODE_JSON)
        print_json_document(
            json_pack("{s:s, s:s}", "service", a->service ? a->service : "", "status", fc_health_status_name(st)));
    else
        printf("%s\n", fc_health_status_name(st));
    return st == FC_HEALTH_SERVING ? FCTL_EXIT_OK : FCTL_EXIT_FAILED;
}

static int cmd_version(const FctlArgs *a)
{
    FcClientOptions o = {.address = a->addr,
                         .token = a->token,
                         .ca_file = a->ca,
                         .tls_server_name = a->tls_server_name,
                         .timeout_ms = 2000};
    FcServerInfo *info = NULL;
    FcClient *c = NULL;
    FcError err = {0};

    printf("flowctl %s (libflowd-client %s)\n", fc_version(), fc_version());
    /* The server's version is a courtesy: an unreachable server is no error here. */
    if (fc_client_new(&o, &c, &err) == 0 && fc_server_info(c, &info, &err) == 0)
        printf("server  %s at %s\n", info->version, a->addr);
    else
        printf("server  unknown (%s)\n", err.message);
    fc_server_info_free(info);
    fc_client_free(c);
    return FCTL_EXIT_OK;
}

/* `flowd` next to flowctl (an install, or bazel-bin/client/../server), else PATH. */
static int find_flowd(char *buf, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    if (n > 0) {
        self[n] = '\0';
        slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, len, "%s/flowd", self);
            if (access(buf, X_OK) == 0)
                return 0;
            snprintf(buf, len, "%s/../server/flowd", self);
            if (access(buf, X_OK) == 0)
                return 0;
        }
    }
    snprintf(buf, len, "flowd");
    return -ENOENT;
}

static int cmd_token_create(const FctlArgs *a)
{
    char flowd[PATH_MAX + 32];
    char **argv = calloc((size_t)a->n_rest + 4, sizeof(char *));

    if (!argv)
        return FCTL_EXIT_FAILED;
    (void)find_flowd(flowd, sizeof(flowd));
    argv[0] = flowd;
    argv[1] = (char *)"token";
    argv[2] = (char *)"create";
    for (int i = 0; i < a->n_rest; i++)
        argv[3 + i] = a->rest[i];
    fflush(NULL);
    /* flowd looks up PATH when it was not found next to us. */
    execvp(flowd, argv);
    fprintf(stderr,
            "flowctl: cannot run `flowd token create`: %s\n"
            "  Tokens are made on the server host, which holds the tokens file\n"
            "  (FLOWD_TOKENS_FILE). Run there: flowd token create --help\n",
            strerror(errno));
    free(argv);
    return FCTL_EXIT_FAILED;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int with_client(const FctlArgs *a, int (*fn)(const FctlArgs *, FcClient *))
{
    FcClient *c = NULL;
    int ex = fctl_connect(a, &c);

    if (ex == 0)
        ex = fn(a, c);
    fc_client_free(c);
    return ex;
}

int fctl_main(const FctlArgs *a)
{
    if (a->help || a->command == FCTL_CMD_HELP) {
        fctl_print_help(stdout, a->command == FCTL_CMD_HELP ? a->help_for : a->command);
        return FCTL_EXIT_OK;
    }
    switch (a->command) {
    case FCTL_CMD_RUN:
        return fctl_cmd_run(a);
    case FCTL_CMD_VALIDATE:
        return cmd_validate(a);
    case FCTL_CMD_WATCH:
        return fctl_cmd_watch(a);
    case FCTL_CMD_LOGS:
        return fctl_cmd_logs(a);
    case FCTL_CMD_GET:
        return with_client(a, cmd_get);
    case FCTL_CMD_LIST:
        return with_client(a, cmd_list);
    case FCTL_CMD_CANCEL:
        return with_client(a, cmd_cancel);
    case FCTL_CMD_DLQ_LIST:
        return with_client(a, cmd_dlq_list);
    case FCTL_CMD_DLQ_RETRY:
        return with_client(a, cmd_dlq_retry);
    case FCTL_CMD_INFO:
        return with_client(a, cmd_info);
    case FCTL_CMD_HEALTH:
        return with_client(a, cmd_health);
    case FCTL_CMD_TOKEN_CREATE:
        return cmd_token_create(a);
    case FCTL_CMD_VERSION:
        return cmd_version(a);
    default:
        fctl_print_help(stderr, FCTL_CMD_NONE);
        return FCTL_EXIT_USAGE;
    }
}
