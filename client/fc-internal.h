/* fc-internal.h: what the files of libflowd-client share and nobody else sees. */
#ifndef FLOWD_FC_INTERNAL_H
#define FLOWD_FC_INTERNAL_H

#include <stdarg.h>
#include <stdlib.h>

#include "flowd/client.h"
#include "flowd/v1/service.pb-c.h"

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(freep)

/* Hands ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                                                                                    \
    ({                                                                                                                 \
        __typeof__(p) _taken_ = (p);                                                                                   \
        (p) = NULL;                                                                                                    \
        _taken_;                                                                                                       \
    })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Limits on what a user hands us (STYLE.md rule 7). */
#define FC_FILE_MAX_BYTES (16u * 1024 * 1024)
#define FC_RECV_MAX_BYTES (64 * 1024 * 1024)

/* Fills err (if any) and returns -errnum. */
int fc_error_set(FcError *err, int errnum, FcStatus status, const char *fmt, ...) _printf_(4, 5);
/* Prefixes err's message with context ("reading x.json: ..."); returns -err->errnum. */
int fc_error_wrap(FcError *err, const char *fmt, ...) _printf_(2, 3);
/* The errno a gRPC status maps to (see client.h). */
int fc_status_to_errno(FcStatus status);

/* Appends one diagnostic; -ENOMEM is the only failure. */
int fc_diag_add(FcDiagnostics *diags, int line, int column, const char *path, const char *fmt, ...) _printf_(5, 6);

/* The candidate closest to `word` by edit distance, or NULL when none is
 * close enough to be a plausible typo. */
const char *fc_closest(const char *word, const char *const *candidates, size_t n);

/* The workflow as the wire wants it; borrowed from wf. */
const Flowd__V1__Workflow *fc_workflow_proto(const FcWorkflow *wf);

/* Reads a whole file (or stdin for "-"), bounded by FC_FILE_MAX_BYTES. */
int fc_read_file(const char *path, char **ret, size_t *ret_len, FcError *err);

/* ---- the RPC layer (fc-conn.c): the only place that sees gRPC ---------- */

/* Called with each decoded stream message, which it must not keep; 0 goes
 * on, > 0 stops (the call is cancelled, -ECANCELED), < 0 stops with that. */
typedef int (*FcMessageFn)(const ProtobufCMessage *msg, void *userdata);

typedef struct FcStreamSpec {
    const char *method; /* "/flowd.v1.WorkflowService/WatchRun" */
    const ProtobufCMessage *request;
    const ProtobufCMessageDescriptor *response_type;
    FcMessageFn on_message;
    int (*on_idle)(void *userdata);
    void *userdata;
    uint32_t tick_ms;
} FcStreamSpec;

/* One unary call. *ret is a protobuf_c_message_free_unpacked()-able message.
 * with_token false leaves the authorization metadata out (health checks). */
int fc_rpc_unary(FcClient *client, const char *method, const ProtobufCMessage *request,
                 const ProtobufCMessageDescriptor *response_type, bool with_token, ProtobufCMessage **ret,
                 FcError *err);
/* One server-streaming call, to its end or until a callback stops it. */
int fc_rpc_stream(FcClient *client, const FcStreamSpec *spec, FcError *err);

static inline const char *fc_str(const char *s) { return s ? s : ""; }

#endif
