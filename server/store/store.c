/* store.c: store_open() by scheme, and the destructors of store rows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const StoreOps *const store_backends[] = {
    &store_sqlite_ops,
};

#define STORE_DB_FILE "flowd.db"

static int store_error(StoreError *e, int neg_errno, const char *msg, const char *arg)
{
    if (e) {
        e->err = -neg_errno;
        snprintf(e->msg, sizeof(e->msg), msg, arg);
    }
    return neg_errno;
}

/* "sqlite:PATH" and "sqlite://PATH" name a file; the scheme's ops open it. */
static int store_parse(const char *location, const StoreOps **ret_ops, const char **ret_path, StoreError *e)
{
    const char *colon = strchr(location, ':');

    if (!colon)
        return store_error(e, -EINVAL, "FLOWD_STORE=%s: expected sqlite:PATH", location);
    for (size_t i = 0; i < sizeof(store_backends) / sizeof(store_backends[0]); i++) {
        const char *scheme = store_backends[i]->scheme;
        size_t len = strlen(scheme);

        if ((size_t)(colon - location) != len || strncmp(location, scheme, len) != 0)
            continue;
        *ret_ops = store_backends[i];
        *ret_path = strncmp(colon + 1, "//", 2) == 0 ? colon + 3 : colon + 1;
        if (!**ret_path)
            return store_error(e, -EINVAL, "FLOWD_STORE=%s: the path is empty", location);
        return 0;
    }
    return store_error(e, -EPROTONOSUPPORT, "FLOWD_STORE=%s: unknown store scheme (this flowd knows sqlite:PATH)",
                       location);
}

static int store_default_path(const char *data_dir, char **ret, StoreError *e)
{
    if (!data_dir || !*data_dir)
        return store_error(e, -EINVAL, "%s", "store: neither FLOWD_STORE nor FLOWD_DATA_DIR is set");
    if (asprintf(ret, "%s/%s", data_dir, STORE_DB_FILE) < 0)
        return store_error(e, -ENOMEM, "%s", "store: out of memory");
    return 0;
}

int store_open(const char *location, const char *data_dir, const StoreOptions *o, Store **ret, StoreError *e)
{
    const StoreOps *ops = &store_sqlite_ops;
    const char *path;
    char *owned = NULL;
    int r;

    if (location && *location)
        r = store_parse(location, &ops, &path, e);
    else if ((r = store_default_path(data_dir, &owned, e)) >= 0)
        path = owned;
    if (r < 0)
        return r;
    r = ops->open(path, o, ret, e);
    free(owned);
    return r;
}

void store_close(Store *s)
{
    if (s)
        s->ops->close(s);
}

static void store_blob_clear(StoreBlob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

void store_run_clear(StoreRun *r)
{
    if (!r)
        return;
    free(r->run_id);
    free(r->tenant);
    free(r->owner);
    free(r->workflow_name);
    store_blob_clear(&r->workflow);
    free(r->inputs_json);
    free(r->labels_json);
    free(r->outputs_json);
    store_blob_clear(&r->failure);
    free(r->idempotency_key);
    memset(r, 0, sizeof(*r));
}

void store_node_clear(StoreNode *n)
{
    if (!n)
        return;
    free(n->node_id);
    store_blob_clear(&n->failure);
    store_blob_clear(&n->usage);
    free(n->output_json);
    memset(n, 0, sizeof(*n));
}

void store_event_clear(StoreEvent *ev)
{
    if (!ev)
        return;
    store_blob_clear(&ev->event);
    memset(ev, 0, sizeof(*ev));
}

void store_dead_letter_clear(StoreDeadLetter *d)
{
    if (!d)
        return;
    free(d->id);
    free(d->run_id);
    free(d->node_id);
    free(d->tenant);
    free(d->workflow_name);
    free(d->kind);
    free(d->inputs_json);
    store_blob_clear(&d->failure);
    free(d->retried_run_id);
    store_blob_clear(&d->node);
    memset(d, 0, sizeof(*d));
}

void store_runs_free(StoreRun *runs, size_t n)
{
    for (size_t i = 0; runs && i < n; i++)
        store_run_clear(&runs[i]);
    free(runs);
}

void store_nodes_free(StoreNode *nodes, size_t n)
{
    for (size_t i = 0; nodes && i < n; i++)
        store_node_clear(&nodes[i]);
    free(nodes);
}

void store_events_free(StoreEvent *events, size_t n)
{
    for (size_t i = 0; events && i < n; i++)
        store_event_clear(&events[i]);
    free(events);
}

void store_dead_letters_free(StoreDeadLetter *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        store_dead_letter_clear(&d[i]);
    free(d);
}

void store_ids_free(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}
