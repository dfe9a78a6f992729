/* sbx-frame.c: buffers and the frame codec (see sbx-frame.h). */
#include "sandbox/sbx-frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sandbox/sbx-util.h"

static char *buf_resize(SbxBuf *b, size_t cap)
{
    if (!b->dontfork)
        return realloc(b->data, cap);
    if (b->data)
        return sbx_private_resize(b->data, b->cap, cap);
    return sbx_private_alloc(cap);
}

static void buf_release(SbxBuf *b)
{
    if (b->dontfork)
        sbx_private_free(b->data, b->cap);
    else
        free(b->data);
    b->data = NULL;
    b->cap = 0;
}

int sbx_buf_reserve(SbxBuf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return -ENOMEM;
    size_t cap = b->cap ? b->cap : b->dontfork ? 4096 : 256;
    while (cap - b->len < extra)
        cap *= 2;
    char *d = buf_resize(b, cap);
    if (!d)
        return -ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

int sbx_buf_append(SbxBuf *b, const void *p, size_t n)
{
    int r = sbx_buf_reserve(b, n);
    if (r < 0)
        return r;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void sbx_buf_consume(SbxBuf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        /* One big output must not pin its buffer for the process's life. */
        if (b->cap > SBX_BUF_KEEP)
            buf_release(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void sbx_buf_free(SbxBuf *b)
{
    buf_release(b);
    *b = (SbxBuf){.dontfork = b->dontfork};
}

static void put_raw(SbxWriter *w, const void *p, size_t n)
{
    if (w->err == 0)
        w->err = sbx_buf_append(w->buf, p, n);
}

void sbx_frame_begin(SbxWriter *w, SbxBuf *buf, SbxFrameType type)
{
    *w = (SbxWriter){.buf = buf, .start = buf->len};
    uint32_t zero = 0;
    put_raw(w, &zero, sizeof(zero));
    sbx_put_u8(w, (uint8_t)type);
}

void sbx_put_u8(SbxWriter *w, uint8_t v) { put_raw(w, &v, 1); }

void sbx_put_u32(SbxWriter *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_raw(w, b, sizeof(b));
}

void sbx_put_u64(SbxWriter *w, uint64_t v)
{
    sbx_put_u32(w, (uint32_t)v);
    sbx_put_u32(w, (uint32_t)(v >> 32));
}

void sbx_put_bytes(SbxWriter *w, const void *p, size_t n)
{
    if (n > SBX_FRAME_MAX) {
        w->err = -EMSGSIZE;
        return;
    }
    sbx_put_u32(w, (uint32_t)n);
    put_raw(w, p, n);
    sbx_put_u8(w, 0);
}

void sbx_put_str(SbxWriter *w, const char *s) { sbx_put_bytes(w, s ? s : "", s ? strlen(s) : 0); }

int sbx_frame_end(SbxWriter *w)
{
    size_t body = w->buf->len - w->start - SBX_FRAME_HDR;
    if (w->err == 0 && body > SBX_FRAME_MAX)
        w->err = -EMSGSIZE;
    if (w->err < 0) {
        w->buf->len = MIN(w->buf->len, w->start);
        return w->err;
    }
    uint8_t *h = (uint8_t *)w->buf->data + w->start;
    h[0] = (uint8_t)body;
    h[1] = (uint8_t)(body >> 8);
    h[2] = (uint8_t)(body >> 16);
    h[3] = (uint8_t)(body >> 24);
    return 0;
}

int sbx_frame_next(const char *data, size_t len, SbxFrameType *ret_type, SbxReader *ret_body, size_t *ret_size)
{
    if (len < SBX_FRAME_HDR)
        return 0;
    const uint8_t *h = (const uint8_t *)data;
    uint32_t body = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    if (body == 0 || body > SBX_FRAME_MAX)
        return -EBADMSG;
    if (len - SBX_FRAME_HDR < body)
        return 0;
    *ret_type = (SbxFrameType)(uint8_t)data[SBX_FRAME_HDR];
    *ret_body = (SbxReader){.p = data + SBX_FRAME_HDR + 1, .left = body - 1};
    *ret_size = SBX_FRAME_HDR + body;
    return 1;
}

static const char *get_raw(SbxReader *r, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = true;
        return NULL;
    }
    const char *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

uint8_t sbx_get_u8(SbxReader *r)
{
    const char *p = get_raw(r, 1);
    return p ? (uint8_t)p[0] : 0;
}

uint32_t sbx_get_u32(SbxReader *r)
{
    const uint8_t *p = (const uint8_t *)get_raw(r, 4);
    if (!p)
        return 0;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t sbx_get_u64(SbxReader *r)
{
    uint64_t lo = sbx_get_u32(r);
    uint64_t hi = sbx_get_u32(r);
    return lo | hi << 32;
}

const char *sbx_get_bytes(SbxReader *r, size_t *ret_len)
{
    uint32_t n = sbx_get_u32(r);
    if (n >= r->left) { /* also needs room for the NUL */
        r->bad = true;
        *ret_len = 0;
        return "";
    }
    const char *p = get_raw(r, (size_t)n + 1);
    if (!p || p[n] != '\0') {
        r->bad = true;
        *ret_len = 0;
        return "";
    }
    *ret_len = n;
    return p;
}

const char *sbx_get_str(SbxReader *r)
{
    size_t n;
    const char *s = sbx_get_bytes(r, &n);
    if (memchr(s, '\0', n)) {
        r->bad = true;
        return "";
    }
    return s;
}

void sbx_put_limits(SbxWriter *w, const SbxLimits *l)
{
    sbx_put_u64(w, l->memory_bytes);
    sbx_put_u32(w, l->cpu_millis);
    sbx_put_u32(w, l->pids);
    sbx_put_u32(w, l->timeout_ms);
    sbx_put_u64(w, l->output_max_bytes);
    sbx_put_u64(w, l->fsize_bytes);
    sbx_put_u32(w, l->nofile);
    sbx_put_u32(w, l->log_max_bytes);
}

void sbx_get_limits(SbxReader *r, SbxLimits *l)
{
    l->memory_bytes = sbx_get_u64(r);
    l->cpu_millis = sbx_get_u32(r);
    l->pids = sbx_get_u32(r);
    l->timeout_ms = sbx_get_u32(r);
    l->output_max_bytes = sbx_get_u64(r);
    l->fsize_bytes = sbx_get_u64(r);
    l->nofile = sbx_get_u32(r);
    l->log_max_bytes = sbx_get_u32(r);
}

static size_t count_strv(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static void put_strv(SbxWriter *w, const char *const *v)
{
    size_t n = count_strv(v);
    sbx_put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        sbx_put_str(w, v[i]);
}

int sbx_spawn_encode(SbxWriter *w, SbxBuf *buf, const SbxRequest *req, SbxProfile profile)
{
    if (count_strv(req->argv) > SBX_ARGS_MAX || count_strv(req->env) > SBX_ARGS_MAX)
        return -E2BIG;
    sbx_frame_begin(w, buf, SBX_FRAME_SPAWN);
    sbx_put_u64(w, req->id);
    sbx_put_u32(w, (uint32_t)req->builtin);
    sbx_put_u8(w, (uint8_t)profile);
    sbx_put_limits(w, &req->limits);
    put_strv(w, req->builtin < 0 ? req->argv : NULL);
    put_strv(w, req->env);
    return sbx_frame_end(w);
}

/* Reads a string vector into *cursor (pointer slots) and *strs (bytes),
 * both inside the block that sbx_spawn_decode() sized beforehand. */
static char **get_strv(SbxReader *r, char ***cursor, char **strs)
{
    uint32_t n = sbx_get_u32(r);
    if (r->bad || n > SBX_ARGS_MAX || n > r->left / 5) {
        r->bad = true;
        return NULL;
    }
    char **v = *cursor;
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        const char *s = sbx_get_bytes(r, &len);
        if (r->bad)
            return NULL;
        memcpy(*strs, s, len + 1);
        v[i] = *strs;
        *strs += len + 1;
    }
    v[n] = NULL;
    *cursor = v + n + 1;
    return v;
}

int sbx_spawn_decode(SbxReader *r, SbxSpawnMsg *ret)
{
    SbxSpawnMsg m = {0};
    m.id = sbx_get_u64(r);
    m.builtin = (int32_t)sbx_get_u32(r);
    m.profile = (SbxProfile)sbx_get_u8(r);
    sbx_get_limits(r, &m.limits);
    if (r->bad || (unsigned)m.profile >= _SBX_PROFILE_MAX)
        return -EBADMSG;
    /* The rest of the body bounds both the pointer count (each string costs
     * at least 5 bytes on the wire) and the bytes, so one allocation fits. */
    size_t slots = r->left / 5 + 2;
    if (r->left > SBX_FRAME_MAX)
        return -EBADMSG;
    m.block_len = slots * sizeof(char *) + r->left;
    m.block = malloc(m.block_len);
    if (!m.block)
        return -ENOMEM;
    char **cursor = m.block;
    char *strs = (char *)m.block + slots * sizeof(char *);
    char **argv = get_strv(r, &cursor, &strs);
    m.env = argv ? get_strv(r, &cursor, &strs) : NULL;
    if (!argv || !m.env || r->bad || r->left != 0) {
        sbx_spawn_msg_done(&m);
        return -EBADMSG;
    }
    m.argv = argv[0] ? argv : NULL;
    *ret = m;
    return 0;
}

/* The block holds the attempt's environment, its granted secrets: the
 * zygote's heap is copied into every later child (a python template's
 * runs node code in it), so it is wiped before it is freed. */
void sbx_spawn_msg_done(SbxSpawnMsg *m)
{
    if (m->block)
        explicit_bzero(m->block, m->block_len);
    free(m->block);
    *m = (SbxSpawnMsg){0};
}

int sbx_done_encode(SbxWriter *w, SbxBuf *buf, uint64_t id, const SbxResult *res)
{
    sbx_frame_begin(w, buf, SBX_FRAME_DONE);
    sbx_put_u64(w, id);
    sbx_put_u8(w, (uint8_t)res->outcome);
    sbx_put_u32(w, (uint32_t)res->exit_code);
    sbx_put_u32(w, (uint32_t)res->signal);
    sbx_put_str(w, res->syscall);
    sbx_put_u64(w, res->usage.peak_memory_bytes);
    sbx_put_u64(w, res->usage.cpu_user_us);
    sbx_put_u64(w, res->usage.cpu_system_us);
    sbx_put_u64(w, res->usage.wall_us);
    sbx_put_str(w, res->message);
    sbx_put_bytes(w, res->output, res->output_len);
    return sbx_frame_end(w);
}

int sbx_done_decode(SbxReader *r, uint64_t *ret_id, SbxResult *ret)
{
    SbxResult res = {0};
    uint64_t id = sbx_get_u64(r);
    res.outcome = (SbxOutcome)sbx_get_u8(r);
    res.exit_code = (int)sbx_get_u32(r);
    res.signal = (int)sbx_get_u32(r);
    const char *sc = sbx_get_str(r);
    res.usage.peak_memory_bytes = sbx_get_u64(r);
    res.usage.cpu_user_us = sbx_get_u64(r);
    res.usage.cpu_system_us = sbx_get_u64(r);
    res.usage.wall_us = sbx_get_u64(r);
    res.message = sbx_get_str(r);
    res.output = sbx_get_bytes(r, &res.output_len);
    if (r->bad || r->left != 0 || (unsigned)res.outcome >= _SBX_OUTCOME_MAX || strlen(sc) >= sizeof(res.syscall))
        return -EBADMSG;
    strcpy(res.syscall, sc);
    *ret_id = id;
    *ret = res;
    return 0;
}

/* INIT lives here too so both ends share one definition. */
#include "sandbox/sbx-internal.h"

int sbx_init_encode(SbxWriter *w, SbxBuf *buf, const SbxZygoteInit *in)
{
    sbx_frame_begin(w, buf, SBX_FRAME_INIT);
    sbx_put_u32(w, in->index);
    sbx_put_u32(w, (uint32_t)in->uid);
    sbx_put_u32(w, (uint32_t)in->gid);
    sbx_put_u8(w, (uint8_t)in->mode);
    sbx_put_u8(w, (uint8_t)in->cgroup_version);
    sbx_put_u8(w, in->memsw);
    sbx_put_u8(w, (uint8_t)in->landlock_abi);
    sbx_put_u32(w, in->max_children);
    sbx_put_str(w, in->scratch_root);
    put_strv(w, (const char *const *)in->ro_paths);
    for (int p = 0; p < _SBX_PROFILE_MAX; p++)
        sbx_put_bytes(w, in->bpf[p].insns, in->bpf[p].len * sizeof(struct sock_filter));
    sbx_put_bytes(w, in->self_bpf.insns, in->self_bpf.len * sizeof(struct sock_filter));
    sbx_put_u32(w, in->n_slots);
    for (uint32_t i = 0; i < in->n_slots; i++)
        for (int c = 0; c < _SBX_CG_MAX; c++)
            sbx_put_str(w, in->slots[i].dir[c]);
    return sbx_frame_end(w);
}

static char *dup_str(SbxReader *r)
{
    const char *s = sbx_get_str(r);
    return r->bad ? NULL : strdup(s);
}

static int init_decode_strs(SbxReader *r, SbxZygoteInit *in)
{
    in->scratch_root = dup_str(r);
    uint32_t n = sbx_get_u32(r);
    if (r->bad || !in->scratch_root || n > SBX_ARGS_MAX)
        return -EBADMSG;
    if (!(in->ro_paths = calloc(n + 1, sizeof(char *))))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        if (!(in->ro_paths[i] = dup_str(r)))
            return -EBADMSG;
    return 0;
}

static int decode_one_bpf(SbxReader *r, SbxBpf *ret, bool optional)
{
    size_t len;
    const char *b = sbx_get_bytes(r, &len);
    if (r->bad || (len == 0 && !optional) || len % sizeof(struct sock_filter) != 0 || len > 65536)
        return -EBADMSG;
    if (len == 0)
        return 0;
    if (!(ret->insns = malloc(len)))
        return -ENOMEM;
    memcpy(ret->insns, b, len);
    ret->len = len / sizeof(struct sock_filter);
    return 0;
}

static int init_decode_bpf(SbxReader *r, SbxZygoteInit *in)
{
    for (int p = 0; p < _SBX_PROFILE_MAX; p++) {
        int rc = decode_one_bpf(r, &in->bpf[p], false);
        if (rc < 0)
            return rc;
    }
    return decode_one_bpf(r, &in->self_bpf, true);
}

static int init_decode_slots(SbxReader *r, SbxZygoteInit *in)
{
    in->n_slots = sbx_get_u32(r);
    if (r->bad || in->n_slots > SBX_MAX_SLOTS)
        return -EBADMSG;
    if (in->n_slots && !(in->slots = calloc(in->n_slots, sizeof(*in->slots))))
        return -ENOMEM;
    for (uint32_t i = 0; i < in->n_slots; i++)
        for (int c = 0; c < _SBX_CG_MAX; c++)
            if (!(in->slots[i].dir[c] = dup_str(r)))
                return -EBADMSG;
    return 0;
}

int sbx_init_decode(SbxReader *r, SbxZygoteInit *ret)
{
    SbxZygoteInit in = {0};
    in.index = sbx_get_u32(r);
    in.uid = (uid_t)sbx_get_u32(r);
    in.gid = (gid_t)sbx_get_u32(r);
    in.mode = (SbxMode)sbx_get_u8(r);
    in.cgroup_version = sbx_get_u8(r);
    in.memsw = sbx_get_u8(r) != 0;
    in.landlock_abi = sbx_get_u8(r);
    in.max_children = sbx_get_u32(r);
    int rc = -EBADMSG;
    if (!r->bad && (unsigned)in.mode < _SBX_MODE_MAX && in.max_children > 0 && in.max_children <= SBX_MAX_SLOTS &&
        (rc = init_decode_strs(r, &in)) == 0 && (rc = init_decode_bpf(r, &in)) == 0 &&
        (rc = init_decode_slots(r, &in)) == 0 && (r->bad || r->left != 0))
        rc = -EBADMSG;
    if (rc < 0) {
        sbx_init_done(&in);
        return rc;
    }
    *ret = in;
    return 0;
}

void sbx_init_done(SbxZygoteInit *in)
{
    free(in->scratch_root);
    for (char **p = in->ro_paths; p && *p; p++)
        free(*p);
    free(in->ro_paths);
    for (int p = 0; p < _SBX_PROFILE_MAX; p++)
        sbx_bpf_free(&in->bpf[p]);
    sbx_bpf_free(&in->self_bpf);
    for (uint32_t i = 0; i < in->n_slots && in->slots; i++)
        for (int c = 0; c < _SBX_CG_MAX; c++)
            free(in->slots[i].dir[c]);
    free(in->slots);
    *in = (SbxZygoteInit){0};
}
