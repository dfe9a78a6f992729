/* flowctl-main.c: the entry point; everything else is in flowctl_lib. */
#include <stdio.h>

#include "flowctl.h"

int main(int argc, char **argv) {
    FctlArgs args;
    char err[512];

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
