/* Watchers of runs: RPC streams register here and are woken after each
 * commit that added events to their run. They then read the events from the
 * store themselves, so a watcher that falls behind costs no engine memory. */
#include <string.h>

#include "server/engine/eng-internal.h"

struct EngWatch {
    EngNotifyFn fn;
    void *ctx;
    struct EngWatch *next;
    struct EngWatch *prev;
    EngWatchList *list;
};

struct EngWatchList {
    char *run_id;
    EngWatch *head;
    uint32_t slot;
};

void eng_watch_init(Engine *e)
{
    pthread_mutex_init(&e->watch_mu, NULL);
    strmap_init(&e->watch_index, 64);
}

void eng_watch_destroy(Engine *e)
{
    for (size_t i = 0; i < e->n_watch_lists; i++) {
        EngWatchList *l = e->watch_lists[i];
        if (!l)
            continue;
        while (l->head) {
            EngWatch *w = l->head;
            l->head = w->next;
            free(w);
        }
        free(l->run_id);
        free(l);
    }
    free(e->watch_lists);
    strmap_free(&e->watch_index);
    pthread_mutex_destroy(&e->watch_mu);
}

static EngWatchList *list_get(Engine *e, const char *run_id, bool create)
{
    uint32_t slot;
    if (strmap_get(&e->watch_index, run_id, &slot))
        return e->watch_lists[slot];
    if (!create)
        return NULL;
    for (slot = 0; slot < e->n_watch_lists && e->watch_lists[slot]; slot++)
        ;
    if (slot == e->n_watch_lists) {
        e->watch_lists = xrealloc(e->watch_lists, (e->n_watch_lists + 16) * sizeof(EngWatchList *));
        memset(e->watch_lists + e->n_watch_lists, 0, 16 * sizeof(EngWatchList *));
        e->n_watch_lists += 16;
    }
    EngWatchList *l = xcalloc(1, sizeof(EngWatchList));
    l->run_id = xstrdup(run_id);
    l->slot = slot;
    e->watch_lists[slot] = l;
    strmap_put(&e->watch_index, l->run_id, slot);
    return l;
}

EngWatch *eng_watch_add(Engine *e, const char *run_id, EngNotifyFn fn, void *ctx)
{
    EngWatch *w = xcalloc(1, sizeof(EngWatch));

    w->fn = fn;
    w->ctx = ctx;
    pthread_mutex_lock(&e->watch_mu);
    EngWatchList *l = list_get(e, run_id, true);
    w->list = l;
    w->next = l->head;
    if (l->head)
        l->head->prev = w;
    l->head = w;
    pthread_mutex_unlock(&e->watch_mu);
    return w;
}

void eng_watch_remove(Engine *e, EngWatch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&e->watch_mu);
    EngWatchList *l = w->list;
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (!l->head) {
        strmap_del(&e->watch_index, l->run_id);
        e->watch_lists[l->slot] = NULL;
        free(l->run_id);
        free(l);
    }
    pthread_mutex_unlock(&e->watch_mu);
    free(w);
}

void eng_watch_notify(Engine *e, const char *run_id)
{
    pthread_mutex_lock(&e->watch_mu);
    EngWatchList *l = list_get(e, run_id, false);
    for (EngWatch *w = l ? l->head : NULL; w; w = w->next)
        w->fn(w->ctx);
    pthread_mutex_unlock(&e->watch_mu);
}
