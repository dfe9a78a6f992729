/* sbx-test.h: helpers shared by the sandbox test binaries: a pool per
 * binary, a synchronous "run this request and collect everything" call, and
 * machine checks (root, cgroups) that turn into skips with a reason. */
#ifndef FLOWD_TESTS_SBX_TEST_H
#define FLOWD_TESTS_SBX_TEST_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox/sbx.h"

#define T_LOG_MAX (1u << 20)
#ifndef ELEMENTSOF
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#endif
#define T_PY "/usr/bin/python3"

typedef struct TRun {
    bool done;
    pid_t pid;
    SbxOutcome outcome;
    int exit_code;
    int signal;
    char syscall[32];
    char message[512];
    char *output;
    size_t output_len;
    SbxUsage usage;
    char *log; /* LOG lines joined with '\n' */
    size_t log_len;
    unsigned log_lines;
    char last_log[256];
    unsigned n_progress;
    char last_progress[256];
} TRun;

#define T_SLOTS 128

typedef struct TCtx {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t ids[T_SLOTS];
    TRun *runs[T_SLOTS];
} TCtx;

static TCtx t_ctx __attribute__((unused)) = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, {0}};

static inline TRun *t_find(uint64_t id)
{
    for (int i = 0; i < T_SLOTS; i++)
        if (t_ctx.runs[i] && t_ctx.ids[i] == id)
            return t_ctx.runs[i];
    return NULL;
}

static inline void t_append_log(TRun *r, const char *line, size_t n)
{
    if (r->log_len + n + 2 > T_LOG_MAX)
        return;
    r->log = realloc(r->log, r->log_len + n + 2);
    memcpy(r->log + r->log_len, line, n);
    r->log_len += n;
    r->log[r->log_len++] = '\n';
    r->log[r->log_len] = '\0';
}

static inline void t_on_event(const SbxEvent *ev, void *userdata)
{
    (void)userdata;
    pthread_mutex_lock(&t_ctx.mu);
    TRun *r = t_find(ev->id);
    if (!r) {
        pthread_mutex_unlock(&t_ctx.mu);
        return;
    }
    switch (ev->type) {
    case SBX_EV_STARTED:
        r->pid = ev->pid;
        break;
    case SBX_EV_LOG:
        r->log_lines++;
        snprintf(r->last_log, sizeof(r->last_log), "%s", ev->line);
        t_append_log(r, ev->line, ev->line_len);
        break;
    case SBX_EV_PROGRESS:
        r->n_progress++;
        snprintf(r->last_progress, sizeof(r->last_progress), "%s", ev->line);
        break;
    case SBX_EV_DONE: {
        const SbxResult *res = ev->result;
        r->outcome = res->outcome;
        r->exit_code = res->exit_code;
        r->signal = res->signal;
        snprintf(r->syscall, sizeof(r->syscall), "%s", res->syscall);
        snprintf(r->message, sizeof(r->message), "%s", res->message);
        r->output = malloc(res->output_len + 1);
        if (res->output_len)
            memcpy(r->output, res->output, res->output_len);
        r->output[res->output_len] = '\0';
        r->output_len = res->output_len;
        r->usage = res->usage;
        r->done = true;
        for (int i = 0; i < T_SLOTS; i++)
            if (t_ctx.runs[i] == r)
                t_ctx.runs[i] = NULL;
        pthread_cond_broadcast(&t_ctx.cv);
        break;
    }
    default:
        break;
    }
    pthread_mutex_unlock(&t_ctx.mu);
}

static inline void t_run_free(TRun *r)
{
    free(r->output);
    free(r->log);
    memset(r, 0, sizeof(*r));
}

static inline uint64_t t_next_id(void)
{
    static uint64_t id = 1000;
    return __atomic_add_fetch(&id, 1, __ATOMIC_SEQ_CST);
}

/* Registers r for req->id and spawns; returns sbx_spawn()'s result. */
static inline int t_start(SbxPool *p, SbxRequest *req, TRun *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_lock(&t_ctx.mu);
    int slot = -1;
    for (int i = 0; i < T_SLOTS && slot < 0; i++)
        if (!t_ctx.runs[i])
            slot = i;
    assert_true(slot >= 0);
    t_ctx.runs[slot] = r;
    t_ctx.ids[slot] = req->id;
    pthread_mutex_unlock(&t_ctx.mu);
    int rc = sbx_spawn(p, req);
    if (rc < 0) {
        pthread_mutex_lock(&t_ctx.mu);
        t_ctx.runs[slot] = NULL;
        pthread_mutex_unlock(&t_ctx.mu);
    }
    return rc;
}

/* Waits for DONE; fails the test after timeout_s. */
static inline void t_wait(TRun *r, int timeout_s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_s;
    pthread_mutex_lock(&t_ctx.mu);
    int rc = 0;
    while (!r->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&t_ctx.cv, &t_ctx.mu, &until);
    pthread_mutex_unlock(&t_ctx.mu);
    if (!r->done)
        fail_msg("attempt did not end within %d s", timeout_s);
}

static inline void t_run(SbxPool *p, SbxRequest *req, TRun *r)
{
    if (!req->id)
        req->id = t_next_id();
    assert_int_equal(t_start(p, req, r), 0);
    t_wait(r, 60);
}

static const char *const t_empty_env[] __attribute__((unused)) = {NULL};

/* The parent of pid (a child's zygote), or -1. */
static inline pid_t t_parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = strrchr(buf, ')');
    int ppid = -1;
    if (s)
        sscanf(s + 2, "%*c %d", &ppid);
    return ppid;
}

/* Skips the test, saying why, when reason is set (no root, no cgroups). */
#define T_SKIP_IF(reason)                                                                                              \
    do {                                                                                                               \
        if (reason) {                                                                                                  \
            fprintf(stderr, "skipped: %s\n", reason);                                                                  \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

/* For a group setup: a started pool in *ret, or -1 saying why. Takes (and
 * frees) cfg->python_zygote when `python_zygote` is set. */
static inline int t_pool_start(SbxConfig *cfg, bool python_zygote, SbxPool **ret)
{
    char *py = python_zygote ? sbx_python_zygote_path() : NULL;
    if (python_zygote && !py) {
        fprintf(stderr, "flowd_sbx_python.so not found (a data dependency of this test)\n");
        return -1;
    }
    cfg->python_zygote = py;
    SbxError e = {0};
    int r = sbx_pool_new(cfg, ret, &e);
    free(py);
    cfg->python_zygote = NULL;
    if (r < 0) {
        fprintf(stderr, "sbx_pool_new: %s\n", e.msg);
        return -1;
    }
    return sbx_pool_start(*ret, t_on_event, NULL);
}

static inline SbxRequest t_builtin(int index)
{
    return (SbxRequest){.id = t_next_id(),
                        .builtin = index,
                        .env = t_empty_env,
                        .input = "{}",
                        .input_len = 2,
                        .limits = {.memory_bytes = 64u << 20, .timeout_ms = 10000}};
}

static inline SbxRequest t_argv(SbxProfile profile, const char *const *argv)
{
    return (SbxRequest){.id = t_next_id(),
                        .builtin = -1,
                        .profile = profile,
                        .argv = argv,
                        .env = t_empty_env,
                        .input = "{}",
                        .input_len = 2,
                        .limits = {.memory_bytes = 128u << 20, .timeout_ms = 20000}};
}

/* Prints the run when an assertion is about to fail, so logs say why. */
static inline void t_dump(const TRun *r)
{
    fprintf(stderr, "outcome=%s exit=%d signal=%d syscall=%s message=\"%s\" output=\"%.200s\"\n",
            sbx_outcome_name(r->outcome), r->exit_code, r->signal, r->syscall, r->message, r->output ? r->output : "");
    if (r->log)
        fprintf(stderr, "log:\n%.2000s\n", r->log);
}

#define T_EXPECT(r, want)                                                                                              \
    do {                                                                                                               \
        if ((r)->outcome != (want))                                                                                    \
            t_dump(r);                                                                                                 \
        assert_string_equal(sbx_outcome_name((r)->outcome), sbx_outcome_name(want));                                   \
    } while (0)

/* Why this machine cannot run cgroup tests, or NULL if it can. */
static inline const char *t_cgroup_unavailable(void)
{
    if (geteuid() != 0)
        return "not root: cgroup slots and uid switching need root";
    if (access("/sys/fs/cgroup", W_OK) != 0)
        return "/sys/fs/cgroup is not writable (Bazel linux-sandbox? tag the test no-sandbox)";
    return NULL;
}

/* Starts req (an attempt that runs until killed), kills the zygote running
 * it with SIGKILL, checks the attempt is lost as INTERNAL naming the
 * zygote, and waits until the pool has replaced it. */
static inline void t_kill_zygote_of(SbxPool *p, SbxRequest *req)
{
    TRun r;
    assert_int_equal(t_start(p, req, &r), 0);
    for (int i = 0; i < 400 && r.pid == 0; i++)
        usleep(5000);
    assert_true(r.pid > 0);
    pid_t zygote = t_parent_of(r.pid);
    assert_true(zygote > 1 && zygote != getpid());
    assert_int_equal(kill(zygote, SIGKILL), 0);
    t_wait(&r, 10);
    T_EXPECT(&r, SBX_INTERNAL);
    assert_non_null(strstr(r.message, "zygote"));
    t_run_free(&r);
    for (int i = 0; i < 500 && !sbx_pool_healthy(p); i++)
        usleep(10000);
    assert_true(sbx_pool_healthy(p));
}

#endif
