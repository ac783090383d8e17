#!/usr/bin/env bash
# Benchmark: the TUI's start-up, memory and idle CPU against systemd-firstboot --prompt, the
# console first-boot tool systemd ships, in the same run.
#
# Both run in a detached tmux pane (100x30) on the same small root tree. Measured per round:
#   first frame  launch until the pane shows the first question (imprint: "Which language";
#                systemd-firstboot: its locale prompt). tmux is polled every 2 ms, so the figure
#                includes up to ~2 ms of polling and tmux's own latency, equally for both.
#   peak RSS     VmHWM of the process after the first frame
#   idle CPU     CPU time the process uses over 3 s of waiting for a key, in percent of one core
# Prints medians, the ratios and PASS/MISS against the issue's bars (first frame <= 50 ms,
# RSS <= 30 MB, idle ~0 %). Exits 0 on MISS: a benchmark, not a test.
#
# Environment: IMPRINT (the binary), BENCH_ROUNDS (default 7).
set -euo pipefail
IMPRINT=${IMPRINT:-$(cd "$(dirname "$0")/.." && pwd)/target/release/imprint}
ROUNDS=${BENCH_ROUNDS:-7}
WORK=$(mktemp -d /tmp/imprint-bench-tui.XXXXXX)
SOCK=imprint-bench-$$
trap 'tmux -L $SOCK kill-server 2>/dev/null || true; rm -rf "$WORK"' EXIT

root=$WORK/root
mkdir -p "$root/etc" "$root/usr/share/i18n" "$root/usr/share/keymaps/i386/qwerty" "$root/bin"
cp -a /usr/share/zoneinfo "$root/usr/share/"
printf 'de_DE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n' >"$root/usr/share/i18n/SUPPORTED"
printf '\037\213' >"$root/usr/share/keymaps/i386/qwerty/us.map.gz"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"

now_ms() { date +%s%3N; }

# run NAME TEXT CMD...: prints "first_frame_ms rss_kb idle_cpu_percent"
run() {
    local text=$1; shift
    tmux -L $SOCK kill-server 2>/dev/null || true
    local t0; t0=$(now_ms)
    tmux -L $SOCK new-session -d -x 100 -y 30 -s b "$*; sleep 60"
    local t1
    while :; do
        if tmux -L $SOCK capture-pane -p -t b | grep -q "$text"; then t1=$(now_ms); break; fi
        if (( $(now_ms) - t0 > 10000 )); then echo "timeout waiting for '$text'" >&2; tmux -L $SOCK capture-pane -p -t b >&2; exit 1; fi
        sleep 0.002
    done
    local shell; shell=$(tmux -L $SOCK list-panes -t b -F '#{pane_pid}')
    local pid; pid=$(pgrep -P "$shell" | head -1)
    local rss; rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    local hz; hz=$(getconf CLK_TCK)
    local c0; c0=$(awk '{print $14+$15}' "/proc/$pid/stat")
    sleep 3
    local c1; c1=$(awk '{print $14+$15}' "/proc/$pid/stat")
    local idle; idle=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN {printf "%.2f", (b-a)/hz/3*100}')
    tmux -L $SOCK kill-server 2>/dev/null || true
    echo "$((t1 - t0)) $rss $idle"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$WORK/imprint"; : >"$WORK/peer"
for ((i = 0; i < ROUNDS; i++)); do
    run "Which language" "TERM=xterm-256color LANG=C.UTF-8 $IMPRINT firstboot --root $root --prompt --via files" >>"$WORK/imprint"
    run "Please configure" "systemd-firstboot --root=$root --prompt-timezone" >>"$WORK/peer"
done

for who in imprint peer; do
    ff=$(cut -d' ' -f1 "$WORK/$who" | median)
    rss=$(cut -d' ' -f2 "$WORK/$who" | median)
    cpu=$(cut -d' ' -f3 "$WORK/$who" | median)
    printf '%-18s first frame %4s ms   peak RSS %6s kB   idle CPU %s %%\n' "$([ $who = imprint ] && echo imprint || echo systemd-firstboot)" "$ff" "$rss" "$cpu"
    eval "${who}_ff=$ff ${who}_rss=$rss ${who}_cpu=$cpu"
done
awk -v a="$imprint_ff" -v b="$peer_ff" -v r="$imprint_rss" -v q="$peer_rss" \
    'BEGIN {printf "ratio imprint/systemd-firstboot: first frame %.2fx, RSS %.2fx\n", a/b, r/q}'
verdict() { if awk -v v="$1" -v m="$2" 'BEGIN {exit !(v <= m)}'; then echo PASS; else echo MISS; fi; }
echo "first frame <= 50 ms: $(verdict "$imprint_ff" 50) ($imprint_ff ms)"
echo "peak RSS <= 30 MB:    $(verdict "$imprint_rss" 30720) ($imprint_rss kB)"
echo "idle CPU ~0 %:        $(verdict "$imprint_cpu" 0.5) ($imprint_cpu %)"
