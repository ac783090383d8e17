#!/usr/bin/env bash
# Benchmark: an encrypted `imprint install` against the offline path a person would take without
# it: an unencrypted install, then `cryptsetup reencrypt --encrypt` of the /usr partition in place.
#
# The source image is bench/install.sh's (the same recipe, built the same way and cached in the
# same place, so either script reuses the other's): an ESP (vfat, 128 MiB) and /usr (ext4,
# 1.5 GiB, ~500 MiB of data). For BENCH_ROUNDS rounds, in an order that alternates every round,
# it is installed two ways onto a fresh sparse target image file, /usr encrypted both times
# (LUKS2, aes-xts-plain64, a 512-bit key, 4096-byte sectors, a 16 MiB header):
#   imprint  imprint install --encrypt=passphrase: the ESP CopyBlocks=auto, /usr CopyBlocks=auto
#            with Encrypt=key-file, its partition the source's /usr + 16 MiB (the LUKS2 header);
#            imprint writes the header and encrypts the data as it copies (one read, one write)
#   offline  (1) imprint install without encryption onto a layout with room for the header,
#            /usr = the source's + 32 MiB (cryptsetup's --reduce-device-size 32M keeps only the
#            device minus 32 MiB of the old data; see docs/PERFORMANCE.md); then (2) sfdisk for
#            the partition's offset, `losetup -o OFFSET --sizelimit SIZE` on it,
#            `cryptsetup reencrypt --encrypt --type luks2 --cipher aes-xts-plain64 --key-size 512
#            --sector-size 4096 --reduce-device-size 32M --pbkdf pbkdf2 --pbkdf-force-iterations
#            1000 --batch-mode --key-file F /dev/loopN`, and `losetup -d`. Both steps are timed.
# Key derivation is made cheap for both (imprint --luks-pbkdf=test: argon2id, 4 iterations,
# 32 KiB; cryptsetup: PBKDF2, 1000 iterations) so that it does not dominate: a real passphrase
# keyslot costs ~2 s of argon2id either way.
# Each contender's time runs from its start until `sync TARGET` (an fsync of the target file)
# has returned. The source is read from the page cache: it is read once, and one untimed round
# of each contender is run, before the timed rounds.
#
# Checks afterwards (untimed): on both targets the ESP hash-equals the source's; the /usr
# partition's LUKS2 header opens with the passphrase (cryptsetup open --test-passphrase) and
# says aes-xts-plain64, 512-bit key, 4096-byte sectors; and, with python3's `cryptography`
# module, the data segment, decrypted in full with the volume key from `cryptsetup luksDump
# --dump-volume-key`, hash-equals the source's /usr partition. Without the module only the
# header checks run (said in the report).
#
# Prints the median and best seconds of each, the ratio offline/imprint and PASS/MISS against
# the goal (imprint >= 1.5x faster than the offline path, judged on the medians). Exits 0 on
# MISS: it fails only when something is broken.
#
# Environment:
#   IMPRINT        the binary (default: target/release/imprint of this checkout)
#   BENCH_DIR      work folder, reused between runs when given (default: a new mktemp folder in /var/tmp); must not
#                  be on tmpfs. The targets go to BENCH_DIR/targets-encrypt.
#   BENCH_ROUNDS   rounds (default: 5)
#   BENCH_WARMUP   0: skip the untimed warm-up round (default: 1)
#   BENCH_PAUSE    seconds to wait, untimed, before each contender (default: 0; see install.sh)
#   BENCH_KEEP     1: keep the target images after the run (default: remove them)
#   BENCH_PART     all (default), offline (part 1 only) or sizes (part 2 only: by disk size, below)
#   BENCH_SIZES    part 2's target sizes in GiB (default: 8 64 512)
#   BENCH_VERIFY   full (default): decrypt and hash both /usr data segments (about 7 s each);
#                  header: only the LUKS2 header checks
# Needs bash 5, root (loop devices), cryptsetup (LUKS2 reencrypt; tested with 2.6.1),
# systemd-repart (to build the source image), sfdisk, losetup, mkfs.ext4, mkfs.vfat and python3
# (with `cryptography` for the full check); GNU time (/usr/bin/time) for the CPU and written columns.

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
VERIFY=${BENCH_VERIFY:-full}
PART=${BENCH_PART:-all}

# The source image: the same recipe as bench/install.sh (keep the two in step: the recipe hash
# decides whether the cached image is reused)
ESP_SIZE=$((128 << 20))
USR_SIZE=$((1536 << 20))
DATA_BYTES=$((500 << 20))
DATA_SEED=20240611
SOURCE_SEED=5d3c2e10-0f5b-4e7a-8a55-62656e636801
# Targets
IMPRINT_SEED=5d3c2e10-0f5b-4e7a-8a55-62656e636803
OFFLINE_SEED=5d3c2e10-0f5b-4e7a-8a55-62656e636804
LUKS_HEADER=$((16 << 20)) # libcryptsetup's default LUKS2 header area, which imprint uses
REDUCE=$((32 << 20))      # cryptsetup's --reduce-device-size (its recommended minimum for LUKS2)
PASSPHRASE=imprint-bench-passphrase

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number, not '$ROUNDS'"
[[ $VERIFY == full || $VERIFY == header ]] || die "BENCH_VERIFY must be full or header, not '$VERIFY'"
[[ $PART == all || $PART == offline || $PART == sizes ]] || die "BENCH_PART must be all, offline or sizes, not '$PART'"
[[ $(id -u) == 0 ]] || die "needs root (loop devices)"
[[ -n ${EPOCHREALTIME:-} ]] || die "needs bash 5 (\$EPOCHREALTIME)"
for tool in cryptsetup systemd-repart sfdisk losetup findmnt mkfs.ext4 mkfs.vfat python3 sha256sum dd; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done
[[ -x $IMPRINT ]] || die "no imprint binary at $IMPRINT (run cargo build --release, or set IMPRINT)"
if [[ $VERIFY == full ]] && ! python3 -c 'import cryptography' 2>/dev/null; then
    say "python3 has no 'cryptography' module (Debian: python3-cryptography): checking the LUKS2 headers only"
    VERIFY=header
fi

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
fstype=$(stat -f -c %T "$WORK")
case $fstype in
    tmpfs | ramfs) die "$WORK is on $fstype: the benchmark must write to a disk; set BENCH_DIR" ;;
esac

# Helpers shared by both parts
if [[ -x /usr/bin/time ]]; then
    timed() { local out=$1; shift; /usr/bin/time -f '%O %U %S' -o "$out" "$@"; }
    HAVE_TIME=1
else
    timed() { shift; "$@"; }
    HAVE_TIME=0
    say "no /usr/bin/time (package \"time\"): the CPU and written columns stay empty"
fi
# "written-bytes cpu-seconds" of GNU time output files
rusage_sum() {
    local f out user sys tot_out=0 tot_cpu=0
    for f in "$@"; do
        read -r out user sys < <(tail -n1 "$f")
        tot_out=$((tot_out + out * 512))
        tot_cpu=$(awk -v a="$tot_cpu" -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", a + u + s }')
    done
    echo "$tot_out $tot_cpu"
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minimum() { tr ' ' '\n' | sed '/^$/d' | sort -g | head -n1; }

if [[ $PART == all || $PART == offline ]]; then

# ---------------------------------------------------------------------------------------------
# The source image (cached by recipe hash): copied from bench/install.sh, keep them identical

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

# Partition N (1-based) of an image: "START SIZE" in bytes, from sfdisk
part_range() {
    local dump sector s n
    dump=$(sfdisk --dump "$1")
    sector=$(awk '/^sector-size:/ { print $2 }' <<<"$dump")
    read -r s n < <(sed -n 's/.* start= *\([0-9]*\), size= *\([0-9]*\),.*/\1 \2/p' <<<"$dump" | sed -n "${2}p")
    [[ -n ${n:-} ]] || die "$1 has no partition $2"
    echo $((s * ${sector:-512})) $((n * ${sector:-512}))
}
declare -a P_START P_SIZE
for i in 0 1; do
    read -r "P_START[i]" "P_SIZE[i]" < <(part_range "$SRC" $((i + 1)))
done
((P_SIZE[0] == ESP_SIZE && P_SIZE[1] == USR_SIZE)) ||
    die "unexpected partition sizes in the source: ${P_SIZE[*]} (expected $ESP_SIZE $USR_SIZE)"

range_sha() {
    dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=4M status=none | sha256sum | cut -d' ' -f1
}
# the same cache file as bench/install.sh
if [[ ! -f $SRC_DIR/parts.sha256 || $SRC -nt $SRC_DIR/parts.sha256 ]]; then
    for i in 0 1; do range_sha "$SRC" "${P_START[i]}" "${P_SIZE[i]}"; done >"$SRC_DIR/parts.sha256"
fi
mapfile -t SRC_SHA <"$SRC_DIR/parts.sha256"

# ---------------------------------------------------------------------------------------------
# Contenders

T_DIR=$WORK/targets-encrypt
rm -rf "$T_DIR"
mkdir -p "$T_DIR/imprint.d" "$T_DIR/offline.d"
PASS_FILE=$T_DIR/passphrase
(umask 077 && printf '%s' "$PASSPHRASE" >"$PASS_FILE") # no newline: cryptsetup --key-file takes it all

LOOPS=()
cleanup() {
    local l
    for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
    if [[ $KEEP != 1 ]]; then rm -f "$T_DIR"/*.img; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# detaches loop device $1 and forgets it
detach() {
    losetup -d "$1"
    local keep=() l
    for l in "${LOOPS[@]}"; do [[ $l == "$1" ]] || keep+=("$l"); done
    LOOPS=("${keep[@]}")
}

IMPRINT_USR=$((USR_SIZE + LUKS_HEADER))
OFFLINE_USR=$((USR_SIZE + REDUCE))
esp_def() { printf '[Partition]\nType=esp\nCopyBlocks=auto\nSizeMinBytes=%s\nSizeMaxBytes=%s\n' "$ESP_SIZE" "$ESP_SIZE"; }
esp_def >"$T_DIR/imprint.d/10-esp.conf"
esp_def >"$T_DIR/offline.d/10-esp.conf"
printf '[Partition]\nType=usr\nCopyBlocks=auto\nEncrypt=key-file\nSizeMinBytes=%s\nSizeMaxBytes=%s\n' \
    "$IMPRINT_USR" "$IMPRINT_USR" >"$T_DIR/imprint.d/20-usr.conf"
printf '[Partition]\nType=usr\nCopyBlocks=auto\nSizeMinBytes=%s\nSizeMaxBytes=%s\n' \
    "$OFFLINE_USR" "$OFFLINE_USR" >"$T_DIR/offline.d/20-usr.conf"
IMPRINT_TARGET_SIZE=$((SRC_SIZE + LUKS_HEADER))
OFFLINE_TARGET_SIZE=$((SRC_SIZE + REDUCE))


# Runs one contender onto $T_DIR/NAME.img; sets SECS, BYTES_OUT, CPU (both empty without GNU
# time) and, for offline, STEP1 and STEP2 (the unencrypted install, the re-encryption).
run_one() {
    local name=$1 t=$T_DIR/$1.img log=$T_DIR/$1.log
    rm -f "$t"
    sync -f "$T_DIR" # the removal (and anything else pending) is not charged to the contender
    if [[ $PAUSE != 0 ]]; then sleep "$PAUSE"; fi
    local t0 t1 tm start size loop
    rm -f "$T_DIR"/rusage.*
    STEP1='' STEP2=''
    t0=$EPOCHREALTIME
    case $name in
        imprint)
            timed "$T_DIR/rusage.1" "$IMPRINT" install --definitions "$T_DIR/imprint.d" --source "$SRC" --target "$t" \
                --target-size "$IMPRINT_TARGET_SIZE" --encrypt=passphrase --passphrase-file "$PASS_FILE" \
                --luks-pbkdf=test --yes --seed "$IMPRINT_SEED" --progress=json >"$log" 2>&1 ||
                { cat "$log" >&2; die "imprint (encrypted) failed"; }
            ;;
        offline)
            timed "$T_DIR/rusage.1" "$IMPRINT" install --definitions "$T_DIR/offline.d" --source "$SRC" --target "$t" \
                --target-size "$OFFLINE_TARGET_SIZE" --yes --seed "$OFFLINE_SEED" --progress=json >"$log" 2>&1 ||
                { cat "$log" >&2; die "imprint (unencrypted, for the offline path) failed"; }
            tm=$EPOCHREALTIME
            read -r start size < <(part_range "$t" 2)
            loop=$(losetup -f --show -o "$start" --sizelimit "$size" "$t")
            LOOPS+=("$loop")
            timed "$T_DIR/rusage.2" cryptsetup reencrypt --encrypt --type luks2 --cipher aes-xts-plain64 --key-size 512 \
                --sector-size 4096 --reduce-device-size "$((REDUCE >> 20))M" --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
                --batch-mode --key-file "$PASS_FILE" "$loop" >>"$log" 2>&1 ||
                { cat "$log" >&2; die "cryptsetup reencrypt --encrypt failed"; }
            detach "$loop"
            ;;
    esac
    sync "$t"
    t1=$EPOCHREALTIME
    SECS=$(elapsed "$t0" "$t1")
    if [[ $name == offline ]]; then
        STEP1=$(elapsed "$t0" "$tm")
        STEP2=$(elapsed "$tm" "$t1")
    fi
    BYTES_OUT='' CPU=''
    if ((HAVE_TIME)); then
        read -r BYTES_OUT CPU < <(rusage_sum "$T_DIR"/rusage.*)
    fi
}

contenders=(imprint offline)
declare -A TIMES WRITTEN CPUS
STEP1S='' STEP2S=''

cat "$SRC" >/dev/null
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
    for ((k = 0; k < 2; k++)); do
        name=${contenders[(r + k) % 2]}
        run_one "$name"
        TIMES[$name]+="$SECS "
        WRITTEN[$name]+="$BYTES_OUT "
        CPUS[$name]+="$CPU "
        line+=" $name ${SECS}s"
        if [[ $name == offline ]]; then
            STEP1S+="$STEP1 " STEP2S+="$STEP2 "
            line+=" (${STEP1}s + ${STEP2}s)"
        fi
    done
    say "$line"
done

# ---------------------------------------------------------------------------------------------
# Checks (not timed)

DECRYPT=$(
    cat <<'EOF'
import hashlib, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
path, offset, length, sector = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
key = bytes.fromhex(sys.stdin.read().strip())
assert len(key) == 64, "expected a 512-bit volume key"
aes = algorithms.AES(key)
h = hashlib.sha256()
done = 0
with open(path, "rb") as f:
    f.seek(offset)
    while done < length:
        buf = f.read(min(4 << 20, length - done))
        assert buf and len(buf) % sector == 0, "short read"
        for s in range(0, len(buf), sector):
            # aes-xts-plain64: the IV counts 512-byte units from the segment's start
            d = Cipher(aes, modes.XTS(((done + s) // 512).to_bytes(16, "little"))).decryptor()
            h.update(d.update(buf[s:s + sector]))
            d.finalize()
        done += len(buf)
print(h.hexdigest())
EOF
)

CHECKED=()
for c in "${contenders[@]}"; do
    t=$T_DIR/$c.img
    read -r start size < <(part_range "$t" 1)
    [[ $start == "${P_START[0]}" && $size == "$ESP_SIZE" ]] || die "$c: the ESP is at $start (+$size), not where the source's is"
    got=$(range_sha "$t" "$start" "$size")
    [[ $got == "${SRC_SHA[0]}" ]] || die "$c: the ESP does not hash-equal the source's"
    read -r start size < <(part_range "$t" 2)
    loop=$(losetup -r -f --show -o "$start" --sizelimit "$size" "$t")
    LOOPS+=("$loop")
    cryptsetup open --test-passphrase --key-file "$PASS_FILE" "$loop" ||
        die "$c: the passphrase does not open the LUKS2 header of /usr"
    dump=$(cryptsetup luksDump "$loop")
    seg=$(awk '/^Data segments:/ { s = 1 } s && /offset:/ { print $2; exit }' <<<"$dump")
    grep -q $'^\tcipher: aes-xts-plain64$' <<<"$dump" || die "$c: the data segment's cipher is not aes-xts-plain64"
    grep -q $'^\tsector: 4096 \\[bytes\\]$' <<<"$dump" || die "$c: the data segment's sector is not 4096 bytes"
    [[ $seg == "$LUKS_HEADER" ]] || die "$c: the data segment starts at $seg, not at $LUKS_HEADER"
    vk=$(cryptsetup luksDump --dump-volume-key --batch-mode --key-file "$PASS_FILE" "$loop" |
        sed -n '/^MK dump:/,/^[^[:space:]]/p' | sed -e 's/^MK dump://' -e '/^[^[:space:]]/d' | tr -d ' \t\n')
    ((${#vk} == 128)) || die "$c: the volume key is not 512 bits"
    if [[ $VERIFY == full ]]; then
        got=$(python3 -c "$DECRYPT" "$loop" "$seg" "$USR_SIZE" 4096 <<<"$vk")
        [[ $got == "${SRC_SHA[1]}" ]] || die "$c: /usr decrypted does not hash-equal the source's /usr ($got)"
        CHECKED+=("$c: /usr opens with the passphrase, decrypts to the source's /usr")
    else
        CHECKED+=("$c: /usr opens with the passphrase (data not decrypted)")
    fi
    vk=''
    detach "$loop"
done

# ---------------------------------------------------------------------------------------------
# Report

declare -A MED MIN ALLOC MEDCPU MEDW
for c in "${contenders[@]}"; do
    MED[$c]=$(median <<<"${TIMES[$c]}")
    MIN[$c]=$(minimum <<<"${TIMES[$c]}")
    MEDCPU[$c]=$(median <<<"${CPUS[$c]:-}")
    MEDW[$c]=$(median <<<"${WRITTEN[$c]:-}")
    ALLOC[$c]=$(($(stat -c '%b * %B' "$T_DIR/$c.img")))
done

echo
echo "imprint encrypted install benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "work dir $WORK ($(findmnt -n -o FSTYPE,SOURCE -T "$WORK" | head -n1 | awk '{ print $1 " on " $2 }')); $(cryptsetup --version | head -n1)"
printf 'source: %s MiB image, ESP %s MiB + /usr %s MiB, %s MiB allocated; /usr encrypted: LUKS2 aes-xts-plain64, 512-bit key, 4096-byte sectors\n' \
    $((SRC_SIZE >> 20)) $((P_SIZE[0] >> 20)) $((P_SIZE[1] >> 20)) $((SRC_ALLOC >> 20))
echo "times: median of $ROUNDS rounds, each from start until 'sync TARGET' returned; order alternated per round"
echo
printf '%-8s %9s %9s %7s %11s %13s   %s\n' contender median best "CPU s" "written MB" "allocated MB" "all rounds (s)"
for c in "${contenders[@]}"; do
    awk -v c="$c" -v m="${MED[$c]}" -v b="${MIN[$c]}" -v cpu="${MEDCPU[$c]}" -v w="${MEDW[$c]}" \
        -v a="${ALLOC[$c]}" -v all="${TIMES[$c]}" \
        'BEGIN {
            cpu = cpu == "" ? "-" : sprintf("%.2f", cpu); w = w == "" ? "-" : sprintf("%.0f", w / 1e6)
            printf "%-8s %8.3fs %8.3fs %7s %11s %13.0f   %s\n", c, m, b, cpu, w, a / 1e6, all
        }'
done
awk -v s1="$(median <<<"$STEP1S")" -v s2="$(median <<<"$STEP2S")" \
    'BEGIN { printf "  offline = unencrypted imprint install (median %.3fs) + losetup, cryptsetup reencrypt --encrypt, losetup -d (median %.3fs)\n", s1, s2 }'
echo "(CPU: median user+system seconds of the commands and their children; written: median bytes they"
echo " wrote, to files or the loop device, from getrusage; allocated: the target's allocated bytes."
echo " /usr partition: the source's + 16 MiB for imprint, + 32 MiB for offline (--reduce-device-size 32M))"
echo
awk -v i="${MED[imprint]}" -v o="${MED[offline]}" -v bi="${MIN[imprint]}" -v bo="${MIN[offline]}" 'BEGIN {
    r = o / i
    printf "offline/imprint %.2fx  (goal >= 1.50x)   %s   (best rounds: %.2fx)\n", r, (r >= 1.5 ? "PASS" : "MISS"), bo / bi
    print "(PASS/MISS is judged on the medians)"
}'
echo "checks: both ESPs hash-equal the source's; LUKS2 headers: aes-xts-plain64, 512-bit key, 4096-byte sectors, data at 16 MiB"
for line in "${CHECKED[@]}"; do echo "        $line"; done

fi # part 1

# ---------------------------------------------------------------------------------------------
# Part 2 (issue 15): an encrypted install writes what the file system uses, whatever the disk's
# size. The demo's source image and definitions (`imprint demo --unattended` builds them; the
# root partition, ext4, takes the rest of the disk) installed onto sparse targets of each size
# in BENCH_SIZES (GiB; default 8 64 512), unencrypted and with --encrypt=passphrase (root in
# LUKS2; --luks-pbkdf=test, so key derivation costs milliseconds and the goals below hold without
# adding it). Each from its start until `sync TARGET` returned; BENCH_ROUNDS rounds, the order
# alternating. "target MB" is what the target file has allocated afterwards: what was written to
# it (the targets start empty and sparse; a hole is a block nobody wrote).
# Goals: the largest encrypted install within 1.5x the time of the smallest; within 3x of the
# unencrypted install of the largest size; its target bytes within 1.1x of the unencrypted
# install's plus the 16 MiB LUKS2 header.

if [[ $PART == all || $PART == sizes ]]; then
SIZES=${BENCH_SIZES:-8 64 512}
for s in $SIZES; do [[ $s =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZES must be GiB numbers, not '$s'"; done
DEMO_DIR=$WORK/demo
if [[ ! -f $DEMO_DIR/source.img || ! -d $DEMO_DIR/install.repart.d ]]; then
    say "building the demo image in $DEMO_DIR"
    "$IMPRINT" demo --unattended --progress=auto --dir "$DEMO_DIR" >"$WORK/demo.log" 2>&1 ||
        { cat "$WORK/demo.log" >&2; die "imprint demo failed"; }
fi
rm -f "$DEMO_DIR/target.img"
S_DIR=$WORK/targets-sizes
rm -rf "$S_DIR"
mkdir -p "$S_DIR"
(umask 077 && printf '%s' "$PASSPHRASE" >"$S_DIR/passphrase")
declare -A S_TIMES S_ALLOC S_WRITTEN
size_one() { # size-GiB mode(plain|luks): sets SECS, ALLOCATED, BYTES_OUT
    local gib=$1 mode=$2 t=$S_DIR/target.img log=$S_DIR/$1-$2.log t0 t1 enc=()
    rm -f "$t" "$S_DIR"/rusage.*
    sync -f "$S_DIR"
    if [[ $mode == luks ]]; then
        enc=(--encrypt=passphrase --passphrase-file "$S_DIR/passphrase" --luks-pbkdf=test)
    fi
    t0=$EPOCHREALTIME
    timed "$S_DIR/rusage.1" "$IMPRINT" install --yes --progress=auto --definitions "$DEMO_DIR/install.repart.d" \
        --source "$DEMO_DIR/source.img" --target "$t" --target-size "${gib}G" --seed "$IMPRINT_SEED" "${enc[@]}" >"$log" 2>&1 ||
        { cat "$log" >&2; die "imprint install (${gib} GiB, $mode) failed"; }
    sync "$t"
    t1=$EPOCHREALTIME
    SECS=$(elapsed "$t0" "$t1")
    ALLOCATED=$(($(stat -c '%b * %B' "$t")))
    BYTES_OUT=''
    if ((HAVE_TIME)); then read -r BYTES_OUT _ < <(rusage_sum "$S_DIR"/rusage.*); fi
    if [[ $mode == luks ]]; then
        grep -q 'the passphrase opens keyslot' "$log" || die "${gib} GiB: the encrypted install proved no keyslot"
    fi
    rm -f "$t"
}
say "part 2: sizes $SIZES GiB, plain and encrypted, $ROUNDS rounds; targets in $S_DIR"
for ((r = 0; r < ROUNDS; r++)); do
    line="round $((r + 1)):"
    for gib in $SIZES; do
        for ((k = 0; k < 2; k++)); do
            modes=(plain luks)
            mode=${modes[(r + k) % 2]}
            size_one "$gib" "$mode"
            S_TIMES[$gib-$mode]+="$SECS "
            S_WRITTEN[$gib-$mode]+="$BYTES_OUT "
            S_ALLOC[$gib-$mode]=$ALLOCATED
            line+=" ${gib}G/$mode ${SECS}s"
        done
    done
    say "$line"
done

echo
echo "imprint encrypted install by disk size — the demo's image and definitions (root ext4 takes the rest), sparse targets"
echo "times: median of $ROUNDS rounds, each until 'sync TARGET' returned; target MB: bytes the target file has allocated"
printf '%-8s %10s %10s %11s %11s %11s %11s\n' size "plain s" "LUKS2 s" "plain MB" "LUKS2 MB" "plain wr MB" "LUKS2 wr MB"
declare -A S_MED
for gib in $SIZES; do
    for mode in plain luks; do S_MED[$gib-$mode]=$(median <<<"${S_TIMES[$gib-$mode]}"); done
    awk -v g="$gib" -v p="${S_MED[$gib-plain]}" -v l="${S_MED[$gib-luks]}" -v pa="${S_ALLOC[$gib-plain]}" -v la="${S_ALLOC[$gib-luks]}" \
        -v pw="$(median <<<"${S_WRITTEN[$gib-plain]:-}")" -v lw="$(median <<<"${S_WRITTEN[$gib-luks]:-}")" 'BEGIN {
            pw = pw == "" ? "-" : sprintf("%.1f", pw / 1e6); lw = lw == "" ? "-" : sprintf("%.1f", lw / 1e6)
            printf "%-8s %9.3fs %9.3fs %11.1f %11.1f %11s %11s\n", g " GiB", p, l, pa / 1e6, la / 1e6, pw, lw
        }'
done
echo "(wr MB: bytes imprint and mkfs wrote anywhere, from getrusage: the target, and mkfs's scratch file)"
read -r -a S_LIST <<<"$SIZES"
lo=${S_LIST[0]} hi=${S_LIST[-1]}
awk -v a="${S_MED[$hi-luks]}" -v b="${S_MED[$lo-luks]}" -v c="${S_MED[$hi-plain]}" -v la="${S_ALLOC[$hi-luks]}" \
    -v pa="${S_ALLOC[$hi-plain]}" -v h="$LUKS_HEADER" -v lo="$lo" -v hi="$hi" 'BEGIN {
    r1 = a / b; r2 = a / c; r3 = la / (pa + h)
    printf "encrypted %s GiB / encrypted %s GiB time   %.2fx  (goal <= 1.50x)  %s\n", hi, lo, r1, (r1 <= 1.5 ? "PASS" : "MISS")
    printf "encrypted / plain %s GiB time            %.2fx  (goal <= 3.00x)  %s\n", hi, r2, (r2 <= 3 ? "PASS" : "MISS")
    printf "encrypted / (plain + LUKS2 header) bytes %.3fx (goal <= 1.10x)  %s   (%s GiB)\n", r3, (r3 <= 1.1 ? "PASS" : "MISS"), hi
}'
fi # part 2
