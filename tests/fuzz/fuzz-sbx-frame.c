/* fuzz-sbx-frame.c: the wire format between flowd and its zygotes
 * (sandbox/sbx-frame.h). The input is a byte stream, fed in chunks into a
 * stream buffer the way both readers do (sbx-pool.c read_zygote, sbx-zygote.c
 * on_frames); each whole frame is decoded according to its type. A frame that
 * decodes is encoded again and must decode to the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sbx-frame.h"
#include "sandbox/sbx-internal.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void spawn_roundtrip(const SbxSpawnMsg *m)
{
    SbxRequest req = {.id = m->id,
                      .builtin = m->builtin,
                      .argv = (const char *const *)m->argv,
                      .env = (const char *const *)m->env,
                      .limits = m->limits};
    SbxBuf buf = {0};
    SbxWriter w;
    /* A built-in carries no argv on the wire; an argv-less exec request
     * decodes with argv NULL too. */
    if (sbx_spawn_encode(&w, &buf, &req, m->profile) == 0) {
        SbxFrameType type;
        SbxReader r;
        size_t size;
        check(sbx_frame_next(buf.data, buf.len, &type, &r, &size) == 1 && type == SBX_FRAME_SPAWN && size == buf.len);
        SbxSpawnMsg again;
        check(sbx_spawn_decode(&r, &again) == 0);
        check(again.id == m->id && again.builtin == m->builtin && again.profile == m->profile);
        check(memcmp(&again.limits, &m->limits, sizeof(m->limits)) == 0);
        size_t i = 0;
        for (; m->env[i]; i++)
            check(again.env[i] && strcmp(again.env[i], m->env[i]) == 0);
        check(!again.env[i]);
        if (m->builtin < 0 && m->argv) {
            for (i = 0; m->argv[i]; i++)
                check(again.argv && again.argv[i] && strcmp(again.argv[i], m->argv[i]) == 0);
        }
        sbx_spawn_msg_done(&again);
    }
    sbx_buf_free(&buf);
}

static void on_spawn(SbxReader *r)
{
    SbxSpawnMsg m;
    if (sbx_spawn_decode(r, &m) < 0)
        return;
    check(m.env != NULL);
    for (char **e = m.env; *e; e++)
        (void)strlen(*e);
    for (char **a = m.argv; a && *a; a++)
        (void)strlen(*a);
    spawn_roundtrip(&m);
    sbx_spawn_msg_done(&m);
}

static void on_done(SbxReader *r)
{
    uint64_t id;
    SbxResult res;
    if (sbx_done_decode(r, &id, &res) < 0)
        return;
    check(res.output[res.output_len] == '\0');
    (void)strlen(res.message);
    SbxBuf buf = {0};
    SbxWriter w;
    if (sbx_done_encode(&w, &buf, id, &res) == 0) {
        SbxFrameType type;
        SbxReader r2;
        size_t size;
        check(sbx_frame_next(buf.data, buf.len, &type, &r2, &size) == 1 && type == SBX_FRAME_DONE);
        uint64_t id2;
        SbxResult again;
        check(sbx_done_decode(&r2, &id2, &again) == 0);
        check(id2 == id && again.outcome == res.outcome && again.exit_code == res.exit_code &&
              again.signal == res.signal && strcmp(again.syscall, res.syscall) == 0);
        check(again.output_len == res.output_len && memcmp(again.output, res.output, res.output_len) == 0);
        check(strcmp(again.message, res.message) == 0);
        check(memcmp(&again.usage, &res.usage, sizeof(res.usage)) == 0);
    }
    sbx_buf_free(&buf);
}

static void on_init(SbxReader *r)
{
    SbxZygoteInit in;
    if (sbx_init_decode(r, &in) < 0)
        return;
    for (char **p = in.ro_paths; p && *p; p++)
        (void)strlen(*p);
    for (uint32_t i = 0; i < in.n_slots; i++)
        for (int c = 0; c < _SBX_CG_MAX; c++)
            (void)strlen(in.slots[i].dir[c]);
    sbx_init_done(&in);
}

static void on_frame(SbxFrameType type, SbxReader *r)
{
    size_t len;
    switch (type) {
    case SBX_FRAME_INIT:
        on_init(r);
        break;
    case SBX_FRAME_SPAWN:
        on_spawn(r);
        break;
    case SBX_FRAME_DONE:
        on_done(r);
        break;
    case SBX_FRAME_STARTED:
        (void)sbx_get_u64(r);
        (void)sbx_get_u32(r);
        break;
    case SBX_FRAME_LOG:
    case SBX_FRAME_PROGRESS: {
        (void)sbx_get_u64(r);
        const char *line = sbx_get_bytes(r, &len);
        check(line[len] == '\0');
        break;
    }
    case SBX_FRAME_CANCEL:
        (void)sbx_get_u64(r);
        break;
    default: {
        SbxLimits l;
        sbx_get_limits(r, &l);
        (void)sbx_get_str(r);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SbxBuf in = {0};
    /* The first byte picks the chunk size, as recv() would cut the stream. */
    size_t chunk = size ? (size_t)data[0] % 64 + 1 : 1;
    size_t pos = size ? 1 : 0;

    while (pos < size) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        if (sbx_buf_append(&in, data + pos, n) < 0)
            break;
        pos += n;
        size_t off = 0;
        int r;
        for (;;) {
            SbxFrameType type;
            SbxReader body;
            size_t fsize;
            r = sbx_frame_next(in.data + off, in.len - off, &type, &body, &fsize);
            if (r <= 0)
                break;
            check(fsize <= in.len - off);
            on_frame(type, &body);
            off += fsize;
        }
        if (r < 0)
            break; /* a protocol error ends the connection */
        sbx_buf_consume(&in, off);
    }
    sbx_buf_free(&in);
    return 0;
}
