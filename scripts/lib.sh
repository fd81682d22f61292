# shellcheck shell=bash
# Shared by every script: where the repository is, which environment runs it, and how to enter it.
#
# Two kinds of environment:
#   venv  a .venv in the clone, built from a python3.14 (>= 3.14.2) found on PATH or named by
#         HEARTHCAM_PYTHON; ffmpeg and live555MediaServer must then be on PATH as well.
#   root  a hermetic Debian testing root (Python 3.14, ffmpeg, live555, the pinned venv), built once
#         by debootstrap and cached outside the clone, keyed by the pinned requirements. Entered
#         through a private mount + pid namespace and chroot, so nothing outlives the command.
# HEARTHCAM_ENV=venv|root forces one; otherwise venv wins when a suitable Python exists.

set -euo pipefail

HC_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HC_CACHE=${HEARTHCAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hearthcam}
# Debian packages of the hermetic root (bootstrapped, then added with apt); part of the cache key.
HC_ROOT_BASE_PACKAGES="python3.14 python3.14-venv ca-certificates"
# chromium (and a font for its screenshots) is the browser of scripts/e2e, driven by Playwright;
# libjemalloc2 is the allocator Home Assistant's container preloads, for scripts/bench soak.
HC_ROOT_PACKAGES="ffmpeg livemedia-utils libturbojpeg0 chromium fonts-dejavu-core libjemalloc2"
# Bump when the way the root is built changes, so existing caches are rebuilt.
HC_ROOT_FORMAT=1

hc_say() { printf '\033[1m[hearthcam]\033[0m %s\n' "$*" >&2; }
hc_die() { printf '\033[1;31m[hearthcam] error:\033[0m %s\n' "$*" >&2; exit 1; }

# The [dependency-groups] block of pyproject.toml: the pinned test requirements.
hc_requirements_block() {
    awk '/^\[dependency-groups\]/{on=1; print; next} /^\[/{on=0} on' "$HC_REPO/pyproject.toml"
}

hc_cache_key() {
    { hc_requirements_block; echo "$HC_ROOT_BASE_PACKAGES $HC_ROOT_PACKAGES"; echo "format=$HC_ROOT_FORMAT"; } \
        | sha256sum | cut -c1-16
}

# A Python >= 3.14.2 on this machine, or nothing.
hc_find_python() {
    local candidate
    for candidate in "${HEARTHCAM_PYTHON:-}" python3.14; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 14, 2))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

hc_mode() {
    case "${HEARTHCAM_ENV:-}" in
        venv | root) echo "$HEARTHCAM_ENV"; return ;;
        "") ;;
        *) hc_die "HEARTHCAM_ENV must be 'venv' or 'root', not '$HEARTHCAM_ENV'" ;;
    esac
    if hc_find_python >/dev/null; then
        echo venv
    elif [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ]; then
        echo root
    else
        echo none
    fi
}

hc_root_dir() { echo "$HC_CACHE/root-$(hc_cache_key)"; }

hc_venv_ready() { [ -f "$HC_REPO/.venv/.hearthcam-key" ] && [ "$(cat "$HC_REPO/.venv/.hearthcam-key")" = "$(hc_cache_key)" ]; }
hc_root_ready() { [ -f "$(hc_root_dir)/.hearthcam-ready" ]; }

hc_ready() {
    case "$(hc_mode)" in
        venv) hc_venv_ready ;;
        root) hc_root_ready ;;
        *) return 1 ;;
    esac
}

# Variables passed into the hermetic root (everything else is dropped for reproducibility).
hc_passthrough_env() {
    local name
    for name in CI TERM TZ COLUMNS PYTEST_ADDOPTS PIP_INDEX_URL PIP_EXTRA_INDEX_URL; do
        if [ -n "${!name:-}" ]; then printf '%s=%s\n' "$name" "${!name}"; fi
    done
    env | grep -E '^HEARTHCAM_[A-Z_]+=' || true
}

# Run "$@" inside root $1 with the clone at /src, in the caller's directory when it is inside the
# clone. A private mount and pid namespace: the bind mounts, /proc, a fresh /tmp and every process
# started inside vanish when the command ends.
hc_run_in_root() {
    local root=$1
    shift
    local rel=${PWD#"$HC_REPO"}
    [ "$rel" = "$PWD" ] && rel=""
    local -a vars
    mapfile -t vars < <(hc_passthrough_env)
    # With HC_PRIVATE_NET=1 the command also gets its own network namespace with only a loopback
    # interface: test servers (live555 has fixed ports) cannot clash with another run or with a
    # development instance, and nothing can reach the outside world.
    local -a netns=()
    if [ "${HC_PRIVATE_NET:-0}" = 1 ] && command -v ip >/dev/null 2>&1; then netns=(--net); fi
    HC_NETNS=${#netns[@]} unshare --mount --pid --fork --kill-child --propagation private "${netns[@]}" -- \
        /bin/sh -c '
            set -e
            root=$1; repo=$2; rel=$3; shift 3
            if [ "$HC_NETNS" = 1 ]; then
                # Loopback, plus one documentation-range address on a veth pair that leads
                # nowhere: live555 only prints its URL banner when it sees a non-loopback address.
                ip link set lo up
                ip link add hc0 type veth peer name hc1
                ip addr add 192.0.2.2/24 dev hc0
                ip link set hc1 up
                ip link set hc0 up
            fi
            mkdir -p "$root/src"
            mount --bind "$repo" "$root/src"
            mount -t proc proc "$root/proc"
            mount --rbind /dev "$root/dev"
            mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
            exec chroot "$root" "$@"
        ' hc-enter "$root" "$HC_REPO" "$rel" \
        /usr/bin/env -i \
        PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 VIRTUAL_ENV=/opt/venv \
        PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 "${vars[@]}" \
        /bin/sh -c 'cd "/src$0" && "$@"' "$rel" "$@"
}

hc_run() {
    case "$(hc_mode)" in
        venv)
            PATH="$HC_REPO/.venv/bin:$PATH" VIRTUAL_ENV="$HC_REPO/.venv" "$@"
            ;;
        root)
            hc_run_in_root "$(hc_root_dir)" "$@"
            ;;
        *) hc_die_no_env ;;
    esac
}

hc_die_no_env() {
    hc_die "no way to a Python 3.14 environment here. HearthCam needs either python3.14 (>= 3.14.2) \
on PATH (or HEARTHCAM_PYTHON=/path/to/python3.14) together with ffmpeg and live555MediaServer \
(Debian/Ubuntu: apt install ffmpeg livemedia-utils), or Linux as root so scripts/setup can build \
its own hermetic Debian root."
}
