/* flowctl-help.c: what `flowctl CMD --help` prints; each page ends with an
 * example that works as typed against a local flowd. */
#include "flowctl.h"

static const char overview[] =
    "flowctl: the command-line client of flowd, the workflow execution service.\n"
    "\n"
    "Usage: flowctl COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Commands:\n"
    "  run FILE          submit a workflow and follow it to its end\n"
    "  validate FILE     check a workflow without running it\n"
    "  watch RUN         follow a run's events (live view on a terminal)\n"
    "  get RUN           show a run: status, nodes, usage, outputs\n"
    "  list              list recent runs\n"
    "  cancel RUN        cancel a run and kill its sandboxes\n"
    "  logs RUN          print what a run's nodes wrote to stderr\n"
    "  dlq list          list the dead-letter queue (admin)\n"
    "  dlq retry ID      re-run a dead-lettered node with its stored inputs (admin)\n"
    "  info              show the server's version, sandbox, node kinds and your quota\n"
    "  health            ask the server's gRPC health service\n"
    "  token create ...  make an API token (runs `flowd token create` on the server host)\n"
    "  version           print the versions of flowctl and the server\n"
    "\n"
    "Connection (every command; flags win over the environment):\n"
    "  --addr HOST:PORT      server address       [FLOWD_ADDR, default 127.0.0.1:50051]\n"
    "  --token TOKEN         bearer token         [FLOWD_TOKEN]\n"
    "  --token-file FILE     file holding a token [FLOWD_TOKEN_FILE]\n"
    "  --ca FILE             PEM CA: speak TLS    [FLOWD_CA]\n"
    "  --tls-server-name N   name expected in the server certificate [FLOWD_TLS_SERVER_NAME]\n"
    "  -o, --output json     JSON lines for events, JSON documents otherwise\n"
    "  --no-color            no colours (also NO_COLOR=1)\n"
    "\n"
    "Exit codes: 0 success, 1 the run failed or was cancelled (or the request failed),\n"
    "2 usage or validation error, 3 server unreachable, 4 authentication or permission.\n"
    "\n"
    "Example:\n"
    "  flowctl run examples/hello.json --input inputs.json\n"
    "\n"
    "`flowctl COMMAND --help` explains each command.\n";

static const char help_run[] =
    "Usage: flowctl run FILE [--input FILE|-] [--detach] [--label KEY=VALUE]...\n"
    "                        [--idempotency-key KEY] [--on-interrupt cancel|detach]\n"
    "                        [--output json]\n"
    "\n"
    "Submits the workflow in FILE (JSON, see docs/flowctl.md) and follows it to its end.\n"
    "On a terminal it draws one live line per node (state, attempt, progress, time,\n"
    "peak memory); otherwise it prints one line per event. Then it prints the outputs.\n"
    "\n"
    "  -i, --input FILE|-        run inputs: a JSON object keyed by node id (- reads stdin)\n"
    "  -d, --detach              submit, print the run id and exit at once\n"
    "  -l, --label KEY=VALUE     attach a label (repeatable)\n"
    "  --idempotency-key KEY     a second submission with KEY returns the first run\n"
    "  --on-interrupt cancel|detach\n"
    "                            what Ctrl-C (or SIGTERM) does when flowctl cannot ask;\n"
    "                            on a terminal it asks, elsewhere the default is cancel\n"
    "  -o, --output json         one JSON object per event\n"
    "\n"
    "Exit: 0 the run succeeded, 1 it failed or was cancelled, 2 the workflow or inputs\n"
    "are invalid (every problem is listed), 3 no server, 4 not allowed.\n"
    "\n"
    "Example:\n"
    "  flowctl run examples/hello.json --input inputs.json --label team=data\n"
    "  echo '{\"load\": {\"path\": \"customers.csv\"}}' | flowctl run etl.json --input -\n";

static const char help_validate[] =
    "Usage: flowctl validate FILE [--offline] [--output json]\n"
    "\n"
    "Checks a workflow without running it: first the file itself (JSON syntax with line\n"
    "and column, types and unknown keys with their path), then the server's checks\n"
    "(unknown kinds, duplicate ids, cycles, mappings, quotas). Every problem is listed.\n"
    "\n"
    "  --offline   check the file only, without a server\n"
    "\n"
    "Exit: 0 valid, 2 invalid.\n"
    "\n"
    "Example:\n"
    "  flowctl validate examples/hello.json\n";

static const char help_watch[] = "Usage: flowctl watch RUN [--from SEQ] [--output json]\n"
                                 "\n"
                                 "Follows a run: replays its events after SEQ (default: all of them), then follows it\n"
                                 "live until it ends. Ctrl-C stops watching; the run goes on.\n"
                                 "\n"
                                 "Exit: 0 the run succeeded, 1 it failed or was cancelled.\n"
                                 "\n"
                                 "Example:\n"
                                 "  flowctl watch $(flowctl run etl.json --detach)\n";

static const char help_get[] = "Usage: flowctl get RUN [--outputs] [--output json]\n"
                               "\n"
                               "Shows a run: status, owner, times, labels and a table of its nodes (status,\n"
                               "attempts, wall and CPU time, peak memory, failure).\n"
                               "\n"
                               "  --outputs        print only the run's outputs, as pretty JSON\n"
                               "  -o, --output json   the whole run as one JSON document\n"
                               "\n"
                               "Example:\n"
                               "  flowctl get 01J9Z3K7XW --outputs | jq .report\n";

static const char help_list[] =
    "Usage: flowctl list [--status STATUS] [--limit N] [--output json]\n"
    "\n"
    "Lists your tenant's runs, newest first.\n"
    "\n"
    "  -s, --status S   only runs in state queued, running, succeeded, failed or cancelled\n"
    "  -n, --limit N    at most N runs (default 20, at most 10000)\n"
    "\n"
    "Example:\n"
    "  flowctl list --status failed --limit 5\n";

static const char help_cancel[] = "Usage: flowctl cancel RUN [--reason TEXT]\n"
                                  "\n"
                                  "Cancels a run: its running nodes are killed (the whole sandbox cgroup) and the\n"
                                  "run ends CANCELLED.\n"
                                  "\n"
                                  "Example:\n"
                                  "  flowctl cancel 01J9Z3K7XW --reason 'wrong input file'\n";

static const char help_logs[] = "Usage: flowctl logs RUN [--node NODE] [--output json]\n"
                                "\n"
                                "Prints what the run's nodes wrote to stderr (NODE_LOG events), from the start,\n"
                                "and follows them until the run ends. With --node, only that node's lines, bare.\n"
                                "\n"
                                "Example:\n"
                                "  flowctl logs 01J9Z3K7XW --node transform | grep -i warn\n";

static const char help_dlq[] = "Usage: flowctl dlq list [--limit N] [--output json]\n"
                               "       flowctl dlq retry ID\n"
                               "\n"
                               "A node that fails after its last attempt is stored in the dead-letter queue with\n"
                               "the inputs it received. `dlq list` shows them; `dlq retry ID` re-runs that node\n"
                               "with those inputs as a new run and prints its id. Both need the admin role.\n"
                               "\n"
                               "Example:\n"
                               "  flowctl dlq list && flowctl dlq retry dl-42 && flowctl watch RUN\n";

static const char help_info[] = "Usage: flowctl info [--output json]\n"
                                "\n"
                                "Shows the server's version, sandbox mode (cgroup or rlimit), cgroup version, the\n"
                                "node kinds it runs, who you are to it (user, tenant, roles) and your quota.\n"
                                "\n"
                                "Example:\n"
                                "  flowctl info --addr flowd.internal:50051 --ca ca.pem\n";

static const char help_health[] = "Usage: flowctl health [--service NAME] [--output json]\n"
                                  "\n"
                                  "Calls grpc.health.v1.Health/Check, as Kubernetes' gRPC probe does (no token).\n"
                                  "Prints SERVING, NOT_SERVING, ...; exits 0 only for SERVING.\n"
                                  "\n"
                                  "Example:\n"
                                  "  flowctl health --service flowd.v1.WorkflowService\n";

static const char help_token[] = "Usage: flowctl token create [ARGS...]\n"
                                 "\n"
                                 "Makes an API token. Tokens live in the server's tokens file (FLOWD_TOKENS_FILE),\n"
                                 "so this runs `flowd token create ARGS...` with the flowd binary found next to\n"
                                 "flowctl or on PATH: run it on the server host. `flowd token create --help` lists\n"
                                 "its arguments.\n"
                                 "\n"
                                 "Example:\n"
                                 "  flowctl token create --help\n";

static const char help_version[] = "Usage: flowctl version\n"
                                   "\n"
                                   "Prints flowctl's version, and the server's when it answers within 2 s.\n"
                                   "\n"
                                   "Example:\n"
                                   "  flowctl version --addr 127.0.0.1:50051\n";

void fctl_print_help(FILE *f, FctlCommand cmd)
{
    const char *text;

    switch (cmd) {
    case FCTL_CMD_RUN:
        text = help_run;
        break;
    case FCTL_CMD_VALIDATE:
        text = help_validate;
        break;
    case FCTL_CMD_WATCH:
        text = help_watch;
        break;
    case FCTL_CMD_GET:
        text = help_get;
        break;
    case FCTL_CMD_LIST:
        text = help_list;
        break;
    case FCTL_CMD_CANCEL:
        text = help_cancel;
        break;
    case FCTL_CMD_LOGS:
        text = help_logs;
        break;
    case FCTL_CMD_DLQ_LIST:
    case FCTL_CMD_DLQ_RETRY:
        text = help_dlq;
        break;
    case FCTL_CMD_INFO:
        text = help_info;
        break;
    case FCTL_CMD_HEALTH:
        text = help_health;
        break;
    case FCTL_CMD_TOKEN_CREATE:
        text = help_token;
        break;
    case FCTL_CMD_VERSION:
        text = help_version;
        break;
    default:
        text = overview;
        break;
    }
    fputs(text, f);
}
