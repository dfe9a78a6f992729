/* flowctl-main.c: the entry point; everything else is in flowctl_lib. */
#include <stdio.h>
#include <stdlib.h>

#include "flowctl.h"

int main(int argc, char **argv)
{
    FctlArgs args;
    char err[512];

    /* gRPC's own log lines (handshake errors, ...) would repeat what flowctl
     * already says in words; GRPC_VERBOSITY set by the user still wins. */
    setenv("GRPC_VERBOSITY", "NONE", 0);
    if (argc < 2) {
        fctl_print_help(stderr, FCTL_CMD_NONE);
        return FCTL_EXIT_USAGE;
    }
    if (fctl_parse_args(argc, argv, &args, err, sizeof(err)) < 0) {
        fprintf(stderr, "flowctl: %s\n", err);
        return FCTL_EXIT_USAGE;
    }
    return fctl_main(&args);
}
