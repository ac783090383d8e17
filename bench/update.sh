#!/usr/bin/env bash
# Benchmark: `imprint update apply` of a 1 GiB payload from a loopback HTTP server into the
# `_empty` /usr slot of an image file, against the shell way of doing the same:
#   curl -o FILE URL && sha256sum FILE (compared with SHA256SUMS) && dd into the slot (fsync).
# imprint streams, hashes and writes in one pass and syncs the image before labeling; the
# pipeline's dd uses conv=fsync, so both end with the data on disk. The server is
# `python3 -m http.server` on 127.0.0.1 (no Range or faults needed here); manifests are not
# signed (Verify=no), so neither side pays for a signature check.
#
# Prints the median seconds of each over BENCH_ROUNDS rounds, the ratio and PASS/MISS against
# the goal (imprint >= 1.5x faster). Exits 0 on MISS: this is a benchmark, not a test.
#
# Environment:
#   IMPRINT          the binary (default: target/release/imprint of this checkout)
#   BENCH_DIR        work folder, reused when given (default: a new mktemp folder in /var/tmp); not tmpfs
#   BENCH_ROUNDS     rounds (default: 3)
#   BENCH_SIZE_MIB   payload size (default: 1024)
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMPRINT=${IMPRINT:-$here/../target/release/imprint}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /var/tmp/imprint-bench-update.XXXXXX)}
ROUNDS=${BENCH_ROUNDS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
USR=8484680C-9521-48C6-9C11-B0720656F69E

mkdir -p "$BENCH_DIR/srv/os" "$BENCH_DIR/defs"
cd "$BENCH_DIR"
payload=srv/os/usr_2.0.raw
if [[ ! -f $payload || $(stat -c %s "$payload") -ne $((SIZE_MIB << 20)) ]]; then
    echo "making a ${SIZE_MIB} MiB payload…"
    head -c $((SIZE_MIB << 20)) /dev/urandom >"$payload"
fi
sum=$(sha256sum "$payload" | cut -d' ' -f1)
echo "$sum  usr_2.0.raw" >srv/os/SHA256SUMS

slot_mib=$((SIZE_MIB + 64))
rm -f pristine.img
truncate -s $(((2 * slot_mib + 4) << 20)) pristine.img
printf 'label: gpt\nsize=%sMiB, type=%s, name="usr_1.0"\nsize=%sMiB, type=%s, name="_empty"\n' \
    "$slot_mib" "$USR" "$slot_mib" "$USR" | sfdisk --quiet pristine.img
offset=$(sfdisk --json pristine.img | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][1]; print(p["start"]*512)')

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory srv "$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f target.img dl.raw' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/os/SHA256SUMS" && break; sleep 0.1; done
url=http://127.0.0.1:$port/os

cat >defs/50-usr.transfer <<EOT
[Transfer]
Verify=no
[Source]
Type=url-file
Path=$url
MatchPattern=usr_@v.raw
[Target]
Type=partition
Path=auto
MatchPattern=usr_@v
MatchPartitionType=usr
EOT

run_imprint() {
    "$IMPRINT" update apply --definitions defs --image target.img --running-version 1.0 --progress json >/dev/null
}

run_shell() {
    curl -sf -o dl.raw "$url/usr_2.0.raw"
    [[ $(sha256sum dl.raw | cut -d' ' -f1) == "$sum" ]] || { echo "curl: hash mismatch" >&2; exit 1; }
    dd if=dl.raw of=target.img bs=4M seek="$offset" oflag=seek_bytes conv=notrunc,fsync status=none
    rm -f dl.raw
}

declare -a t_imprint t_shell
for r in $(seq "$ROUNDS"); do
    for who in imprint shell; do
        cp --sparse=always pristine.img target.img
        sync -f target.img
        start=$EPOCHREALTIME
        "run_$who"
        end=$EPOCHREALTIME
        secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
        if [[ $who == imprint ]]; then
            t_imprint+=("$secs")
            got=$(python3 - "$offset" "$((SIZE_MIB << 20))" <<'EOP'
import hashlib, sys
off, n = int(sys.argv[1]), int(sys.argv[2])
h = hashlib.sha256()
with open("target.img", "rb") as f:
    f.seek(off)
    while n > 0:
        b = f.read(min(n, 1 << 22)); h.update(b); n -= len(b)
print(h.hexdigest())
EOP
)
            [[ $got == "$sum" ]] || { echo "imprint: the slot does not hold the payload" >&2; exit 1; }
        else
            t_shell+=("$secs")
        fi
        echo "round $r: $who ${secs}s"
    done
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mi=$(median "${t_imprint[@]}")
ms=$(median "${t_shell[@]}")
ratio=$(awk -v a="$mi" -v b="$ms" 'BEGIN { printf "%.2f", b / a }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 1.5) ? "PASS" : "MISS" }')
echo
echo "payload ${SIZE_MIB} MiB, ${ROUNDS} rounds, medians:"
echo "  imprint update apply          ${mi}s"
echo "  curl + sha256sum + dd         ${ms}s"
echo "  imprint is ${ratio}x faster (goal >= 1.5x): $verdict"
