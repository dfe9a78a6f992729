/* The audit log: one JSON line per RPC. Lines are written at once and
 * fsynced in batches (every 64 lines or once a second), so an audit line is
 * on disk soon after the call without an fsync per call. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/auth/auth-internal.h"

int auth_audit_open(Auth *a, const char *path, char *err, size_t size)
{
    a->audit = fopen(path, "ae");
    if (!a->audit) {
        snprintf(err, size, "cannot open FLOWD_AUDIT_LOG %s: %s", path, strerror(errno));
        return -errno;
    }
    return 0;
}

void auth_audit_close(Auth *a)
{
    if (!a->audit)
        return;
    fflush(a->audit);
    fsync(fileno(a->audit));
    fclose(a->audit);
    a->audit = NULL;
}

static void set(json_t *j, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(j, key, json_string(value));
}

void auth_audit(Auth *a, const AuthAudit *rec)
{
    char when[40];
    struct timespec ts;
    struct tm tm;

    if (!a || !a->audit)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
    json_t *j = json_object();
    set(j, "time", when);
    set(j, "peer", rec->peer);
    set(j, "user", rec->user);
    set(j, "tenant", rec->tenant);
    set(j, "method", rec->method);
    set(j, "run", rec->run);
    set(j, "decision", rec->decision);
    set(j, "code", rec->code);
    char *line = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *clean = auth_scrub(a, line);
    uint64_t now = (uint64_t)ts.tv_sec;
    pthread_mutex_lock(&a->audit_mu);
    fprintf(a->audit, "%s\n", clean ? clean : line);
    fflush(a->audit);
    if (++a->audit_unsynced >= 64 || now != a->audit_last_sync) {
        fdatasync(fileno(a->audit));
        a->audit_unsynced = 0;
        a->audit_last_sync = now;
    }
    pthread_mutex_unlock(&a->audit_mu);
    free(clean);
    free(line);
}
