/* The configuration table: each FLOWD_* variable with its type, default,
 * bounds and meaning. One table drives parsing, validation and --help. */
#include "server/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/util/util.h"

typedef enum VarType {
    VAR_STRING,
    VAR_UINT,
    VAR_CHOICE,
    VAR_ADDR,
    _VAR_TYPE_MAX,
} VarType;

typedef struct Var {
    const char *name;
    VarType type;
    size_t offset;
    const char *def; /* NULL: unset */
    uint32_t min;
    uint32_t max;
    const char *choices; /* "a|b|c" */
    const char *help;
} Var;

#define S(field) offsetof(FlowdConfig, field)

static const Var vars[] = {
    {"FLOWD_LISTEN", VAR_ADDR, S(listen), "127.0.0.1:50051", 0, 0, NULL, "gRPC address (host:port or unix:PATH)"},
    {"FLOWD_HTTP_LISTEN", VAR_ADDR, S(http_listen), "127.0.0.1:9090", 0, 0, NULL,
     "HTTP address for /metrics, /healthz, /readyz"},
    {"FLOWD_HEALTH_LISTEN", VAR_ADDR, S(health_listen), NULL, 0, 0, NULL,
     "plaintext gRPC health-only address, for Kubernetes probes when FLOWD_LISTEN uses TLS"},
    {"FLOWD_DATA_DIR", VAR_STRING, S(data_dir), "/var/lib/flowd", 0, 0, NULL,
     "directory for the SQLite store and node scratch space"},
    {"FLOWD_STORE", VAR_STRING, S(store), NULL, 0, 0, NULL, "store location, sqlite:PATH (default DATA_DIR/flowd.db)"},
    {"FLOWD_STORE_SYNC", VAR_CHOICE, S(store_sync_full), "normal", 0, 0, "normal|full",
     "normal survives a process crash; full also survives power loss"},
    {"FLOWD_MAX_WORKERS", VAR_UINT, S(max_workers), "0", 0, 4096, NULL, "concurrent node sandboxes (0: 4 per CPU)"},
    {"FLOWD_TIMEOUT_SECONDS", VAR_UINT, S(timeout_seconds), "300", 1, 86400, NULL,
     "default wall-clock limit of a node attempt"},
    {"FLOWD_MEMORY_LIMIT_MB", VAR_UINT, S(memory_limit_mb), "512", 8, 1048576, NULL, "default node memory limit"},
    {"FLOWD_CPU_LIMIT_MILLIS", VAR_UINT, S(cpu_limit_millis), "1000", 10, 1024000, NULL,
     "default node CPU limit (1000 = one CPU)"},
    {"FLOWD_PIDS_LIMIT", VAR_UINT, S(pids_limit), "64", 1, 65536, NULL, "default node process/thread limit"},
    {"FLOWD_MAX_OUTPUT_MB", VAR_UINT, S(max_output_mb), "16", 1, 1024, NULL, "largest node output"},
    {"FLOWD_MAX_MESSAGE_MB", VAR_UINT, S(max_message_mb), "16", 1, 1024, NULL, "largest gRPC request"},
    {"FLOWD_LOG_LEVEL", VAR_CHOICE, S(log_level), "info", 0, 0, "debug|info|warn|error", "log level"},
    {"FLOWD_LOG_FORMAT", VAR_CHOICE, S(log_format), "json", 0, 0, "json|text", "log line format on stderr"},
    {"FLOWD_AUTH", VAR_CHOICE, S(auth), "token", 0, 0, "token|none",
     "token: bearer tokens from FLOWD_TOKENS_FILE; none: local development only"},
    {"FLOWD_TOKENS_FILE", VAR_STRING, S(tokens_file), NULL, 0, 0, NULL, "token hashes (flowd token create)"},
    {"FLOWD_TENANTS_FILE", VAR_STRING, S(tenants_file), NULL, 0, 0, NULL, "tenant quotas and allowed secrets"},
    {"FLOWD_AUDIT_LOG", VAR_STRING, S(audit_log), NULL, 0, 0, NULL, "audit log file (one JSON line per RPC)"},
    {"FLOWD_SECRETS_DIR", VAR_STRING, S(secrets_dir), NULL, 0, 0, NULL,
     "directory of secret files (NAME holds the value)"},
    {"FLOWD_TLS_CERT", VAR_STRING, S(tls_cert), NULL, 0, 0, NULL, "TLS certificate chain (PEM)"},
    {"FLOWD_TLS_KEY", VAR_STRING, S(tls_key), NULL, 0, 0, NULL, "TLS private key (PEM)"},
    {"FLOWD_TLS_CLIENT_CA", VAR_STRING, S(tls_client_ca), NULL, 0, 0, NULL, "CA for client certificates (PEM)"},
    {"FLOWD_RETENTION_DAYS", VAR_UINT, S(retention_days), "30", 0, 36500, NULL,
     "finished runs older than this are purged (0: never)"},
    {"FLOWD_SHUTDOWN_GRACE_SECONDS", VAR_UINT, S(shutdown_grace_seconds), "30", 0, 3600, NULL,
     "time running nodes get on SIGTERM"},
    {"FLOWD_PLUGIN_DIR", VAR_STRING, S(plugin_dir), NULL, 0, 0, NULL, "directory of plugin node libraries"},
    {"FLOWD_EXEC_ALLOW", VAR_STRING, S(exec_allow), NULL, 0, 0, NULL,
     "programs exec nodes may run (absolute paths, colon-separated)"},
    {"FLOWD_PYTHON", VAR_STRING, S(python), "/usr/bin/python3", 0, 0, NULL, "interpreter for python nodes"},
    {"FLOWD_PYTHON_START", VAR_CHOICE, S(python_start), "warm", 0, 0, "warm|exec",
     "warm: python nodes fork a zygote's started interpreter; exec: each starts python3"},
    {"FLOWD_SANDBOX", VAR_CHOICE, S(sandbox), "cgroup", 0, 0, "cgroup|rlimit",
     "cgroup: full confinement (needs cgroup access); rlimit: weaker, no cgroups"},
    {"FLOWD_SANDBOX_UID", VAR_UINT, S(sandbox_uid), "65534", 1, 4294967294u, NULL, "uid/gid node children run as"},
    {"FLOWD_CIRCUIT_THRESHOLD", VAR_UINT, S(circuit_threshold), "5", 1, 1000, NULL,
     "consecutive failures that open a circuit breaker"},
    {"FLOWD_CIRCUIT_COOLDOWN_SECONDS", VAR_UINT, S(circuit_cooldown_seconds), "30", 1, 86400, NULL,
     "how long an open circuit fails fast before one trial attempt"},
    {"FLOWD_ZYGOTES", VAR_UINT, S(zygotes), "0", 0, 16, NULL,
     "fork servers per kind, general and compute (0: one per CPU, at most 4)"},
};

static int fail(char *err, size_t size, const Var *v, const char *value, const char *allowed)
{
    snprintf(err, size, "flowd: %s=\"%s\" is not valid: %s", v->name, value, allowed);
    return -EINVAL;
}

static int parse_uint(const Var *v, const char *s, uint32_t *ret, char *err, size_t size)
{
    char *end;
    char allowed[96];

    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    snprintf(allowed, sizeof(allowed), "expected a whole number from %u to %u", v->min, v->max);
    if (!*s || *end || errno || *s == '-' || x < v->min || x > v->max)
        return fail(err, size, v, s, allowed);
    *ret = (uint32_t)x;
    return 0;
}

static bool in_choices(const char *choices, const char *s)
{
    size_t len = strlen(s);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, s, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static int parse_var(const Var *v, const char *s, FlowdConfig *cfg, char *err, size_t size)
{
    char *field = (char *)cfg + v->offset;
    char allowed[128];

    switch (v->type) {
    case VAR_UINT:
        return parse_uint(v, s, (uint32_t *)field, err, size);
    case VAR_CHOICE:
        snprintf(allowed, sizeof(allowed), "expected one of %s", v->choices);
        if (!in_choices(v->choices, s))
            return fail(err, size, v, s, allowed);
        if (v->offset == S(store_sync_full)) {
            cfg->store_sync_full = strcmp(s, "full") == 0;
            return 0;
        }
        break;
    case VAR_ADDR:
        if (strncmp(s, "unix:", 5) != 0 && !strrchr(s, ':'))
            return fail(err, size, v, s, "expected host:port (e.g. 127.0.0.1:50051) or unix:PATH");
        break;
    default:
        break;
    }
    free(*(char **)field);
    *(char **)field = xstrdup(s);
    return 0;
}

static int check_tls(const FlowdConfig *cfg, char *err, size_t size)
{
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, size, "flowd: FLOWD_TLS_CERT and FLOWD_TLS_KEY go together; set both or neither");
        return -EINVAL;
    }
    if (cfg->tls_client_ca && !cfg->tls_cert) {
        snprintf(err, size, "flowd: FLOWD_TLS_CLIENT_CA needs FLOWD_TLS_CERT and FLOWD_TLS_KEY");
        return -EINVAL;
    }
    return 0;
}

int config_load(FlowdConfig *cfg, char *err, size_t size)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
        const char *value = getenv(vars[i].name);
        /* Empty means unset: a Kubernetes ConfigMap cannot leave a key out
         * as easily as it can leave its value empty. */
        const char *s = value && *value ? value : vars[i].def;
        if (!s)
            continue;
        if (parse_var(&vars[i], s, cfg, err, size) < 0) {
            config_free(cfg);
            return -EINVAL;
        }
    }
    if (cfg->max_workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->max_workers = (uint32_t)(n > 0 ? n * 4 : 4);
    }
    if (check_tls(cfg, err, size) < 0) {
        config_free(cfg);
        return -EINVAL;
    }
    return 0;
}

void config_free(FlowdConfig *cfg)
{
    for (size_t i = 0; i < ELEMENTSOF(vars); i++)
        if (vars[i].type != VAR_UINT && vars[i].offset != S(store_sync_full))
            free(*(char **)((char *)cfg + vars[i].offset));
    memset(cfg, 0, sizeof(*cfg));
}

void config_print_help(FILE *out)
{
    fprintf(out, "Configuration (environment variables):\n");
    for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
        const Var *v = &vars[i];
        fprintf(out, "  %-30s %s", v->name, v->help);
        if (v->choices)
            fprintf(out, " [%s]", v->choices);
        fprintf(out, v->def ? " (default: %s)\n" : "%s\n", v->def ? v->def : "");
    }
}
