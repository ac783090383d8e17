#!/usr/bin/env bash
# Benchmark: `imprint install` against systemd-repart (CopyBlocks=) and `cp --sparse=always`.
#
# Builds (once, cached) a source OS image with systemd-repart: an ESP (vfat, 128 MiB) and a
# /usr partition (ext4, 1.5 GiB) holding ~500 MiB of deterministic, mostly incompressible files
# of mixed sizes. Then, for BENCH_ROUNDS rounds, in an order that rotates every round, copies it
# three ways onto a fresh target image file:
#   imprint  imprint install, CopyBlocks=auto from --source (hashing as it copies)
#   repart   systemd-repart --empty=create, CopyBlocks=/dev/loopN (read-only loop devices at
#            the source partitions' offsets)
#   cp       cp --sparse=always SOURCE TARGET
# Each contender's time runs from its start until `sync TARGET` (an fsync of the target file)
# has returned, the same for all three, so data still in the page cache is not counted as done.
# (Not `sync -f`: a whole-file-system sync would also charge other programs' dirty data to
# whichever contender runs.) The source is read from the page cache: it is read once, and one
# untimed round of each contender is run, before the timed rounds; nothing is dropped between.
#
# Prints the median seconds of each, the ratios and PASS/MISS against the goals
# (imprint >= 3x faster than repart; imprint <= 1.25x the time of cp). Exits 0 on MISS: this is
# a benchmark, not a test. It fails only when something is broken, e.g. imprint's copy does not
# hash-equal the source.
#
# Environment:
#   IMPRINT        the binary (default: target/release/imprint of this checkout)
#   BENCH_DIR      work folder, reused between runs when given (default: a new mktemp folder in /var/tmp); must not
#                  be on tmpfs
#   BENCH_ROUNDS   rounds (default: 5)
#   BENCH_WARMUP   0: skip the untimed warm-up round (default: 1, one round of each first)
#   BENCH_PAUSE    seconds to wait, untimed, before each contender (default: 0). In a VM with
#                  free page reporting (virtio-balloon), a pause of 2 s or more lets the guest
#                  give the memory of the removed targets back to the host, and every contender
#                  then pays to fault it in again: all get 2-4x slower (see docs/PERFORMANCE.md).
#   BENCH_KEEP     1: keep the target images after the run (default: remove them)
# Needs bash 5, root (loop devices), systemd-repart, sfdisk, losetup, mkfs.ext4, mkfs.vfat and
# python3; GNU time (/usr/bin/time, package "time") for the CPU and bytes-written columns.

set -euo pipefail
export LC_ALL=C # $EPOCHREALTIME and awk must agree on the decimal point

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
IMPRINT=${IMPRINT:-$repo/target/release/imprint}
WORK=${BENCH_DIR:-$(mktemp -d /var/tmp/imprint-bench.XXXXXX)}
ROUNDS=${BENCH_ROUNDS:-5}
KEEP=${BENCH_KEEP:-0}
WARMUP=${BENCH_WARMUP:-1}
PAUSE=${BENCH_PAUSE:-0}

ESP_SIZE=$((128 << 20))
USR_SIZE=$((1536 << 20))
DATA_BYTES=$((500 << 20))
DATA_SEED=20240611
SOURCE_SEED=5d3c2e10-0f5b-4e7a-8a55-62656e636801
TARGET_SEED=5d3c2e10-0f5b-4e7a-8a55-62656e636802

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number, not '$ROUNDS'"
[[ $(id -u) == 0 ]] || die "needs root (loop devices for systemd-repart)"
[[ -n ${EPOCHREALTIME:-} ]] || die "needs bash 5 (\$EPOCHREALTIME)"
for tool in systemd-repart sfdisk losetup findmnt mkfs.ext4 mkfs.vfat python3 sha256sum dd cmp; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done
[[ -x $IMPRINT ]] || die "no imprint binary at $IMPRINT (run cargo build --release, or set IMPRINT)"

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
fstype=$(stat -f -c %T "$WORK")
case $fstype in
    tmpfs | ramfs) die "$WORK is on $fstype: the benchmark must write to a disk; set BENCH_DIR" ;;
esac

# ---------------------------------------------------------------------------------------------
# The source image (cached by recipe hash)

# The file generator: mixed sizes (log-uniform within three classes), 85% random bytes and 15%
# text-like (compressible, never zero) files, in ~100 folders. The same seed gives the same tree.
GENERATOR=$(
    cat <<'EOF'
import os, random, sys
root, total, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
words = [bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz_") for _ in range(r.randint(2, 12))) for _ in range(4000)]
done = n = 0
while done < total:
    c = r.random()
    lo, hi = (8, 16) if c < 0.70 else (16, 20) if c < 0.97 else (20, 24)
    size = min(int(2 ** r.uniform(lo, hi)), total - done)
    d = os.path.join(root, "d%03d" % (n % 97))
    os.makedirs(d, exist_ok=True)
    if r.random() < 0.85:
        data = r.randbytes(size)
    else:
        out, have = [], 0
        while have < size:
            line = b" ".join(r.choices(words, k=r.randint(4, 14))) + b"\n"
            out.append(line)
            have += len(line)
        data = b"".join(out)[:size]
    with open(os.path.join(d, "f%05d.bin" % n), "wb") as f:
        f.write(data)
    done += size
    n += 1
print(n)
EOF
)

SRC_DIR=$WORK/source
SRC=$SRC_DIR/source.img
recipe() {
    printf '%s\n' "$GENERATOR" "$DATA_BYTES $DATA_SEED $SOURCE_SEED $ESP_SIZE $USR_SIZE"
    source_esp_def
    source_usr_def
    systemd-repart --version | head -n1
    mkfs.ext4 -V 2>&1 | head -n1
    python3 -c 'import sys; print(sys.version_info[:2])'
}
source_esp_def() { printf '[Partition]\nType=esp\nFormat=vfat\nSizeMinBytes=%s\nSizeMaxBytes=%s\n' "$ESP_SIZE" "$ESP_SIZE"; }
source_usr_def() {
    printf '[Partition]\nType=usr\nFormat=ext4\nCopyFiles=%s:/\nSizeMinBytes=%s\nSizeMaxBytes=%s\n' \
        "$SRC_DIR/tree" "$USR_SIZE" "$USR_SIZE"
}
RECIPE_HASH=$(recipe | sha256sum | cut -d' ' -f1)

build_source() {
    say "building the source image in $SRC_DIR (recipe ${RECIPE_HASH:0:12})"
    rm -rf "$SRC_DIR"
    mkdir -p "$SRC_DIR/defs" "$SRC_DIR/tree"
    local nfiles
    nfiles=$(python3 -c "$GENERATOR" "$SRC_DIR/tree" "$DATA_BYTES" "$DATA_SEED")
    say "generated $nfiles files, $(du -sh --apparent-size "$SRC_DIR/tree" | cut -f1) apparent"
    source_esp_def >"$SRC_DIR/defs/10-esp.conf"
    source_usr_def >"$SRC_DIR/defs/20-usr.conf"
    # --size must hold the GPT, 1 MiB alignment at the start and the backup GPT at the end
    local size=$((ESP_SIZE + USR_SIZE + (2 << 20)))
    systemd-repart --empty=create --size="$size" --dry-run=no --definitions="$SRC_DIR/defs" \
        --seed="$SOURCE_SEED" "$SRC.tmp" >"$SRC_DIR/repart.log" 2>&1 ||
        { cat "$SRC_DIR/repart.log" >&2; die "systemd-repart could not build the source image"; }
    rm -rf "$SRC_DIR/tree"
    mv "$SRC.tmp" "$SRC"
    echo "$RECIPE_HASH" >"$SRC_DIR/recipe.sha256"
}

if [[ -f $SRC && -f $SRC_DIR/recipe.sha256 && $(cat "$SRC_DIR/recipe.sha256") == "$RECIPE_HASH" ]]; then
    say "reusing the source image $SRC"
else
    build_source
fi

SRC_SIZE=$(stat -c %s "$SRC")
SRC_ALLOC=$(($(stat -c '%b * %B' "$SRC")))
if ((SRC_ALLOC * 2 > SRC_SIZE)); then
    die "the source image is not sparse ($SRC_ALLOC of $SRC_SIZE bytes allocated)"
fi

# The source's partitions: start and size in bytes
declare -a P_START P_SIZE
sfdisk --dump "$SRC" >"$SRC_DIR/table.dump"
SECTOR=$(awk '/^sector-size:/ { print $2 }' "$SRC_DIR/table.dump")
SECTOR=${SECTOR:-512}
mapfile -t rows < <(sed -n 's/.* start= *\([0-9]*\), size= *\([0-9]*\),.*/\1 \2/p' "$SRC_DIR/table.dump")
((${#rows[@]} == 2)) || die "the source image should have 2 partitions, it has ${#rows[@]}"
for i in 0 1; do
    read -r s n <<<"${rows[$i]}"
    P_START[i]=$((s * SECTOR))
    P_SIZE[i]=$((n * SECTOR))
done
((P_SIZE[0] == ESP_SIZE && P_SIZE[1] == USR_SIZE)) ||
    die "unexpected partition sizes in the source: ${P_SIZE[*]} (expected $ESP_SIZE $USR_SIZE)"

# sha256 of a byte range of a file
range_sha() {
    dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=4M status=none | sha256sum | cut -d' ' -f1
}
if [[ ! -f $SRC_DIR/parts.sha256 || $SRC -nt $SRC_DIR/parts.sha256 ]]; then
    for i in 0 1; do range_sha "$SRC" "${P_START[i]}" "${P_SIZE[i]}"; done >"$SRC_DIR/parts.sha256"
fi
mapfile -t SRC_SHA <"$SRC_DIR/parts.sha256"

# ---------------------------------------------------------------------------------------------
# Contenders

T_DIR=$WORK/targets
rm -rf "$T_DIR"
mkdir -p "$T_DIR/imprint.d" "$T_DIR/repart.d"

LOOPS=()
cleanup() {
    local l
    for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
    if [[ $KEEP != 1 ]]; then rm -f "$T_DIR"/*.img; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for i in 0 1; do
    l=$(losetup -r -f --show -o "${P_START[i]}" --sizelimit "${P_SIZE[i]}" "$SRC")
    LOOPS+=("$l")
done

names=(esp usr)
for i in 0 1; do
    printf '[Partition]\nType=%s\nCopyBlocks=auto\nSizeMinBytes=%s\nSizeMaxBytes=%s\n' \
        "${names[i]}" "${P_SIZE[i]}" "${P_SIZE[i]}" >"$T_DIR/imprint.d/$((i + 1))0-${names[i]}.conf"
    printf '[Partition]\nType=%s\nCopyBlocks=%s\nSizeMinBytes=%s\nSizeMaxBytes=%s\n' \
        "${names[i]}" "${LOOPS[i]}" "${P_SIZE[i]}" "${P_SIZE[i]}" >"$T_DIR/repart.d/$((i + 1))0-${names[i]}.conf"
done

# GNU time, when there is one, for the CPU seconds and the bytes written (%O: file system outputs
# in 512-byte units, the pages the process and its children dirtied)
if [[ -x /usr/bin/time ]]; then
    TIMED=(/usr/bin/time -f '%O %U %S' -o "$T_DIR/rusage")
else
    TIMED=()
    say "no /usr/bin/time (package \"time\"): the CPU and written columns stay empty"
fi

# Runs one contender onto $T_DIR/NAME.img; sets SECS, BYTES_OUT and CPU (user + system seconds;
# both empty without GNU time).
run_one() {
    local name=$1 t=$T_DIR/$1.img log=$T_DIR/$1.log
    rm -f "$t"
    sync -f "$T_DIR" # the removal (and anything else pending) is not charged to the contender
    if [[ $PAUSE != 0 ]]; then sleep "$PAUSE"; fi
    local t0 t1
    t0=$EPOCHREALTIME
    case $name in
        imprint)
            "${TIMED[@]}" "$IMPRINT" install --definitions "$T_DIR/imprint.d" --source "$SRC" --target "$t" \
                --target-size "$SRC_SIZE" --yes --seed "$TARGET_SEED" --progress=json >"$log" 2>&1
            ;;
        repart)
            "${TIMED[@]}" systemd-repart --empty=create --size="$SRC_SIZE" --dry-run=no \
                --definitions="$T_DIR/repart.d" --seed="$TARGET_SEED" "$t" >"$log" 2>&1
            ;;
        cp)
            "${TIMED[@]}" cp --sparse=always "$SRC" "$t" >"$log" 2>&1
            ;;
    esac || { cat "$log" >&2; die "$name failed"; }
    sync "$t"
    t1=$EPOCHREALTIME
    SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    BYTES_OUT='' CPU=''
    if ((${#TIMED[@]})); then
        local out user sys
        read -r out user sys < <(tail -n1 "$T_DIR/rusage")
        BYTES_OUT=$((out * 512))
        CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    fi
}

contenders=(imprint repart cp)
declare -A TIMES WRITTEN CPUS

# Warm up, untimed: read the source image and the loop devices (they have a page cache of their
# own), so every round reads the source from memory for all three contenders; then one round of
# each contender, since the first ~2 GB written after a while run slowly on some machines (a VM
# whose host must first back the guest's page cache memory again; see BENCH_PAUSE).
cat "$SRC" >/dev/null
for l in "${LOOPS[@]}"; do cat "$l" >/dev/null; done
if ((WARMUP > 0)); then
    line="warm-up (not counted):"
    for c in "${contenders[@]}"; do
        run_one "$c"
        line+=" $c ${SECS}s"
    done
    say "$line"
fi
say "$ROUNDS rounds; source $SRC ($((SRC_SIZE >> 20)) MiB, $((SRC_ALLOC >> 20)) MiB allocated); targets in $T_DIR"
for ((r = 0; r < ROUNDS; r++)); do
    line="round $((r + 1)):"
    for ((k = 0; k < 3; k++)); do
        name=${contenders[(r + k) % 3]}
        run_one "$name"
        TIMES[$name]+="$SECS "
        WRITTEN[$name]=$BYTES_OUT
        CPUS[$name]+="$CPU "
        line+=" $name ${SECS}s"
    done
    say "$line"
done

# ---------------------------------------------------------------------------------------------
# Checks (not timed): imprint and repart copied the partitions exactly (both tables are the
# source's layout: same sizes, same offsets), and imprint laid them out as repart did

for c in imprint repart; do
    for i in 0 1; do
        got=$(range_sha "$T_DIR/$c.img" "${P_START[i]}" "${P_SIZE[i]}")
        [[ $got == "${SRC_SHA[i]}" ]] ||
            die "$c's partition $((i + 1)) does not hash-equal the source's ($got != ${SRC_SHA[i]})"
    done
done
norm() { sfdisk --dump "$1" | sed "s|$1|IMG|g"; }
if [[ $(norm "$T_DIR/imprint.img") == "$(norm "$T_DIR/repart.img")" ]]; then
    layout="identical"
else
    layout="DIFFERENT (see sfdisk -d of both)"
fi
cmp -s "$SRC" "$T_DIR/cp.img" || die "cp's copy differs from the source"

# ---------------------------------------------------------------------------------------------
# Report

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minimum() { tr ' ' '\n' | sed '/^$/d' | sort -g | head -n1; }
declare -A MED MIN ALLOC MEDCPU
for c in "${contenders[@]}"; do
    MED[$c]=$(median <<<"${TIMES[$c]}")
    MIN[$c]=$(minimum <<<"${TIMES[$c]}")
    MEDCPU[$c]=$(median <<<"${CPUS[$c]:-}")
    ALLOC[$c]=$(($(stat -c '%b * %B' "$T_DIR/$c.img")))
done

echo
echo "imprint install benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "work dir $WORK ($(findmnt -n -o FSTYPE,SOURCE -T "$WORK" | head -n1 | awk '{ print $1 " on " $2 }'))"
printf 'source: %s MiB image, ESP %s MiB + /usr %s MiB, %s MiB allocated (the data)\n' \
    $((SRC_SIZE >> 20)) $((P_SIZE[0] >> 20)) $((P_SIZE[1] >> 20)) $((SRC_ALLOC >> 20))
echo "times: median of $ROUNDS rounds, each from start until 'sync TARGET' returned; order rotated per round"
echo
printf '%-8s %9s %9s %10s %7s %11s %13s   %s\n' contender median best "data MB/s" "CPU s" "written MB" "allocated MB" "all rounds (s)"
for c in "${contenders[@]}"; do
    awk -v c="$c" -v m="${MED[$c]}" -v b="${MIN[$c]}" -v d="$SRC_ALLOC" -v cpu="${MEDCPU[$c]}" -v w="${WRITTEN[$c]}" \
        -v a="${ALLOC[$c]}" -v all="${TIMES[$c]}" \
        'BEGIN {
            cpu = cpu == "" ? "-" : sprintf("%.2f", cpu); w = w == "" ? "-" : sprintf("%.0f", w / 1e6)
            printf "%-8s %8.3fs %8.3fs %10.0f %7s %11s %13.0f   %s\n", c, m, b, d / m / 1e6, cpu, w, a / 1e6, all
        }'
done
echo "(data MB/s: the source's allocated bytes over the median; best: the fastest round;"
echo " CPU: median user+system seconds of the process and its children;"
echo " written: bytes the process wrote to files, from getrusage; allocated: the target's allocated bytes)"
echo
awk -v i="${MED[imprint]}" -v r="${MED[repart]}" -v c="${MED[cp]}" \
    -v bi="${MIN[imprint]}" -v br="${MIN[repart]}" -v bc="${MIN[cp]}" 'BEGIN {
    rr = r / i; ic = i / c
    printf "repart/imprint %.2fx  (goal >= 3.00x)   %s   (best rounds: %.2fx)\n", rr, (rr >= 3 ? "PASS" : "MISS"), br / bi
    printf "imprint/cp     %.2fx  (goal <= 1.25x)   %s   (best rounds: %.2fx)\n", ic, (ic <= 1.25 ? "PASS" : "MISS"), bi / bc
    print "(PASS/MISS is judged on the medians)"
}'
echo "checks: imprint's and repart's partitions hash-equal the source's; imprint's table vs repart's: $layout;"
echo "        cp's copy equals the source"
