/* exec: runs an admin-allowlisted program (FLOWD_EXEC_ALLOW) with the
 * node's inputs as JSON on stdin; what it prints on stdout is the output.
 *
 * The attempt execve's flowd-zygote as a small adapter ("flowd-zygote
 * --flowd-exec-node <allowlist>", SBX_PROFILE_EXEC; flowd itself when the
 * zygote program is missing): it reads the
 * envelope, checks the program against the allowlist again (a stored run
 * may outlive a change of the list), puts the inputs on a pipe as the
 * program's stdin and execve's the program in its own place, so the
 * program is the attempt's main process: its exit code, signal, OOM kill
 * and timeout are classified exactly like any node's. Its stderr becomes
 * NODE_LOG events and it may write progress lines on fd 3. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/nodes/node-internal.h"

#define EXEC_MAX_ARGS 256
#define EXEC_MAX_ARG_LEN 4096

extern char **environ;

static char exec_self[PATH_MAX];
static char *exec_allow;
static const char *exec_argv[4];

void node_exec_configure(const char *self_exe, const char *allow)
{
    snprintf(exec_self, sizeof(exec_self), "%s", self_exe ? self_exe : "");
    free(exec_allow);
    exec_allow = xstrdup(allow ? allow : "");
    exec_argv[0] = exec_self;
    exec_argv[1] = "--flowd-exec-node";
    exec_argv[2] = exec_allow;
    exec_argv[3] = NULL;
}

static bool in_allowlist(const char *allow, const char *program)
{
    size_t n = strlen(program);
    for (const char *s = allow; s && *s;) {
        const char *colon = strchr(s, ':');
        size_t len = colon ? (size_t)(colon - s) : strlen(s);
        if (len == n && memcmp(s, program, n) == 0)
            return true;
        s = colon ? colon + 1 : NULL;
    }
    return false;
}

bool node_exec_allowed(const char *program) { return program && *program == '/' && in_allowlist(exec_allow, program); }

static void exec_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"program", "args", NULL};
    const char *program = json_string_value(json_object_get(config, "program"));
    const json_t *args = json_object_get(config, "args");
    char p[512];
    size_t i;
    json_t *a;

    node_check_keys(config, path, keys, d);
    node_subpath(p, sizeof(p), path, ".program");
    if (!program || *program != '/')
        diags_add(d, p, "an exec node needs \"program\": the absolute path of a program listed in FLOWD_EXEC_ALLOW");
    else if (!exec_allow || !*exec_allow)
        diags_add(d, p, "exec nodes are disabled on this server: FLOWD_EXEC_ALLOW lists no programs");
    else if (!node_exec_allowed(program))
        diags_add(d, p, "%s is not in FLOWD_EXEC_ALLOW; an administrator must allow it", program);
    if (!args)
        return;
    if (!json_is_array(args) || json_array_size(args) > EXEC_MAX_ARGS) {
        diags_add(d, node_subpath(p, sizeof(p), path, ".args"), "must be an array of at most %d strings",
                  EXEC_MAX_ARGS);
        return;
    }
    json_array_foreach ((json_t *)args, i, a)
        if (!json_is_string(a) || json_string_length(a) > EXEC_MAX_ARG_LEN ||
            strlen(json_string_value(a)) != json_string_length(a))
            diags_add(d, node_subpath(p, sizeof(p), path, ".args[%zu]", i),
                      "must be a string of at most %d bytes without NUL", EXEC_MAX_ARG_LEN);
}

static const char *const *exec_argv_of(const NodeKind *k)
{
    (void)k;
    return exec_argv;
}

const NodeKind node_kind_exec = {
    .name = "exec",
    .summary = "runs an allowlisted program (FLOWD_EXEC_ALLOW): inputs as JSON on stdin, output JSON on stdout",
    .check = exec_check,
    .profile = SBX_PROFILE_EXEC,
    .argv = exec_argv_of,
};

/* ---- the adapter, in the sandboxed attempt ---- */

/* Makes fd 0 a pipe holding text. Small inputs fit in the pipe buffer;
 * larger ones are fed by a forked writer, which the attempt's cgroup kills
 * with the rest if the program never reads them. */
static int stdin_from(const char *text, size_t len)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    if (len > 65536 && len <= (1u << 20))
        fcntl(p[1], F_SETPIPE_SZ, (int)len);
    int cap = fcntl(p[1], F_GETPIPE_SZ);
    if (cap >= 0 && (size_t)cap >= len) {
        int r = node_write_all(p[1], text, len);
        close(p[1]);
        if (r < 0)
            return r;
    } else {
        pid_t pid = fork();
        if (pid < 0)
            return -errno;
        if (pid == 0) {
            close(p[0]);
            _exit(node_write_all(p[1], text, len) < 0 ? 1 : 0);
        }
        close(p[1]);
    }
    if (dup2(p[0], STDIN_FILENO) < 0)
        return -errno;
    close(p[0]);
    return 0;
}

static char **program_argv(const char *program, const json_t *args)
{
    size_t n = json_array_size(args), i;
    char **argv = xcalloc(n + 2, sizeof(char *));
    json_t *a;

    argv[0] = (char *)program;
    json_array_foreach ((json_t *)args, i, a)
        argv[i + 1] = (char *)json_string_value(a);
    return argv;
}

/* The attempt's environment (base variables and granted secrets) plus the
 * node id and attempt number, and HOME and TMPDIR pointing at the private
 * scratch directory when unset: without HOME, programs look the uid up
 * through NSS, which tries the nscd socket, and the sandbox kills any
 * socket call; /tmp is not writable in the sandbox. */
static char **program_env(const json_t *env)
{
    char cwd[PATH_MAX];
    size_t n = 0, k;
    while (environ && environ[n])
        n++;
    char **envp = xcalloc(n + 5, sizeof(char *));
    for (k = 0; k < n; k++)
        envp[k] = environ[k];
    const char *node = json_string_value(json_object_get(env, "node"));
    envp[k++] = xasprintf("FLOWD_NODE_ID=%s", node ? node : "");
    envp[k++] = xasprintf("FLOWD_ATTEMPT=%lld", (long long)json_integer_value(json_object_get(env, "attempt")));
    if (getcwd(cwd, sizeof(cwd))) {
        if (!getenv("HOME"))
            envp[k++] = xasprintf("HOME=%s", cwd);
        if (!getenv("TMPDIR"))
            envp[k++] = xasprintf("TMPDIR=%s", cwd);
    }
    return envp;
}

int node_exec_adapter(const char *allow)
{
    json_t *env = NULL;

    if (node_read_envelope(&env) < 0)
        return node_fail("InvalidInput", "the input envelope is not a JSON object");
    const json_t *config = json_object_get(env, "config");
    const char *program = json_string_value(json_object_get(config, "program"));
    if (!program || *program != '/' || !in_allowlist(allow, program))
        return node_fail("InvalidInput", "program %s is not in FLOWD_EXEC_ALLOW", program ? program : "(none)");
    const json_t *inputs = json_object_get(env, "inputs");
    char *text = inputs ? json_dumps(inputs, JSON_COMPACT) : xstrdup("{}");
    int r = text ? stdin_from(text, strlen(text)) : -ENOMEM;
    free(text);
    if (r < 0)
        return node_fail("ExecFailed", "cannot pass the inputs to %s: %s", program, strerror(-r));
    char **argv = program_argv(program, json_object_get(config, "args"));
    execve(program, argv, program_env(env));
    return node_fail("ExecFailed", "cannot execute %s: %s", program, strerror(errno));
}
