/* sbx-frame.h: the wire format between the caller and its zygotes.
 *
 * A frame is a little-endian u32 body length followed by the body: one type
 * byte and the payload. Integers are little-endian fixed width; a string or
 * byte run is a u32 length, the bytes and a NUL that the length does not
 * count, so a decoder can hand out pointers into its buffer. Input documents
 * do not travel in frames: SPAWN carries a sealed memfd as SCM_RIGHTS. */
#ifndef FLOWD_SBX_FRAME_H
#define FLOWD_SBX_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/sbx.h"

/* A body larger than this is a protocol error: outputs are capped at
 * SBX_OUTPUT_MAX_LIMIT, everything else is small. */
#define SBX_FRAME_MAX (300u * 1024u * 1024u)
#define SBX_FRAME_HDR 4u
/* Bounds on what a request may carry, checked by sbx_spawn(). */
#define SBX_ARGS_MAX 4096u
#define SBX_OUTPUT_MAX_LIMIT (256u * 1024u * 1024u)

typedef enum SbxFrameType {
    /* caller -> zygote */
    SBX_FRAME_INIT = 1,
    SBX_FRAME_SPAWN,
    SBX_FRAME_CANCEL,
    /* zygote -> caller */
    SBX_FRAME_READY,
    SBX_FRAME_STARTED,
    SBX_FRAME_LOG,
    SBX_FRAME_PROGRESS,
    SBX_FRAME_DONE,
    _SBX_FRAME_MAX,
} SbxFrameType;

/* An emptied buffer larger than this is given back. */
#define SBX_BUF_KEEP (1u << 20)

typedef struct SbxBuf {
    char *data;
    size_t len;
    size_t cap;
    /* Zygote-private: the storage is mmap()ed with MADV_DONTFORK, so a fork
     * neither copies it nor write-protects it (no copy-on-write fault on the
     * zygote's next write). Set before the first reserve. */
    bool dontfork;
} SbxBuf;

int sbx_buf_reserve(SbxBuf *b, size_t extra);
int sbx_buf_append(SbxBuf *b, const void *p, size_t n);
void sbx_buf_consume(SbxBuf *b, size_t n);
void sbx_buf_free(SbxBuf *b);

/* Frame writer: appends one frame to a buffer. Allocation failures latch in
 * err and make sbx_frame_end() fail, so encoders need no checks per field. */
typedef struct SbxWriter {
    SbxBuf *buf;
    size_t start;
    int err;
} SbxWriter;

void sbx_frame_begin(SbxWriter *w, SbxBuf *buf, SbxFrameType type);
void sbx_put_u8(SbxWriter *w, uint8_t v);
void sbx_put_u32(SbxWriter *w, uint32_t v);
void sbx_put_u64(SbxWriter *w, uint64_t v);
void sbx_put_bytes(SbxWriter *w, const void *p, size_t n);
void sbx_put_str(SbxWriter *w, const char *s);
/* Returns 0, or -ENOMEM/-EMSGSIZE after dropping the partial frame. */
int sbx_frame_end(SbxWriter *w);

/* Frame reader over one complete body (after the type byte). A short or
 * malformed payload latches bad; getters then return zeroes. */
typedef struct SbxReader {
    const char *p;
    size_t left;
    bool bad;
} SbxReader;

/* Looks at the start of a stream buffer: returns 1 with the type, the body
 * reader and the frame's total size when a whole frame is there, 0 when more
 * bytes are needed, -EBADMSG for an oversized or empty frame. */
int sbx_frame_next(const char *data, size_t len, SbxFrameType *ret_type, SbxReader *ret_body, size_t *ret_size);

uint8_t sbx_get_u8(SbxReader *r);
uint32_t sbx_get_u32(SbxReader *r);
uint64_t sbx_get_u64(SbxReader *r);
/* Returns a pointer into the buffer (NUL-terminated) and its length. */
const char *sbx_get_bytes(SbxReader *r, size_t *ret_len);
const char *sbx_get_str(SbxReader *r);

void sbx_put_limits(SbxWriter *w, const SbxLimits *l);
void sbx_get_limits(SbxReader *r, SbxLimits *l);

/* A decoded SPAWN: argv and env live in one allocation owned by the message. */
typedef struct SbxSpawnMsg {
    uint64_t id;
    int32_t builtin;
    SbxProfile profile;
    SbxLimits limits;
    char **argv; /* NULL-terminated; NULL for a built-in */
    char **env;  /* NULL-terminated, never NULL */
    void *block;
    size_t block_len;
} SbxSpawnMsg;

int sbx_spawn_encode(SbxWriter *w, SbxBuf *buf, const SbxRequest *req, SbxProfile profile);
int sbx_spawn_decode(SbxReader *r, SbxSpawnMsg *ret);
void sbx_spawn_msg_done(SbxSpawnMsg *m);

/* DONE: the result with its message and output. */
int sbx_done_encode(SbxWriter *w, SbxBuf *buf, uint64_t id, const SbxResult *res);
/* Pointers in ret point into the reader's buffer. */
int sbx_done_decode(SbxReader *r, uint64_t *ret_id, SbxResult *ret);

#endif
