/* Streams of run events (ExecuteRun, WatchRun). A stream keeps a cursor, the
 * last seq it sent, and reads what follows from the store: replay and live
 * follow are the same loop, and a slow client costs no server memory (the
 * store answers a live run's newest events from its bounded tail). The
 * engine wakes a stream after each commit of its run's events; the wake-up
 * goes through the pump thread, so the engine thread never reads the store
 * for a client. One message is in flight per call; its completion sends the
 * next. The stream ends with status OK after the terminal event. */
#include <errno.h>
#include <string.h>

#include "server/rpc/rpc-internal.h"

#define STREAM_BATCH 64

struct RpcStream {
    char *run_id;
    uint64_t last_seq;
    StoreEvent *buf;
    size_t n;
    size_t pos;
    bool terminal_sent;
    bool queued; /* in the pump queue */
    EngWatch *watch;
};

static bool is_terminal(int type)
{
    return type == FLOWD__V1__RUN_EVENT__TYPE__RUN_SUCCEEDED || type == FLOWD__V1__RUN_EVENT__TYPE__RUN_FAILED ||
           type == FLOWD__V1__RUN_EVENT__TYPE__RUN_CANCELLED;
}

/* c->mu held. Sends the next event, or the final status after the terminal
 * event; does nothing while a send is in flight. */
static void pump_locked(RpcCall *c)
{
    RpcStream *st = c->stream;
    Store *store = c->srv->cfg.store;

    if (c->sending || c->status_sent || c->closed)
        return;
    if (st->pos == st->n && !st->terminal_sent) {
        store_events_free(st->buf, st->n);
        st->buf = NULL;
        st->n = st->pos = 0;
        int r = store->ops->events_read(store, st->run_id, st->last_seq, STREAM_BATCH, &st->buf, &st->n);
        if (r < 0) {
            rpc_finish_locked(c, GRPC_STATUS_UNAVAILABLE, "cannot read the run's events from the store; retry");
            return;
        }
    }
    if (st->pos < st->n) {
        StoreEvent *ev = &st->buf[st->pos++];
        st->last_seq = ev->seq;
        st->terminal_sent = is_terminal(ev->type);
        rpc_send_locked(c, ev->event.data, ev->event.len);
    } else if (st->terminal_sent)
        rpc_finish_locked(c, GRPC_STATUS_OK, "");
}

static void on_send_done(RpcCall *c, bool ok)
{
    if (ok)
        pump_locked(c);
}

/* Called on the engine thread with its watcher lock held: only queue. */
static void notify(void *ctx)
{
    RpcCall *c = ctx;
    RpcServer *s = c->srv;

    pthread_mutex_lock(&s->pump_mu);
    if (!c->stream->queued) {
        c->stream->queued = true;
        rpc_call_ref(c);
        if (s->pump_len == s->pump_cap) {
            s->pump_cap = s->pump_cap ? s->pump_cap * 2 : 64;
            s->pump_queue = realloc(s->pump_queue, s->pump_cap * sizeof(RpcCall *));
        }
        s->pump_queue[s->pump_len++] = c;
        pthread_cond_signal(&s->pump_cv);
    }
    pthread_mutex_unlock(&s->pump_mu);
}

static void *pump_main(void *arg)
{
    RpcServer *s = arg;

    pthread_mutex_lock(&s->pump_mu);
    for (;;) {
        while (!s->pump_len && !s->pump_stop)
            pthread_cond_wait(&s->pump_cv, &s->pump_mu);
        if (!s->pump_len && s->pump_stop)
            break;
        RpcCall *c = s->pump_queue[--s->pump_len];
        c->stream->queued = false;
        pthread_mutex_unlock(&s->pump_mu);
        pthread_mutex_lock(&c->mu);
        pump_locked(c);
        pthread_mutex_unlock(&c->mu);
        rpc_call_unref(c);
        pthread_mutex_lock(&s->pump_mu);
    }
    pthread_mutex_unlock(&s->pump_mu);
    return NULL;
}

int rpc_pump_start(RpcServer *s)
{
    pthread_mutex_init(&s->pump_mu, NULL);
    pthread_cond_init(&s->pump_cv, NULL);
    return -pthread_create(&s->pump_thread, NULL, pump_main, s);
}

void rpc_pump_stop(RpcServer *s)
{
    pthread_mutex_lock(&s->pump_mu);
    s->pump_stop = true;
    pthread_cond_signal(&s->pump_cv);
    pthread_mutex_unlock(&s->pump_mu);
    pthread_join(s->pump_thread, NULL);
    free(s->pump_queue);
    pthread_mutex_destroy(&s->pump_mu);
    pthread_cond_destroy(&s->pump_cv);
}

/* Registers the watcher before the first read, so no commit falls between
 * the read and the registration unseen. The client may vanish at any point:
 * whichever of this function and rpc_stream_on_close sees the other's work
 * removes the watcher, under the call's mutex. */
void rpc_stream_run(RpcCall *c, const char *run_id, uint64_t after_seq)
{
    RpcStream *st = calloc(1, sizeof(RpcStream));

    st->run_id = strdup(run_id);
    st->last_seq = after_seq;
    pthread_mutex_lock(&c->mu);
    c->stream = st;
    c->on_send_done = on_send_done;
    pthread_mutex_unlock(&c->mu);
    rpc_call_ref(c);
    EngWatch *w = eng_watch_add(c->srv->cfg.engine, run_id, notify, c);
    pthread_mutex_lock(&c->mu);
    bool closed = c->closed;
    if (!closed) {
        st->watch = w;
        pump_locked(c);
    }
    pthread_mutex_unlock(&c->mu);
    if (closed) {
        eng_watch_remove(c->srv->cfg.engine, w);
        rpc_call_unref(c);
    }
}

/* The call ended (finished, or the client went away): stop watching. The
 * run itself goes on. The watcher is removed without the call's mutex held,
 * since the engine's notify path takes the locks in the opposite order. */
void rpc_stream_on_close(RpcCall *c)
{
    pthread_mutex_lock(&c->mu);
    EngWatch *w = c->stream->watch;
    c->stream->watch = NULL;
    pthread_mutex_unlock(&c->mu);
    if (w) {
        eng_watch_remove(c->srv->cfg.engine, w);
        rpc_call_unref(c);
    }
}

void rpc_stream_free(RpcCall *c)
{
    RpcStream *st = c->stream;
    store_events_free(st->buf, st->n);
    free(st->run_id);
    free(st);
    c->stream = NULL;
}
