/* sbx-classify.c: from "how did the process end" to an outcome and a
 * sentence. The order of the checks is the policy: what the sandbox did
 * (cancel, timeout, output cap) explains a SIGKILL better than the signal;
 * a setup failure is the sandbox's fault; OOM needs both the SIGKILL and
 * the slot's oom_kill counter, because a SIGKILL alone looks like our own
 * kill. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "sandbox/sbx-internal.h"
#include "sandbox/sbx-util.h"

static uint64_t tv_us(struct timeval tv) { return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec; }

static void describe_signal(char *msg, size_t size, const SbxLimits *l, int sig)
{
    char lim[32];
    if (sig == SIGXFSZ) {
        sbx_format_bytes(l->fsize_bytes, lim, sizeof(lim));
        snprintf(msg, size, "killed by signal SIGXFSZ: file size limit %s exceeded", lim);
    } else if (sig == SIGXCPU)
        snprintf(msg, size, "killed by signal SIGXCPU: CPU time limit exceeded");
    else
        snprintf(msg, size, "killed by signal %d (SIG%s)", sig, sbx_signal_name(sig));
}

static void describe_violation(const SbxExitInfo *x, SbxResult *res, char *msg, size_t size)
{
    res->outcome = SBX_SANDBOX_VIOLATION;
    if (x->syscall_nr >= 0)
        sbx_syscall_name(x->syscall_nr, res->syscall, sizeof(res->syscall));
    if (res->syscall[0])
        snprintf(msg, size, "sandbox violation: forbidden system call %s", res->syscall);
    else
        snprintf(msg, size, "sandbox violation: forbidden system call (name unknown)");
}

void sbx_classify(const SbxExitInfo *x, SbxResult *res, char *msg, size_t size)
{
    const SbxLimits *l = x->limits;
    bool signaled = WIFSIGNALED(x->status);
    int sig = signaled ? WTERMSIG(x->status) : 0;
    char lim[32], peak[32];
    res->usage.peak_memory_bytes = x->peak_bytes ? x->peak_bytes : (uint64_t)x->ru.ru_maxrss * 1024u;
    res->usage.cpu_user_us = tv_us(x->ru.ru_utime);
    res->usage.cpu_system_us = tv_us(x->ru.ru_stime);
    res->usage.wall_us = x->wall_us;
    res->exit_code = WIFEXITED(x->status) ? WEXITSTATUS(x->status) : -1;
    res->signal = sig;
    res->syscall[0] = '\0';
    if (x->cancelled) {
        res->outcome = SBX_CANCELLED;
        snprintf(msg, size, "cancelled");
    } else if (x->timed_out) {
        res->outcome = SBX_TIMEOUT;
        snprintf(msg, size, "timed out after %.1f s (wall clock limit)", l->timeout_ms / 1000.0);
    } else if (x->overflow) {
        res->outcome = SBX_INVALID_OUTPUT;
        sbx_format_bytes(l->output_max_bytes, lim, sizeof(lim));
        snprintf(msg, size, "output larger than the limit of %s; the process was killed", lim);
    } else if (x->stage != SBX_STAGE_NONE) {
        res->outcome = SBX_INTERNAL;
        snprintf(msg, size, "sandbox setup failed while %s: %s", sbx_stage_name(x->stage), strerror(x->stage_err));
    } else if (x->oom && sig == SIGKILL) {
        res->outcome = SBX_OOM_KILLED;
        sbx_format_bytes(l->memory_bytes, lim, sizeof(lim));
        sbx_format_bytes(res->usage.peak_memory_bytes, peak, sizeof(peak));
        if (l->memory_bytes)
            snprintf(msg, size, "killed: memory limit %s exceeded (peak %s)", lim, peak);
        else /* no limit of its own: the server's or the machine's ran out */
            snprintf(msg, size, "killed: out of memory on the server (peak %s)", peak);
    } else if (sig == SIGSYS) {
        describe_violation(x, res, msg, size);
    } else if (signaled) {
        res->outcome = SBX_SIGNALED;
        describe_signal(msg, size, l, sig);
    } else if (res->exit_code != 0) {
        res->outcome = SBX_NONZERO_EXIT;
        snprintf(msg, size, "exited with code %d", res->exit_code);
    } else {
        res->outcome = SBX_OK;
        snprintf(msg, size, "exited with code 0");
    }
}
