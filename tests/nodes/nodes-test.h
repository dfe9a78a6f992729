/* nodes-test.h: helpers shared by the node kind tests: run a built-in in a
 * forked child with an envelope on fd 0 (a memfd, as the sandbox gives it)
 * and its output and progress captured from fd 1 and fd 3; run a kind's
 * config check and look for a diagnostic by path. */
#ifndef FLOWD_TESTS_NODES_TEST_H
#define FLOWD_TESTS_NODES_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "server/nodes/nodes.h"

typedef struct TOut {
    int exit_code; /* -signal when killed */
    char out[1 << 20];
    size_t out_len;
    char progress[4096];
    json_t *json; /* the output parsed, or NULL */
} TOut;

static inline void t_read_all(int fd, char *buf, size_t cap, size_t *ret_len)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    buf[len] = '\0';
    *ret_len = len;
}

/* Runs a kind's built-in on envelope (a JSON text) in a forked child. The
 * output fits the pipe only if read concurrently, so the parent reads fd 1
 * to EOF before it reads the progress pipe (small) and reaps. */
static inline void t_run_builtin(const NodeKind *k, const char *envelope, TOut *r)
{
    int out[2], prog[2];
    int in = memfd_create("envelope", MFD_CLOEXEC);

    assert_true(k && k->builtin);
    assert_true(in >= 0);
    assert_int_equal(write(in, envelope, strlen(envelope)), (ssize_t)strlen(envelope));
    lseek(in, 0, SEEK_SET);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(prog, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in, 0);
        dup2(out[1], 1);
        dup2(prog[1], 3);
        _exit(k->builtin());
    }
    close(in);
    close(out[1]);
    close(prog[1]);
    memset(r, 0, sizeof(*r));
    t_read_all(out[0], r->out, sizeof(r->out), &r->out_len);
    size_t plen;
    t_read_all(prog[0], r->progress, sizeof(r->progress), &plen);
    close(out[0]);
    close(prog[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    r->json = json_loadb(r->out, r->out_len, 0, NULL);
}

/* Builds {"node": "n", "attempt": 1, "config": config, "inputs": inputs}. */
static inline char *t_envelope(const char *config, const char *inputs)
{
    size_t n = strlen(config) + strlen(inputs) + 64;
    char *s = malloc(n);
    snprintf(s, n, "{\"node\":\"n\",\"attempt\":1,\"config\":%s,\"inputs\":%s}", config, inputs);
    return s;
}

/* Runs kind name on config and inputs; fails the test if it did not exit 0. */
static inline json_t *t_ok(const char *kind, const char *config, const char *inputs)
{
    static TOut r;
    char *env = t_envelope(config, inputs);
    t_run_builtin(nodes_find(kind), env, &r);
    free(env);
    if (r.exit_code != 0 || !json_is_object(r.json))
        fail_msg("%s exited %d with output %s", kind, r.exit_code, r.out);
    return r.json;
}

/* Runs kind name expecting a failure of type; returns its message (static). */
static inline const char *t_fails(const char *kind, const char *config, const char *inputs, const char *type)
{
    static TOut r;
    static char msg[8192];
    char *env = t_envelope(config, inputs);
    t_run_builtin(nodes_find(kind), env, &r);
    free(env);
    const json_t *err = json_object_get(r.json, "__flowd_error__");
    if (r.exit_code != 1 || !err)
        fail_msg("%s: expected a %s failure, got exit %d output %s", kind, type, r.exit_code, r.out);
    assert_string_equal(json_string_value(json_object_get(err, "type")), type);
    snprintf(msg, sizeof(msg), "%s", json_string_value(json_object_get(err, "message")));
    json_decref(r.json);
    return msg;
}

/* The output compact with sorted keys, for exact comparisons (static). */
static inline const char *t_text(json_t *v)
{
    static char buf[1 << 16];
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
    free(s);
    return buf;
}

#define T_EXPECT_JSON(v, want)                                                                                         \
    do {                                                                                                               \
        json_t *_v = (v);                                                                                              \
        json_t *_w = json_loads(want, JSON_DECODE_ANY, NULL);                                                          \
        assert_non_null(_w);                                                                                           \
        char *_ws = json_dumps(_w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);                                   \
        assert_string_equal(t_text(_v), _ws);                                                                          \
        free(_ws);                                                                                                     \
        json_decref(_w);                                                                                               \
    } while (0)

/* Runs kind's check on a config text under path "nodes[2].config". */
static inline void t_check(const char *kind, const char *config, Diags *d)
{
    const NodeKind *k = nodes_find(kind);
    json_t *c = json_loads(config, 0, NULL);
    assert_non_null(k);
    assert_non_null(c);
    memset(d, 0, sizeof(*d));
    if (k->check)
        k->check(c, "nodes[2].config", d);
    json_decref(c);
}

/* Prints every diagnostic (for failing tests). */
static inline void t_dump_diags(const Diags *d)
{
    for (size_t i = 0; i < d->len; i++)
        fprintf(stderr, "  %s: %s\n", d->items[i].path, d->items[i].message);
}

/* Asserts a diagnostic at path whose message contains substring. */
static inline void t_has_diag(const Diags *d, const char *path, const char *substring)
{
    for (size_t i = 0; i < d->len; i++)
        if (strcmp(d->items[i].path, path) == 0 && strstr(d->items[i].message, substring))
            return;
    t_dump_diags(d);
    fail_msg("no diagnostic at %s containing \"%s\"", path, substring);
}

/* Asserts the config is accepted. */
static inline void t_check_ok(const char *kind, const char *config)
{
    Diags d;
    t_check(kind, config, &d);
    if (d.len) {
        t_dump_diags(&d);
        fail_msg("%s rejected %s", kind, config);
    }
    diags_free(&d);
}

#endif
