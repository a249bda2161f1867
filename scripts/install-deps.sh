#!/usr/bin/env bash
# Installs lagrad's build dependencies from Debian 12 packages. Idempotent; silent when all
# packages are already there.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev libtbb-dev libcereal-dev libspdlog-dev doctest-dev libcli11-dev
  libyaml-cpp-dev libmsgpack-cxx-dev libzstd-dev libhdf5-dev libtinyobjloader-dev libpng-dev
  libopenmpi-dev openmpi-bin
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
