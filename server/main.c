/* flowd: the workflow execution service.
 *
 * Start order matters (DESIGN.md §2): the zygotes are forked before
 * grpc_init() and before any thread exists; signals are blocked before any
 * thread starts so every thread inherits the mask and only the main thread
 * takes them, with sigtimedwait. */
#include <errno.h>
#include <grpc/grpc.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sbx.h"
#include "server/auth/auth.h"
#include "server/config.h"
#include "server/engine/eng.h"
#include "server/http/http.h"
#include "server/metrics/met-flowd.h"
#include "server/nodes/nodes.h"
#include "server/rpc/rpc.h"
#include "server/store/store.h"
#include "server/util/log.h"

#define FLOWD_VERSION "0.1.0"

typedef struct Flowd {
    FlowdConfig cfg;
    Auth *auth;
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca;
    char *scratch; /* node scratch root */
    char *zygote_exe;
    char *python_zygote; /* flowd_sbx_python.so, or NULL */
    SbxPool *sbx;
    SbxInfo sbx_info;
    Store *store;
    Engine *engine;
    RpcServer *rpc;
    HttpServer *http;
} Flowd;

static void usage(FILE *out)
{
    fprintf(out,
            "flowd %s: the flowd workflow execution service\n\n"
            "Usage:\n"
            "  flowd                 start the server (configured by the environment below)\n"
            "  flowd --help          this text\n"
            "  flowd --version       the version\n"
            "  flowd token create --user U --tenant T --role viewer|submitter|admin[,...] [--tokens-file F]\n"
            "                        makes a token, prints it once, appends its SHA-256 to the tokens file\n"
            "                        (default FLOWD_TOKENS_FILE)\n\n",
            FLOWD_VERSION);
    config_print_help(out);
    fprintf(out, "\nExamples:\n"
                 "  FLOWD_AUTH=none FLOWD_DATA_DIR=/tmp/flowd flowd          # local development, no tokens\n"
                 "  flowd token create --user alice --tenant team-a --role submitter --tokens-file tokens.jsonl\n"
                 "  FLOWD_TOKENS_FILE=tokens.jsonl FLOWD_TENANTS_FILE=tenants.json flowd\n");
}

static int make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* Node children run as the sandbox uid and need to reach their scratch
 * directory (and the node helper, and plugins): every directory above path
 * must be searchable by that uid. */
static bool searchable_by(const char *path, uid_t uid)
{
    char buf[4096];
    struct stat st;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = strrchr(buf, '/'); p; p = strrchr(buf, '/')) {
        *p = '\0';
        if (stat(*buf ? buf : "/", &st) < 0)
            return false;
        if (!(st.st_mode & S_IXOTH) && !(st.st_uid == uid && (st.st_mode & S_IXUSR)))
            return false;
    }
    return true;
}

static char *scratch_root(const Flowd *f)
{
    char *dir = xasprintf("%s/scratch", f->cfg.data_dir);
    make_dirs(dir);
    chmod(dir, 0711);
    if (searchable_by(dir, f->cfg.sandbox_uid))
        return dir;
    free(dir);
    dir = xasprintf("/tmp/flowd-scratch-%d", (int)getpid());
    if (mkdir(dir, 0711) < 0 && errno != EEXIST) {
        free(dir);
        return NULL;
    }
    chmod(dir, 0711);
    log_warn(NULL,
             "%s/scratch is not reachable by the sandbox uid %u (a directory above it is not searchable); "
             "node scratch directories go to %s instead",
             f->cfg.data_dir, f->cfg.sandbox_uid, dir);
    return dir;
}

/* The program `name` next to flowd, or flowd itself (which can do what
 * each of them does, more slowly) when it is missing. */
static char *sibling_exe(const char *name, const char *missing)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n <= 0)
        return xstrdup("/proc/self/exe");
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    char *z = xasprintf("%.*s/%s", slash ? (int)(slash - self) : 0, self, name);
    if (access(z, X_OK) == 0)
        return z;
    free(z);
    log_warn(NULL, "%s is not next to %s: %s", name, self, missing);
    return xstrdup(self);
}

/* The zygote program: flowd-zygote (small and static, so forks are cheap). */
static char *zygote_exe(void)
{
    return sibling_exe("flowd-zygote", "the sandbox forks from flowd itself, which is slower");
}

/* Exec attempts execve the zygote program, plugin attempts flowd-node, as
 * the sandbox uid. When the uid cannot reach `path` (a build tree under
 * /root), a copy named `copy_name` goes next to the scratch directories,
 * which the uid can reach. */
static char *node_helper_path(Flowd *f, const char *path, const char *copy_name)
{
    struct stat st;

    if (stat(path, &st) == 0 && (st.st_mode & S_IXOTH) && searchable_by(path, f->cfg.sandbox_uid))
        return xstrdup(path);
    char *copy = xasprintf("%s/%s", f->scratch, copy_name);
    _cleanup_free_ char *tmp = xasprintf("%s.%d", copy, (int)getpid());
    int in = open(path, O_RDONLY | O_CLOEXEC);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    bool ok = in >= 0 && out >= 0 && fstat(in, &st) == 0 &&
              copy_file_range(in, NULL, out, NULL, (size_t)st.st_size, 0) == st.st_size;
    if (in >= 0)
        close(in);
    if (out >= 0)
        ok = close(out) == 0 && ok;
    if (!ok || fchmodat(AT_FDCWD, tmp, 0755, 0) < 0 || rename(tmp, copy) < 0) {
        unlink(tmp);
        log_warn(NULL, "cannot copy %s to %s for exec and plugin nodes: %s", path, copy, strerror(errno));
        free(copy);
        return xstrdup(path);
    }
    return copy;
}

static int setup_nodes(Flowd *f)
{
    char err[512];

    _cleanup_free_ char *inside = f->cfg.plugin_dir ? xasprintf("%s/x", f->cfg.plugin_dir) : NULL;
    if (inside && !searchable_by(inside, f->cfg.sandbox_uid)) {
        log_error(NULL,
                  "FLOWD_PLUGIN_DIR=%s is not reachable by the sandbox uid %u: a directory on the way is not "
                  "searchable by it; put the plugins where uid %u can read them (e.g. /usr/local/lib/flowd)",
                  f->cfg.plugin_dir, f->cfg.sandbox_uid, f->cfg.sandbox_uid);
        return -EACCES;
    }
    _cleanup_free_ char *self = node_helper_path(f, f->zygote_exe, ".flowd-node-helper");
    _cleanup_free_ char *plugin_exe = NULL;
    if (f->cfg.plugin_dir && *f->cfg.plugin_dir) {
        _cleanup_free_ char *node = sibling_exe("flowd-node", "plugin nodes start flowd itself, which is slower");
        plugin_exe = node_helper_path(f, node, ".flowd-plugin-helper");
    }
    NodesConfig nc = {
        .python = f->cfg.python,
        .data_dir = f->cfg.data_dir,
        .exec_allow = f->cfg.exec_allow,
        .plugin_dir = f->cfg.plugin_dir,
        .self_exe = self,
        .plugin_exe = plugin_exe,
    };
    if (nodes_setup(&nc, err, sizeof(err)) < 0) {
        log_error(NULL, "%s", err);
        return -EINVAL;
    }
    return 0;
}

/* Says how python nodes start, and why not warm when they could be. */
static void log_python_start(const Flowd *f)
{
    const char *py = f->cfg.python;

    if (f->sbx_info.python_template)
        log_info(NULL, "python nodes fork a started %s (general zygotes loaded %s)", py, f->python_zygote);
    else if (strcmp(f->cfg.python_start, "exec") == 0)
        log_info(NULL, "python nodes start %s afresh (FLOWD_PYTHON_START=exec)", py);
    else if (!f->python_zygote)
        log_warn(NULL,
                 "flowd_sbx_python.so is not next to flowd: python nodes start %s afresh (~10 ms each instead "
                 "of ~3); install it next to flowd",
                 py);
    else
        log_warn(NULL,
                 "the general zygotes did not load %s (is %s a python 3.11? sanitizer build?): python nodes "
                 "start %s afresh",
                 f->python_zygote, py, py);
}

static int start_sandbox(Flowd *f)
{
    size_t n_builtins;
    const SbxBuiltin *builtins = nodes_builtins(&n_builtins);
    const char *scratch = f->scratch;
    SbxConfig sc = {
        .mode = strcmp(f->cfg.sandbox, "rlimit") == 0 ? SBX_MODE_RLIMIT : SBX_MODE_CGROUP,
        .uid = f->cfg.sandbox_uid,
        .gid = f->cfg.sandbox_uid,
        .zygotes = f->cfg.zygotes,
        .max_children = f->cfg.max_workers,
        .scratch_root = scratch,
        .cgroup_name = "flowd",
        .builtins = builtins,
        .n_builtins = n_builtins,
        .zygote_exe = f->zygote_exe,
        .ro_paths = nodes_ro_paths(),
        .python_zygote = f->python_zygote,
        .python = f->cfg.python,
        .no_template = strcmp(f->cfg.python_start, "exec") == 0,
    };
    SbxError err = {0};

    int r = sbx_pool_new(&sc, &f->sbx, &err);
    if (r < 0) {
        log_error(NULL, "cannot start the sandbox: %s", err.msg[0] ? err.msg : strerror(-r));
        return r;
    }
    sbx_pool_info(f->sbx, &f->sbx_info);
    if (f->sbx_info.mode == SBX_MODE_RLIMIT)
        log_warn(NULL, "SANDBOX IS WEAKENED: FLOWD_SANDBOX=rlimit runs nodes with rlimits only, without cgroup "
                       "limits; do not run untrusted workflows");
    log_info(NULL, "sandbox: mode %s, cgroup v%d, landlock %s, %u zygotes, %u slots", sbx_mode_name(f->sbx_info.mode),
             f->sbx_info.cgroup_version, f->sbx_info.landlock ? "on" : "off", f->sbx_info.zygotes, f->sbx_info.slots);
    log_python_start(f);
    return 0;
}

static int open_store(Flowd *f)
{
    StoreOptions o = {.sync_full = f->cfg.store_sync_full};
    StoreError err = {0};

    int r = store_open(f->cfg.store, f->cfg.data_dir, &o, &f->store, &err);
    if (r < 0)
        log_error(NULL, "cannot open the store: %s", err.msg[0] ? err.msg : strerror(-r));
    return r;
}

static const char *secret_of(const char *tenant, const char *name, void *userdata)
{
    return auth_secret(userdata, tenant, name);
}

static void quota_copy(const AuthQuota *q, EngCaller *ret)
{
    ret->max_concurrent_runs = q->max_concurrent_runs;
    ret->max_queued_runs = q->max_queued_runs;
    ret->max_running_nodes = q->max_running_nodes;
    ret->max_memory_mb = q->max_memory_mb;
    ret->max_cpu_millis = q->max_cpu_millis;
    ret->max_pids = q->max_pids;
    ret->max_timeout_s = q->max_timeout_s;
}

static void quota_of(const char *tenant, EngCaller *ret, void *userdata)
{
    memset(ret, 0, sizeof(*ret));
    const AuthQuota *q = auth_tenant_quota(userdata, tenant);
    if (q)
        quota_copy(q, ret);
}

static int start_engine(Flowd *f)
{
    EngConfig ec = {
        .store = f->store,
        .sbx = f->sbx,
        .max_workers = f->cfg.max_workers,
        .max_output_mb = f->cfg.max_output_mb,
        .secret = secret_of,
        .secret_userdata = f->auth,
        .quota = quota_of,
        .quota_userdata = f->auth,
        .scrub = auth_scrub_global,
        .retention_days = f->cfg.retention_days,
        .circuit_threshold = f->cfg.circuit_threshold,
        .circuit_cooldown_ms = f->cfg.circuit_cooldown_seconds * 1000u,
    };
    eng_limits_default(&ec.limits);
    ec.limits.default_memory_mb = f->cfg.memory_limit_mb;
    ec.limits.default_cpu_millis = f->cfg.cpu_limit_millis;
    ec.limits.default_pids = f->cfg.pids_limit;
    ec.limits.default_timeout_s = f->cfg.timeout_seconds;
    int r = eng_new(&ec, &f->engine);
    if (r == 0)
        r = eng_start(f->engine);
    if (r < 0)
        log_error(NULL, "cannot start the engine: %s", strerror(-r));
    return r;
}

/* Roles: AuthRole r maps to RpcRole r + 1 (RpcRole 0 is "no role needed"). */
static int identify(const char *token, RpcCaller *ret, void *userdata)
{
    AuthIdentity id;
    int r = auth_identify(userdata, token, &id);
    if (r < 0)
        return r;
    memset(ret, 0, sizeof(*ret));
    snprintf(ret->user, sizeof(ret->user), "%s", id.user);
    snprintf(ret->tenant, sizeof(ret->tenant), "%s", id.tenant);
    for (int k = 0; k < _AUTH_ROLE_MAX; k++)
        if (id.roles & (1u << k))
            ret->roles |= 1u << (k + 1);
    quota_copy(&id.quota, &ret->quota);
    return 0;
}

static void audit(const AuthAudit *rec, void *userdata) { auth_audit(userdata, rec); }

static char *read_pem(const char *path, const char *var)
{
    StrBuf b = {0};
    char buf[4096];
    size_t n;
    FILE *fp = fopen(path, "re");

    if (!fp) {
        log_error(NULL, "cannot read %s %s: %s", var, path, strerror(errno));
        return NULL;
    }
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
        sb_append(&b, buf, n);
    fclose(fp);
    return sb_take(&b);
}

static int load_tls(Flowd *f)
{
    if (!f->cfg.tls_cert)
        return 0;
    f->tls_cert = read_pem(f->cfg.tls_cert, "FLOWD_TLS_CERT");
    f->tls_key = read_pem(f->cfg.tls_key, "FLOWD_TLS_KEY");
    if (f->cfg.tls_client_ca)
        f->tls_client_ca = read_pem(f->cfg.tls_client_ca, "FLOWD_TLS_CLIENT_CA");
    if (!f->tls_cert || !f->tls_key || (f->cfg.tls_client_ca && !f->tls_client_ca))
        return -EINVAL;
    return 0;
}

static int start_rpc(Flowd *f)
{
    char err[256] = "";
    RpcConfig rc = {
        .listen = f->cfg.listen,
        .engine = f->engine,
        .store = f->store,
        .sbx = f->sbx,
        .version = FLOWD_VERSION,
        .sandbox_mode = sbx_mode_name(f->sbx_info.mode),
        .cgroup_version = (uint32_t)f->sbx_info.cgroup_version,
        .max_message_mb = f->cfg.max_message_mb,
        .auth = identify,
        .auth_userdata = f->auth,
        .audit = audit,
        .audit_userdata = f->auth,
        .tls_cert_pem = f->tls_cert,
        .tls_key_pem = f->tls_key,
        .tls_client_ca_pem = f->tls_client_ca,
        .health_listen = f->cfg.health_listen,
    };
    int r = rpc_start(&rc, &f->rpc, err, sizeof(err));
    if (r < 0)
        log_error(NULL, "%s", err);
    return r;
}

static void readiness(HttpReadiness *ret, void *userdata)
{
    Flowd *f = userdata;
    EngStats st;

    eng_stats(f->engine, &st);
    *ret = (HttpReadiness){
        .store_writable = st.store_ok,
        .zygote_alive = sbx_pool_healthy(f->sbx),
        .draining = st.draining,
        .sandbox_mode = sbx_mode_name(f->sbx_info.mode),
    };
}

static bool ready(Flowd *f)
{
    HttpReadiness r;
    readiness(&r, f);
    return http_readiness_ok(&r);
}

static void gauges(MetFlowdGauges *ret, void *userdata)
{
    Flowd *f = userdata;
    EngStats st;

    eng_stats(f->engine, &st);
    ret->queue_depth = st.queued_runs;
    ret->active_runs = st.active_runs;
    ret->running_sandboxes = st.running_attempts;
    ret->ready = ready(f);
}

static int start_http(Flowd *f)
{
    char err[256] = "";
    HttpConfig hc = {
        .listen = f->cfg.http_listen,
        .registry = met_flowd_registry(),
        .ready = readiness,
        .ready_userdata = f,
    };
    met_flowd_set_gauges_fn(gauges, f);
    int r = http_start(&hc, &f->http, err, sizeof(err));
    if (r < 0)
        log_error(NULL, "%s", err);
    else
        log_info(NULL, "metrics and probes on http://%s (port %d): /metrics /healthz /readyz", f->cfg.http_listen,
                 http_port(f->http));
    return r;
}

/* Waits for SIGTERM or SIGINT, updating health once a second. */
static void serve(Flowd *f, const sigset_t *mask)
{
    for (;;) {
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(mask, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info(NULL, "%s received: draining (grace %u s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                     f->cfg.shutdown_grace_seconds);
            return;
        }
        rpc_set_ready(f->rpc, ready(f));
    }
}

static void shutdown_all(Flowd *f)
{
    if (f->rpc)
        rpc_set_serving(f->rpc, false);
    if (f->engine)
        eng_drain(f->engine, f->cfg.shutdown_grace_seconds * 1000u);
    if (f->rpc)
        rpc_shutdown(f->rpc, 2000);
    f->http = http_stop(f->http);
    f->rpc = rpc_free(f->rpc);
    if (f->engine)
        eng_stop(f->engine);
    f->sbx = sbx_pool_free(f->sbx);
    f->engine = eng_free(f->engine);
    store_close(f->store);
    f->store = NULL;
}

static void free_all(Flowd *f)
{
    auth_set_global(NULL);
    f->auth = auth_free(f->auth);
    free(f->tls_cert);
    free(f->tls_key);
    free(f->tls_client_ca);
    if (f->scratch && strncmp(f->scratch, "/tmp/flowd-scratch-", 19) == 0) {
        /* The fallback root: empty once every attempt ended. */
        _cleanup_free_ char *helper = xasprintf("%s/.flowd-node-helper", f->scratch);
        unlink(helper);
        rmdir(f->scratch);
    }
    free(f->scratch);
    free(f->zygote_exe);
    free(f->python_zygote);
    config_free(&f->cfg);
}

static int load_auth(Flowd *f)
{
    char err[512] = "";
    bool none = strcmp(f->cfg.auth, "none") == 0;

    if (none)
        log_warn(NULL, "AUTHENTICATION IS OFF (FLOWD_AUTH=none): every caller is admin of tenant \"local\"; "
                       "use this for local development only");
    else if (!f->cfg.tokens_file) {
        log_error(NULL, "no tokens: set FLOWD_TOKENS_FILE to a file made with `flowd token create`, or "
                        "FLOWD_AUTH=none for local development");
        return -EINVAL;
    }
    AuthConfig ac = {
        .tokens_file = none ? NULL : f->cfg.tokens_file,
        .tenants_file = f->cfg.tenants_file,
        .secrets_dir = f->cfg.secrets_dir,
        .audit_log = f->cfg.audit_log,
    };
    int r = auth_new(&ac, &f->auth, err, sizeof(err));
    if (r < 0) {
        log_error(NULL, "%s", err);
        return r;
    }
    auth_set_global(f->auth);
    log_set_scrubber(auth_scrub_global);
    return 0;
}

static int run_server(Flowd *f)
{
    LogLevel level = LOG_INFO;
    log_level_from_name(f->cfg.log_level, &level);
    log_init(level, strcmp(f->cfg.log_format, "json") == 0);
    if (load_auth(f) < 0 || load_tls(f) < 0)
        return 2;
    int r = make_dirs(f->cfg.data_dir);
    if (r < 0) {
        log_error(NULL, "cannot create FLOWD_DATA_DIR %s: %s", f->cfg.data_dir, strerror(-r));
        return 1;
    }
    f->zygote_exe = zygote_exe();
    f->python_zygote = sbx_python_zygote_path();
    f->scratch = scratch_root(f);
    if (!f->scratch) {
        log_error(NULL, "cannot create a scratch directory for nodes under %s or /tmp", f->cfg.data_dir);
        return 1;
    }
    if (setup_nodes(f) < 0)
        return 2;
    if (start_sandbox(f) < 0 || open_store(f) < 0)
        return 1;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    grpc_init();
    if (start_engine(f) < 0 || start_rpc(f) < 0 || start_http(f) < 0) {
        shutdown_all(f);
        grpc_shutdown();
        return 1;
    }
    rpc_set_serving(f->rpc, true);
    rpc_set_ready(f->rpc, ready(f));
    log_info(NULL, "flowd %s serving on %s (port %d), data in %s", FLOWD_VERSION, f->cfg.listen, rpc_port(f->rpc),
             f->cfg.data_dir);
    serve(f, &mask);
    shutdown_all(f);
    grpc_shutdown();
    log_info(NULL, "flowd stopped");
    return 0;
}

static const char *flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static int token_create(int argc, char **argv)
{
    const char *file = flag(argc, argv, "--tokens-file");
    char err[256] = "";
    char *token = NULL;

    if (!file)
        file = getenv("FLOWD_TOKENS_FILE");
    if (!file) {
        fprintf(stderr, "flowd token create: say where the tokens go: --tokens-file FILE or FLOWD_TOKENS_FILE\n");
        return 2;
    }
    int r = auth_token_create(file, flag(argc, argv, "--user"), flag(argc, argv, "--tenant"),
                              flag(argc, argv, "--role"), &token, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr,
                "flowd token create: %s\n  usage: flowd token create --user U --tenant T --role R "
                "[--tokens-file F]\n",
                err);
        return r == -EINVAL ? 2 : 1;
    }
    printf("%s\n", token);
    fprintf(stderr, "token for %s (tenant %s, role %s) added to %s; it is shown only this once\n",
            flag(argc, argv, "--user"), flag(argc, argv, "--tenant"), flag(argc, argv, "--role"), file);
    free(token);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n_builtins;
    Flowd f = {0};
    char err[512];

    /* Exec and plugin attempts re-execute this binary with a hidden flag. */
    nodes_helper_maybe_run(argc, argv);
    /* jansson seeds its hash function from /dev/urandom on first use; seed it
     * here, so that built-in nodes, forked from the zygote under a seccomp
     * filter that forbids open, never try. */
    json_object_seed(0);
    nodes_init(&(NodesConfig){.python = getenv("FLOWD_PYTHON")});
    const SbxBuiltin *builtins = nodes_builtins(&n_builtins);
    sbx_zygote_maybe_run(argc, argv, builtins, n_builtins);
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("flowd %s\n", FLOWD_VERSION);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "token") == 0 && strcmp(argv[2], "create") == 0)
        return token_create(argc, argv);
    if (argc > 1 && strcmp(argv[1], "serve") != 0) {
        fprintf(stderr, "flowd: unknown command \"%s\"; see flowd --help\n", argv[1]);
        return 2;
    }
    if (config_load(&f.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    met_flowd_init(FLOWD_VERSION);
    int rc = run_server(&f);
    free_all(&f);
    met_flowd_free();
    return rc;
}
