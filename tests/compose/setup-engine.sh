#!/usr/bin/env bash
# Makes this machine able to run the compose test with podman (Debian/Ubuntu, as root): installs
# podman, runc, debootstrap (for the stand-in images) and busybox-static (a probe), and, where the
# kernel refuses the rlimits runc sets (some sandboxed CI hosts), registers runc-no-rlimits as
# podman's runtime. Idempotent; a machine with a working docker or podman needs none of it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null || [ ! -x /bin/busybox ]; then
  echo "setup-engine: installing podman, runc, debootstrap ..."
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc debootstrap busybox-static uidmap >/dev/null
fi

# A one-binary probe image: does a container start with the runtime as configured?
if ! podman image exists localhost/kaizen-probe:busybox; then
  probe="$(mktemp -d)"
  mkdir -p "$probe/bin" && cp /bin/busybox "$probe/bin/busybox"
  tar -C "$probe" -c . | podman import - localhost/kaizen-probe:busybox >/dev/null 2>&1
  rm -rf "$probe"
fi
if ! podman run --rm localhost/kaizen-probe:busybox /bin/busybox true 2>/tmp/kaizen-probe.err; then
  if grep -q rlimit /tmp/kaizen-probe.err; then
    echo "setup-engine: this kernel refuses runc's rlimits; registering the runc-no-rlimits wrapper"
    install -D -m 0755 "$here/runc-no-rlimits" /usr/local/lib/kaizen/runc-no-rlimits
    mkdir -p /etc/containers/containers.conf.d
    printf '[engine]\nruntime = "runc"\n[engine.runtimes]\nrunc = ["/usr/local/lib/kaizen/runc-no-rlimits"]\n' \
      > /etc/containers/containers.conf.d/90-kaizen-runtime.conf
    podman run --rm localhost/kaizen-probe:busybox /bin/busybox true
  else
    cat /tmp/kaizen-probe.err >&2
    exit 1
  fi
fi
echo "setup-engine: podman $(podman version --format '{{.Client.Version}}') runs containers"
