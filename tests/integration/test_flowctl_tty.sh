#!/usr/bin/env bash
# flowctl's live view in a real terminal (issue 7): tmux runs `flowctl run`
# on the production ETL example; the final screen shows every node, its
# state, and the run's summary, and the view redrew in place (no scrolling
# log of events).
source "$(dirname "$0")/lib.sh"

need_root "live view" || exit 0
command -v tmux >/dev/null || { skip "live view in tmux" "tmux is not installed"; exit 0; }
start_flowd || { not_ok "flowd starts"; finish; exit 1; }

session=flowd-tty-$$
tmux -L "$session" new-session -d -x 120 -y 40 -s main \
    "echo '$ flowctl run production-etl'; env -u NO_COLOR TERM=xterm-256color FLOWD_ADDR=$ADDR '$FLOWCTL' run '$ROOT/examples/production-etl.json' --input '$ROOT/examples/production-etl.input.json'; echo EXIT=\$?; sleep 30"
frames=()
for _ in $(seq 1 100); do
    screen=$(tmux -L "$session" capture-pane -p -t main)
    frames+=("$screen")
    grep -q 'EXIT=' <<<"$screen" && break
    sleep 0.1
done
# The whole terminal, scrollback included: the outputs printed after the
# view has ended scroll its last frame up.
screen=$(tmux -L "$session" capture-pane -p -S - -t main)
tmux -L "$session" kill-server 2>/dev/null
printf "%s\n" "$screen" >"$TMP/screen.txt"

check "flowctl ended with exit 0 in the terminal" has 'EXIT=0' "$screen"
for node in input_validator main_processor result_validator; do
    check "the screen shows node $node" has "$node" "$screen"
done
check "the screen shows the run succeeded" has 'SUCCEEDED|succeeded' "$screen"
check "the view shows nodes done out of the total" has '3/3' "$screen"
mid=$(printf '%s\n' "${frames[@]}" | grep -c 'running\|RUNNING' || true)
check "a frame showed a node running while the run was live" test "$mid" -ge 1
check "events were not printed as a scrolling log" lacks 'NODE_STARTED' "$screen"
frames_kept=$(grep -c 'nodes  [0-9.]*s' <<<"$screen")
check "the view redrew in place: one frame is left on the terminal ($frames_kept)" test "$frames_kept" -eq 1
finish
