/* echo.h: the floor of the grpc benchmark: a bare gRPC C-core unary echo
 * server and client, built like flowd's server (one completion queue served
 * by 4 threads, a registered method) and like libflowd-client's unary call
 * (one pluck queue per call, one batch of six ops). */
#ifndef FLOWD_BENCH_ECHO_H
#define FLOWD_BENCH_ECHO_H

#include <grpc/grpc.h>
#include <stddef.h>

#define ECHO_METHOD "/flowd.bench.Echo/Echo"

/* Runs the echo server on 127.0.0.1 (a free port), writes "PORT\n" to
 * port_fd, and serves until standard input reaches EOF; then exits. */
int echo_server_main(int port_fd);

/* One unary echo of len bytes on ch; returns 0 when the status is OK and the
 * answer equals the request, else -1. */
int echo_call(grpc_channel *ch, const void *buf, size_t len);

#endif
