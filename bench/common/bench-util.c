/* bench-util.c: clock, percentiles, table and JSON lines for the benchmarks. */
#include "bench/common/bench-util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double bench_now_ms(void) { return (double)bench_now_ns() / 1e6; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double bench_pct(double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof(double), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--json PATH] [--addr HOST:PORT] [--quick] [options of this benchmark]\n", prog);
}

int bench_args(int argc, char **argv, BenchArgs *ret)
{
    int i;

    *ret = (BenchArgs){0};
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            ret->json = argv[++i];
        else if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc)
            ret->addr = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            ret->quick = true;
        else if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--addr") == 0) {
            usage(argv[0]);
            return -1;
        } else
            break;
    }
    return i;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void bench_print_header(const char *title)
{
    printf("\n== %s\n", title);
    printf("%-34s %-10s %10s %10s %10s %7s  %-6s %s\n", "figure", "unit", "median", "p99", "baseline", "ratio", "met",
           "target");
}

static void fmt_num(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else if (fabs(v) >= 1000)
        snprintf(buf, size, "%.0f", v);
    else if (fabs(v) >= 10)
        snprintf(buf, size, "%.1f", v);
    else
        snprintf(buf, size, "%.3f", v);
}

static const char *met_word(BenchMet m) { return m == BENCH_MET_YES ? "met" : m == BENCH_MET_NO ? "MISSED" : "-"; }

void bench_print(const BenchFigure *f)
{
    char med[32], p99[32], base[32], ratio[32];

    fmt_num(med, sizeof(med), f->median);
    fmt_num(p99, sizeof(p99), f->p99);
    fmt_num(base, sizeof(base), f->baseline);
    fmt_num(ratio, sizeof(ratio), f->ratio);
    printf("%-34s %-10s %10s %10s %10s %7s  %-6s %s\n", f->name, f->unit, med, p99, base, ratio, met_word(f->met),
           f->target ? f->target : "");
    if (f->baseline_name)
        printf("%-34s   baseline: %s\n", "", f->baseline_name);
    if (f->note)
        printf("%-34s   %s\n", "", f->note);
    fflush(stdout);
}

/* JSON string body with the few escapes our own strings can need. */
static void put_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void put_num(FILE *out, double v)
{
    if (isnan(v) || isinf(v))
        fputs("null", out);
    else
        fprintf(out, "%.6g", v);
}

int bench_emit(const char *path, const BenchFigure *f)
{
    struct utsname u;
    char when[32];
    time_t t = time(NULL);
    struct tm tm;

    if (!path)
        return 0;
    FILE *out = fopen(path, "ae");
    if (!out) {
        int r = -errno;
        fprintf(stderr, "bench: cannot append to %s: %s\n", path, strerror(errno));
        return r;
    }
    uname(&u);
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs("{\"name\": ", out);
    put_str(out, f->name);
    fputs(", \"unit\": ", out);
    put_str(out, f->unit);
    fputs(", \"median\": ", out);
    put_num(out, f->median);
    fputs(", \"p99\": ", out);
    put_num(out, f->p99);
    fputs(", \"baseline\": ", out);
    put_num(out, f->baseline);
    fputs(", \"baseline_name\": ", out);
    put_str(out, f->baseline_name);
    fputs(", \"ratio\": ", out);
    put_num(out, f->ratio);
    fputs(", \"target\": ", out);
    put_str(out, f->target);
    fprintf(out, ", \"met\": %s", f->met == BENCH_MET_NONE ? "null" : f->met == BENCH_MET_YES ? "true" : "false");
    fprintf(out, ", \"samples\": %zu", f->samples);
    fputs(", \"note\": ", out);
    put_str(out, f->note);
    fprintf(out, ", \"nproc\": %ld, \"kernel\": ", sysconf(_SC_NPROCESSORS_ONLN));
    put_str(out, u.release);
    fputs(", \"time\": ", out);
    put_str(out, when);
    fputs(", \"run\": ", out);
    put_str(out, getenv("BENCH_RUN_ID"));
    /* scripts/bench fills in what other processes used meanwhile. */
    fputs(", \"background_cpu\": null", out);
    fputs("}\n", out);
    return fclose(out) == 0 ? 0 : -errno;
}

void bench_report(const BenchArgs *a, const BenchFigure *f)
{
    bench_print(f);
    bench_emit(a->json, f);
}
