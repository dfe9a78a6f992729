/* fc-error.c: errors, diagnostics, enum name tables and small helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fc-internal.h"

int fc_error_set(FcError *err, int errnum, FcStatus status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->errnum = errnum;
        err->status = status;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return -errnum;
}

int fc_error_wrap(FcError *err, const char *fmt, ...)
{
    char prefix[512], old[sizeof(err->message)];
    va_list ap;

    if (!err)
        return -EIO;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof(old));
    /* Long messages lose their tail; the prefix says where it happened. */
    if (snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old) < 0)
        err->message[0] = '\0';
    return -err->errnum;
}

int fc_status_to_errno(FcStatus status)
{
    switch (status) {
    case FC_STATUS_OK:
        return 0;
    case FC_STATUS_CANCELLED:
        return ECANCELED;
    case FC_STATUS_INVALID_ARGUMENT:
        return EINVAL;
    case FC_STATUS_DEADLINE_EXCEEDED:
        return ETIMEDOUT;
    case FC_STATUS_NOT_FOUND:
        return ENOENT;
    case FC_STATUS_ALREADY_EXISTS:
        return EEXIST;
    case FC_STATUS_PERMISSION_DENIED:
        return EACCES;
    case FC_STATUS_RESOURCE_EXHAUSTED:
        return EDQUOT;
    case FC_STATUS_UNIMPLEMENTED:
        return EOPNOTSUPP;
    case FC_STATUS_UNAVAILABLE:
        return ECONNREFUSED;
    case FC_STATUS_UNAUTHENTICATED:
        return EPERM;
    default:
        return EIO;
    }
}

int fc_diag_add(FcDiagnostics *diags, int line, int column, const char *path, const char *fmt, ...)
{
    FcDiagnostic *items, *d;
    va_list ap;
    int r;

    if (!diags)
        return 0;
    items = realloc(diags->items, (diags->n + 1) * sizeof(*items));
    if (!items)
        return -ENOMEM;
    diags->items = items;
    d = &items[diags->n];
    *d = (FcDiagnostic){.line = line, .column = column};
    d->path = strdup(fc_str(path));
    va_start(ap, fmt);
    r = vasprintf(&d->message, fmt, ap);
    va_end(ap);
    if (!d->path || r < 0) {
        free(d->path);
        return -ENOMEM;
    }
    diags->n++;
    return 0;
}

void fc_diagnostics_clear(FcDiagnostics *diags)
{
    if (!diags)
        return;
    for (size_t i = 0; i < diags->n; i++) {
        free(diags->items[i].path);
        free(diags->items[i].message);
    }
    free(diags->items);
    *diags = (FcDiagnostics){0};
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

    /* Keys longer than this are never typos of ours; say "far". */
    if (lb >= ELEMENTSOF(prev) || la >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

const char *fc_closest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, limit = strlen(word) / 2 + 1;

    if (limit > 3)
        limit = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);
        /* A prefix ("time" for "timeout_seconds") is a plausible slip too. */
        if (strlen(word) >= 3 && strncasecmp(candidates[i], word, strlen(word)) == 0)
            d = d < limit ? d : limit;
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

int fc_read_file(const char *path, char **ret, size_t *ret_len, FcError *err)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0, cap = 0;
    int fd, r = 0;

    fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fc_error_set(err, errno, FC_STATUS_OK, "cannot open %s: %s", path, strerror(errno));
    for (;;) {
        ssize_t k;
        if (len + 1 >= cap) {
            char *nb;
            cap = cap ? cap * 2 : 8192;
            nb = realloc(buf, cap);
            if (!nb) {
                r = fc_error_set(err, ENOMEM, FC_STATUS_OK, "out of memory reading %s", path);
                break;
            }
            buf = nb;
        }
        k = read(fd, buf + len, cap - len - 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = fc_error_set(err, errno, FC_STATUS_OK, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (k == 0)
            break;
        len += (size_t)k;
        if (len > FC_FILE_MAX_BYTES) {
            r = fc_error_set(err, EFBIG, FC_STATUS_OK, "%s is larger than %u MiB", path, FC_FILE_MAX_BYTES >> 20);
            break;
        }
    }
    if (fd != STDIN_FILENO)
        close(fd);
    if (r < 0)
        return r;
    buf[len] = '\0';
    *ret = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}

/* ---- enum names ------------------------------------------------------------ */

static const char *const status_names[_FC_STATUS_MAX] = {
    "OK",        "CANCELLED",       "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",    "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED",
};

static const char *const event_type_names[_FC_EVENT_TYPE_MAX] = {
    "TYPE_UNSPECIFIED", "RUN_QUEUED",    "RUN_STARTED",    "NODE_STARTED", "NODE_PROGRESS",
    "NODE_LOG",         "NODE_RETRYING", "NODE_SUCCEEDED", "NODE_FAILED",  "NODE_SKIPPED",
    "RUN_SUCCEEDED",    "RUN_FAILED",    "RUN_CANCELLED",
};

static const char *const run_status_names[_FC_RUN_STATUS_MAX] = {
    "STATUS_UNSPECIFIED", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED",
};

static const char *const node_status_names[_FC_NODE_STATUS_MAX] = {
    "STATUS_UNSPECIFIED", "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED",
};

static const char *const failure_kind_names[_FC_FAILURE_KIND_MAX] = {
    "KIND_UNSPECIFIED", "NONZERO_EXIT",  "SIGNALED",     "OOM_KILLED", "TIMEOUT",  "SANDBOX_VIOLATION",
    "INVALID_OUTPUT",   "INVALID_INPUT", "CIRCUIT_OPEN", "CANCELLED",  "INTERNAL",
};

static const char *const health_status_names[_FC_HEALTH_STATUS_MAX] = {
    "UNKNOWN",
    "SERVING",
    "NOT_SERVING",
    "SERVICE_UNKNOWN",
};

#define NAME_OF(table, v) ((unsigned)(v) < ELEMENTSOF(table) ? (table)[v] : "?")

const char *fc_status_name(FcStatus s) { return NAME_OF(status_names, s); }
const char *fc_event_type_name(FcEventType t) { return NAME_OF(event_type_names, t); }
const char *fc_run_status_name(FcRunStatus s) { return NAME_OF(run_status_names, s); }
const char *fc_node_status_name(FcNodeStatus s) { return NAME_OF(node_status_names, s); }
const char *fc_failure_kind_name(FcFailureKind k) { return NAME_OF(failure_kind_names, k); }
const char *fc_health_status_name(FcHealthStatus s) { return NAME_OF(health_status_names, s); }

static int lookup(const char *const *table, size_t n, const char *name)
{
    for (size_t i = 1; i < n; i++)
        if (strcasecmp(table[i], name) == 0)
            return (int)i;
    return -EINVAL;
}

int fc_run_status_from_name(const char *name, FcRunStatus *ret)
{
    int i = lookup(run_status_names, ELEMENTSOF(run_status_names), name);
    if (i < 0)
        return i;
    *ret = (FcRunStatus)i;
    return 0;
}

int fc_event_type_from_name(const char *name, FcEventType *ret)
{
    int i = lookup(event_type_names, ELEMENTSOF(event_type_names), name);
    if (i < 0)
        return i;
    *ret = (FcEventType)i;
    return 0;
}

bool fc_event_type_is_terminal(FcEventType type)
{
    return type == FC_EVENT_RUN_SUCCEEDED || type == FC_EVENT_RUN_FAILED || type == FC_EVENT_RUN_CANCELLED;
}

const char *fc_version(void) { return "0.1.0"; }
