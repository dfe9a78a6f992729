/* config.h: flowd's configuration, from FLOWD_* environment variables
 * (DESIGN.md §7), validated at start: a bad value stops the start with one
 * line naming the variable, the value and what is allowed. */
#ifndef FLOWD_CONFIG_H
#define FLOWD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct FlowdConfig {
    char *listen;
    char *http_listen;
    char *health_listen;
    char *data_dir;
    char *store;
    bool store_sync_full;
    uint32_t max_workers;
    uint32_t timeout_seconds;
    uint32_t memory_limit_mb;
    uint32_t cpu_limit_millis;
    uint32_t pids_limit;
    uint32_t max_output_mb;
    uint32_t max_message_mb;
    char *log_level;
    char *log_format;
    char *auth; /* "token" or "none" */
    char *tokens_file;
    char *tenants_file;
    char *audit_log;
    char *secrets_dir;
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca;
    uint32_t retention_days;
    uint32_t shutdown_grace_seconds;
    char *plugin_dir;
    char *exec_allow;
    char *python;
    char *python_start;
    char *sandbox;
    uint32_t sandbox_uid;
    uint32_t zygotes;
    uint32_t circuit_threshold;
    uint32_t circuit_cooldown_seconds;
} FlowdConfig;

/* Reads and validates the environment. Returns 0, or -EINVAL with the
 * one-line message in err. */
int config_load(FlowdConfig *cfg, char *err, size_t err_size);
void config_free(FlowdConfig *cfg);
/* Prints every variable with its default and meaning (flowd --help). */
void config_print_help(FILE *out);

#endif
