/* The process_* gauges, read from /proc/self as the official Prometheus
 * clients do. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "server/metrics/met-flowd.h"

static int read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    buf[n] = '\0';
    return 0;
}

static int read_rss(uint64_t *ret)
{
    char buf[256];
    unsigned long long size, resident;

    int r = read_file("/proc/self/statm", buf, sizeof(buf));
    if (r < 0)
        return r;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return -EIO;
    *ret = resident * (uint64_t)sysconf(_SC_PAGESIZE);
    return 0;
}

static int count_fds(uint64_t *ret)
{
    DIR *d = opendir("/proc/self/fd");
    uint64_t n = 0;

    if (!d)
        return -errno;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    /* The directory stream's own descriptor was counted. */
    *ret = n ? n - 1 : 0;
    return 0;
}

static double boot_time(void)
{
    char buf[8192];
    if (read_file("/proc/stat", buf, sizeof(buf)) < 0)
        return 0;
    const char *p = strstr(buf, "\nbtime ");
    return p ? strtod(p + 7, NULL) : 0;
}

/* Field 22 of /proc/self/stat, counted after the command name, which may
 * itself hold spaces and parentheses. */
static double start_time(void)
{
    char buf[1024];
    unsigned long long ticks;

    if (read_file("/proc/self/stat", buf, sizeof(buf)) < 0)
        return 0;
    const char *p = strrchr(buf, ')');
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &ticks) != 1)
        return 0;
    return boot_time() + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

int met_process_read(MetProcess *ret)
{
    MetProcess p = {0};
    struct rlimit rl;

    int r = read_rss(&p.resident_bytes);
    if (r == 0)
        r = count_fds(&p.open_fds);
    if (r < 0)
        return r;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        p.max_fds = rl.rlim_cur == RLIM_INFINITY ? 0 : rl.rlim_cur;
    p.start_time_seconds = start_time();
    *ret = p;
    return 0;
}
