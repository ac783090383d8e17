# imprint — see README.md. Every target works on a fresh Debian 12 machine as root.

CARGO ?= cargo
# Debian packages the build, the tests and the demo need (checked, and installed when missing).
DEBIAN_PACKAGES := systemd tmux liblzma-dev libzstd-dev passwd gpg gpg-agent curl fdisk util-linux dosfstools e2fsprogs btrfs-progs xfsprogs mount python3 time pkg-config libclang-dev libcryptsetup-dev libtss2-dev cryptsetup-bin swtpm swtpm-tools tpm2-tools mtools libcrypt-dev systemd-homed dbus locales kbd tzdata

.PHONY: all deps build demo test bench fmt clippy clean live-image e2e e2e-deps fuzz

all: build

deps:
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install a Rust toolchain (1.89 or newer)"; exit 1; }
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

build: deps
	$(CARGO) build

# The installer's main job on an embedded default: a generated demo OS image installed onto a
# sparse image file in a new temporary folder. No real disk is touched.
demo: build
	$(CARGO) run --quiet -- demo

test: deps
	$(CARGO) test --workspace

bench: deps
	$(CARGO) build --release
	IMPRINT=$(CURDIR)/target/release/imprint bash bench/install.sh
	IMPRINT=$(CURDIR)/target/release/imprint bash bench/encrypt.sh
	IMPRINT=$(CURDIR)/target/release/imprint bash bench/tui.sh
	IMPRINT=$(CURDIR)/target/release/imprint bash bench/update.sh

# The live USB image (live-image/README.md) and the whole-system VM test (docs/live-image.md).
# Their Debian packages, installed when missing, as for `deps`.
E2E_PACKAGES := mmdebstrap qemu-system-x86 ovmf swtpm swtpm-tools python3-pexpect python3-pyte mtools dosfstools e2fsprogs fdisk util-linux
LIVE_IMAGE ?= live-image/out/imprint-live.img

e2e-deps:
	@missing=$$(for p in $(E2E_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

live-image: deps e2e-deps
	$(CARGO) build --release
	IMPRINT=$(CURDIR)/target/release/imprint bash live-image/build.sh $(LIVE_IMAGE)

e2e: live-image
	python3 tests/e2e/run.py --image $(LIVE_IMAGE)

# Coverage-guided fuzzing of the parsers of hostile input (fuzz/, docs/SECURITY.md): each target
# for FUZZ_SECONDS (default 60) on the nightly toolchain, installing cargo-fuzz when missing.
FUZZ_SECONDS ?= 60
fuzz: deps
	@rustup toolchain list | grep -q '^nightly' || { echo "fuzzing needs the nightly toolchain: rustup toolchain install nightly"; exit 1; }
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
