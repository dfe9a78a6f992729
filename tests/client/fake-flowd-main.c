/* fake-flowd: the test fake as a program, for trying flowctl by hand:
 *   fake-flowd [--token T] [--hang]   prints its address, serves until killed. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fake-server.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    FakeServerOptions o = {0};
    char addr[64];
    FakeServer *s;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            o.token = argv[++i];
        else if (strcmp(argv[i], "--hang") == 0)
            o.hang = true;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    s = fake_server_start(&o, addr, sizeof(addr));
    printf("%s\n", addr);
    fflush(stdout);
    while (!stop)
        pause();
    fake_server_stop(s);
    return 0;
}
