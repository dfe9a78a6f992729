/* flowctl-args.c: the command line. Options may come before or after the
 * command; each command accepts the connection options plus its own, and
 * anything else is an error that names the closest option it knows. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "flowctl.h"

typedef enum OptId {
    OPT_HELP,
    OPT_ADDR,
    OPT_TOKEN,
    OPT_TOKEN_FILE,
    OPT_CA,
    OPT_TLS_SERVER_NAME,
    OPT_OUTPUT,
    OPT_NO_COLOR,
    OPT_INPUT,
    OPT_DETACH,
    OPT_LABEL,
    OPT_ON_INTERRUPT,
    OPT_IDEMPOTENCY_KEY,
    OPT_FROM,
    OPT_OUTPUTS,
    OPT_STATUS,
    OPT_LIMIT,
    OPT_REASON,
    OPT_NODE,
    OPT_SERVICE,
    OPT_OFFLINE,
    _OPT_MAX,
} OptId;

#define C(x) (1u << FCTL_CMD_##x)
#define ALL_CMDS (~0u)
#define OUTPUT_CMDS                                                                                                    \
    (C(RUN) | C(WATCH) | C(GET) | C(LIST) | C(CANCEL) | C(LOGS) | C(DLQ_LIST) | C(DLQ_RETRY) | C(INFO) | C(HEALTH) |   \
     C(VALIDATE))

typedef struct OptSpec {
    const char *name;
    char short_name;
    bool takes_value;
    unsigned commands; /* bit mask of FctlCommand that accept it */
    OptId id;
} OptSpec;

static const OptSpec options[] = {
    {"help", 'h', false, ALL_CMDS, OPT_HELP},
    {"addr", 0, true, ALL_CMDS, OPT_ADDR},
    {"token", 0, true, ALL_CMDS, OPT_TOKEN},
    {"token-file", 0, true, ALL_CMDS, OPT_TOKEN_FILE},
    {"ca", 0, true, ALL_CMDS, OPT_CA},
    {"tls-server-name", 0, true, ALL_CMDS, OPT_TLS_SERVER_NAME},
    {"output", 'o', true, OUTPUT_CMDS, OPT_OUTPUT},
    {"no-color", 0, false, ALL_CMDS, OPT_NO_COLOR},
    {"input", 'i', true, C(RUN), OPT_INPUT},
    {"detach", 'd', false, C(RUN), OPT_DETACH},
    {"label", 'l', true, C(RUN), OPT_LABEL},
    {"on-interrupt", 0, true, C(RUN), OPT_ON_INTERRUPT},
    {"idempotency-key", 0, true, C(RUN), OPT_IDEMPOTENCY_KEY},
    {"from", 0, true, C(WATCH), OPT_FROM},
    {"outputs", 0, false, C(GET), OPT_OUTPUTS},
    {"status", 's', true, C(LIST), OPT_STATUS},
    {"limit", 'n', true, C(LIST) | C(DLQ_LIST), OPT_LIMIT},
    {"reason", 'r', true, C(CANCEL), OPT_REASON},
    {"node", 0, true, C(LOGS), OPT_NODE},
    {"service", 0, true, C(HEALTH), OPT_SERVICE},
    {"offline", 0, false, C(VALIDATE), OPT_OFFLINE},
};

typedef struct CmdSpec {
    const char *name, *sub; /* "dlq" "list" */
    FctlCommand cmd;
    const char *positional; /* the one positional it takes, or NULL */
} CmdSpec;

static const CmdSpec commands[] = {
    {"run", NULL, FCTL_CMD_RUN, "FILE"},        {"validate", NULL, FCTL_CMD_VALIDATE, "FILE"},
    {"watch", NULL, FCTL_CMD_WATCH, "RUN"},     {"get", NULL, FCTL_CMD_GET, "RUN"},
    {"list", NULL, FCTL_CMD_LIST, NULL},        {"cancel", NULL, FCTL_CMD_CANCEL, "RUN"},
    {"logs", NULL, FCTL_CMD_LOGS, "RUN"},       {"dlq", "list", FCTL_CMD_DLQ_LIST, NULL},
    {"dlq", "retry", FCTL_CMD_DLQ_RETRY, "ID"}, {"info", NULL, FCTL_CMD_INFO, NULL},
    {"health", NULL, FCTL_CMD_HEALTH, NULL},    {"token", "create", FCTL_CMD_TOKEN_CREATE, NULL},
    {"version", NULL, FCTL_CMD_VERSION, NULL},  {"help", NULL, FCTL_CMD_HELP, NULL},
};

static int usage_error(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int usage_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Edit distance bounded to short words: enough to catch "--adr". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), d[32][32];

    if (la >= 32 || lb >= 32)
        return SIZE_MAX;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t x = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t y = d[i - 1][j] + 1, z = d[i][j - 1] + 1;
            d[i][j] = x < y ? (x < z ? x : z) : (y < z ? y : z);
        }
    return d[la][lb];
}

static const char *closest_option(const char *name)
{
    const char *best = NULL;
    size_t best_d = 3;

    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        size_t dd = distance(name, options[i].name);
        if (dd < best_d) {
            best_d = dd;
            best = options[i].name;
        }
    }
    return best;
}

static const char *closest_command(const char *name)
{
    const char *best = NULL;
    size_t best_d = 3;

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        size_t dd = distance(name, commands[i].name);
        if (dd < best_d) {
            best_d = dd;
            best = commands[i].name;
        }
    }
    return best;
}

const char *fctl_command_name(FctlCommand cmd)
{
    static char buf[_FCTL_CMD_MAX][24];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (commands[i].cmd == cmd) {
            if (!commands[i].sub)
                return commands[i].name;
            snprintf(buf[cmd], sizeof(buf[cmd]), "%s %s", commands[i].name, commands[i].sub);
            return buf[cmd];
        }
    return "";
}

/* ---- one option -------------------------------------------------------------- */

static int parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (!s[0] || s[0] == '-')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -EINVAL;
    *ret = v;
    return 0;
}

static int parse_label(FctlArgs *a, const char *v, char *errbuf, size_t errlen)
{
    const char *eq = strchr(v, '=');

    if (!eq || eq == v)
        return usage_error(errbuf, errlen, "--label wants KEY=VALUE, not \"%s\"", v);
    if (a->n_labels == FCTL_MAX_LABELS)
        return usage_error(errbuf, errlen, "at most %d labels", FCTL_MAX_LABELS);
    /* The value is a piece of argv, which is ours to write: cutting it at
     * '=' makes the key a string of its own without an allocation. */
    *(char *)eq = '\0';
    a->labels[a->n_labels++] = (FcLabel){v, eq + 1};
    return 0;
}

static int apply_enum(const char *opt, const char *v, const char *const *names, size_t n, int *ret, char *errbuf,
                      size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(v, names[i]) == 0) {
            *ret = (int)i;
            return 0;
        }
    return usage_error(errbuf, errlen, "--%s: \"%s\" is not one of the choices (see --help)", opt, v);
}

static int apply_option(FctlArgs *a, const OptSpec *o, const char *v, char *errbuf, size_t errlen)
{
    static const char *const outputs[] = {NULL, "text", "json"};
    static const char *const interrupts[] = {"ask", "cancel", "detach"};
    uint64_t u = 0;
    int e = 0;

    switch (o->id) {
    case OPT_HELP:
        a->help = true;
        return 0;
    case OPT_ADDR:
        a->addr = v;
        return 0;
    case OPT_TOKEN:
        a->token = v;
        return 0;
    case OPT_TOKEN_FILE:
        a->token_file = v;
        return 0;
    case OPT_CA:
        a->ca = v;
        return 0;
    case OPT_TLS_SERVER_NAME:
        a->tls_server_name = v;
        return 0;
    case OPT_NO_COLOR:
        a->no_color = true;
        return 0;
    case OPT_INPUT:
        a->input = v;
        return 0;
    case OPT_DETACH:
        a->detach = true;
        return 0;
    case OPT_LABEL:
        return parse_label(a, v, errbuf, errlen);
    case OPT_IDEMPOTENCY_KEY:
        a->idempotency_key = v;
        return 0;
    case OPT_OUTPUTS:
        a->outputs = true;
        return 0;
    case OPT_REASON:
        a->reason = v;
        return 0;
    case OPT_NODE:
        a->node = v;
        return 0;
    case OPT_SERVICE:
        a->service = v;
        return 0;
    case OPT_OFFLINE:
        a->offline = true;
        return 0;
    case OPT_OUTPUT:
        if (apply_enum("output", v, outputs, 3, &e, errbuf, errlen) < 0)
            return -EINVAL;
        a->output = (FctlOutput)e;
        return 0;
    case OPT_ON_INTERRUPT:
        if (apply_enum("on-interrupt", v, interrupts, 3, &e, errbuf, errlen) < 0)
            return -EINVAL;
        a->on_interrupt = (FctlInterrupt)e;
        return 0;
    case OPT_FROM:
        if (parse_uint(v, UINT64_MAX, &u) < 0)
            return usage_error(errbuf, errlen, "--from wants an event number (0, 1, ...), not \"%s\"", v);
        a->from_seq = u;
        return 0;
    case OPT_LIMIT:
        if (parse_uint(v, 10000, &u) < 0 || u == 0)
            return usage_error(errbuf, errlen, "--limit wants a number from 1 to 10000, not \"%s\"", v);
        a->limit = (uint32_t)u;
        return 0;
    case OPT_STATUS:
        if (fc_run_status_from_name(v, &a->status) < 0)
            return usage_error(errbuf, errlen,
                               "--status wants queued, running, succeeded, failed or cancelled, "
                               "not \"%s\"",
                               v);
        return 0;
    case _OPT_MAX:
        break;
    }
    return -EINVAL;
}

/* ---- the whole line --------------------------------------------------------------- */

typedef struct Parsed {
    const OptSpec *opt[256];
    const char *val[256];
    size_t n_opts;
    char *pos[256];
    size_t n_pos;
    int rest_index; /* argv index after "token create", or 0 */
} Parsed;

static const OptSpec *find_option(const char *name, char short_name)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if ((name && strcmp(options[i].name, name) == 0) ||
            (!name && short_name && options[i].short_name == short_name))
            return &options[i];
    return NULL;
}

/* Splits argv into options (with values) and positional words. */
static int split_argv(int argc, char **argv, Parsed *p, char *errbuf, size_t errlen)
{
    bool only_pos = false;

    for (int i = 1; i < argc; i++) {
        char *arg = argv[i], name[64];
        const char *value = NULL, *eq;
        const OptSpec *o;

        if (p->n_pos == 2 && strcmp(p->pos[0], "token") == 0 && strcmp(p->pos[1], "create") == 0 &&
            strcmp(arg, "--help") != 0 && strcmp(arg, "-h") != 0) {
            p->rest_index = i; /* the rest belongs to `flowd token create` */
            return 0;
        }
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (p->n_pos == 256)
                return usage_error(errbuf, errlen, "too many arguments");
            p->pos[p->n_pos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (arg[1] == '-') {
            eq = strchr(arg + 2, '=');
            snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg - 2) : 63, arg + 2);
            value = eq ? eq + 1 : NULL;
            o = find_option(name, 0);
        } else {
            snprintf(name, sizeof(name), "%s", arg + 1);
            o = arg[2] == '\0' ? find_option(NULL, arg[1]) : NULL;
        }
        if (!o) {
            const char *close = closest_option(name);
            return close ? usage_error(errbuf, errlen, "unknown option %s; did you mean --%s?", arg, close)
                         : usage_error(errbuf, errlen, "unknown option %s (see --help)", arg);
        }
        if (o->takes_value && !value) {
            if (i + 1 >= argc)
                return usage_error(errbuf, errlen, "--%s needs a value", o->name);
            value = argv[++i];
        } else if (!o->takes_value && value) {
            return usage_error(errbuf, errlen, "--%s takes no value", o->name);
        }
        if (p->n_opts == 256)
            return usage_error(errbuf, errlen, "too many options");
        p->opt[p->n_opts] = o;
        p->val[p->n_opts++] = value;
    }
    return 0;
}

static int find_command(Parsed *p, FctlArgs *a, const CmdSpec **ret, size_t *ret_used, char *errbuf, size_t errlen)
{
    const char *w = p->n_pos > 0 ? p->pos[0] : NULL, *close;

    if (!w) {
        *ret = NULL;
        *ret_used = 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const CmdSpec *c = &commands[i];
        if (strcmp(c->name, w) != 0)
            continue;
        if (!c->sub) {
            *ret = c;
            *ret_used = 1;
            return 0;
        }
        if (p->n_pos > 1 && strcmp(c->sub, p->pos[1]) == 0) {
            *ret = c;
            *ret_used = 2;
            return 0;
        }
    }
    if (strcmp(w, "dlq") == 0 || strcmp(w, "token") == 0) {
        if (a->help && p->n_pos == 1) { /* `flowctl dlq --help` */
            *ret = strcmp(w, "dlq") == 0 ? &commands[7] : &commands[11];
            *ret_used = 1;
            return 0;
        }
        return usage_error(errbuf, errlen, "\"%s\" wants a subcommand: %s", w,
                           w[0] == 'd' ? "dlq list, dlq retry ID" : "token create");
    }
    close = closest_command(w);
    return close ? usage_error(errbuf, errlen, "unknown command \"%s\"; did you mean \"%s\"?", w, close)
                 : usage_error(errbuf, errlen, "unknown command \"%s\" (see flowctl --help)", w);
}

static void apply_environment(FctlArgs *a)
{
    if (!a->addr)
        a->addr = getenv("FLOWD_ADDR");
    if (!a->token && !a->token_file) {
        a->token = getenv("FLOWD_TOKEN");
        if (!a->token || !a->token[0]) {
            a->token = NULL;
            a->token_file = getenv("FLOWD_TOKEN_FILE");
        }
    }
    if (!a->ca)
        a->ca = getenv("FLOWD_CA");
    if (!a->tls_server_name)
        a->tls_server_name = getenv("FLOWD_TLS_SERVER_NAME");
    if (!a->addr || !a->addr[0])
        a->addr = "127.0.0.1:50051";
}

static int assign_positionals(Parsed *p, size_t used, const CmdSpec *c, FctlArgs *a, char *errbuf, size_t errlen)
{
    size_t extra = p->n_pos - used;

    if (a->command == FCTL_CMD_HELP) {
        if (extra > 0) {
            Parsed sub = {.n_pos = extra};
            const CmdSpec *target;
            size_t u;
            memcpy(sub.pos, p->pos + used, extra * sizeof(char *));
            if (find_command(&sub, a, &target, &u, errbuf, errlen) < 0)
                return -EINVAL;
            a->help_for = target ? target->cmd : FCTL_CMD_NONE;
        }
        return 0;
    }
    if (a->help)
        return 0; /* `flowctl run --help` needs no FILE */
    if (!c->positional && extra > 0)
        return usage_error(errbuf, errlen, "%s takes no argument \"%s\"", fctl_command_name(c->cmd), p->pos[used]);
    if (c->positional && extra != 1)
        return usage_error(
            errbuf, errlen, extra ? "%s takes one %s; extra \"%s\"" : "%s needs a %s (see flowctl %s --help)",
            fctl_command_name(c->cmd), c->positional, extra ? p->pos[used + 1] : fctl_command_name(c->cmd));
    if (!c->positional)
        return 0;
    if (c->cmd == FCTL_CMD_RUN || c->cmd == FCTL_CMD_VALIDATE)
        a->file = p->pos[used];
    else if (c->cmd == FCTL_CMD_DLQ_RETRY)
        a->id = p->pos[used];
    else
        a->run_id = p->pos[used];
    return 0;
}

int fctl_parse_args(int argc, char **argv, FctlArgs *ret, char *errbuf, size_t errlen)
{
    Parsed p = {0};
    FctlArgs a = {.limit = 0};
    const CmdSpec *c = NULL;
    size_t used = 0;
    int r;

    r = split_argv(argc, argv, &p, errbuf, errlen);
    if (r < 0)
        return r;
    for (size_t i = 0; i < p.n_opts; i++)
        if (p.opt[i]->id == OPT_HELP)
            a.help = true;
    r = find_command(&p, &a, &c, &used, errbuf, errlen);
    if (r < 0)
        return r;
    a.command = c ? c->cmd : FCTL_CMD_NONE;
    for (size_t i = 0; i < p.n_opts; i++) {
        if (c && !(p.opt[i]->commands & (1u << c->cmd)))
            return usage_error(errbuf, errlen, "%s does not take --%s (see flowctl %s --help)",
                               fctl_command_name(c->cmd), p.opt[i]->name, fctl_command_name(c->cmd));
        r = apply_option(&a, p.opt[i], p.val[i], errbuf, errlen);
        if (r < 0)
            return r;
    }
    if (c) {
        r = assign_positionals(&p, used, c, &a, errbuf, errlen);
        if (r < 0)
            return r;
    }
    if (p.rest_index > 0) {
        a.rest = argv + p.rest_index;
        a.n_rest = argc - p.rest_index;
    }
    if (a.token && a.token_file)
        return usage_error(errbuf, errlen, "give --token or --token-file, not both");
    apply_environment(&a);
    *ret = a;
    return 0;
}
