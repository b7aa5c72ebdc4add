#!/usr/bin/env bash
# Fetches Mesa's software Vulkan driver (llvmpipe) from Debian bookworm-backports into a
# cache folder, without installing anything system-wide, so that the `webgpu` backend
# (Dawn on Vulkan) runs on the CPU: slow, but real WebGPU, for the webgpu tests on
# machines without a GPU. Debian 12's own Mesa (22.3) lacks a Vulkan feature Dawn needs.
# Prints the ICD file to put in VK_ICD_FILENAMES; the tests find it by themselves.
#   bash scripts/software-gpu.sh          (dir: $FAKEFACE_SOFTWARE_GPU_DIR or ~/.cache/fakeface/software-gpu)
set -euo pipefail
dir=${FAKEFACE_SOFTWARE_GPU_DIR:-$HOME/.cache/fakeface/software-gpu}
icd="$dir/lvp_icd.json"
if [ -s "$icd" ]; then echo "$icd"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/debs" "$dir"
echo "deb http://deb.debian.org/debian bookworm-backports main" > "$work/sources.list"
apt_opts=(-oDir::Etc::SourceList="$work/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$work/lists" -oDir::Cache="$work/cache")
# As root, apt drops to the _apt user, who cannot write to our temp folder.
[ "$(id -u)" -eq 0 ] && apt_opts+=(-oAPT::Sandbox::User=root)
mkdir -p "$work/cache/archives/partial"
apt-get "${apt_opts[@]}" update >/dev/null
version=$(apt-cache "${apt_opts[@]}" madison mesa-vulkan-drivers | awk '/bookworm-backports/ {print $3; exit}')
[ -n "$version" ] || { echo "software-gpu: no mesa-vulkan-drivers in bookworm-backports" >&2; exit 1; }
(cd "$work/debs" && apt-get "${apt_opts[@]}" download "mesa-vulkan-drivers=$version" >/dev/null)
dpkg -x "$work"/debs/mesa-vulkan-drivers_*.deb "$dir/root"
lib="$dir/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"
[ -f "$lib" ] || { echo "software-gpu: $lib missing from the package" >&2; exit 1; }
if ldd "$lib" | grep -q 'not found'; then
  echo "software-gpu: the driver needs libraries this machine lacks: $(ldd "$lib" | grep 'not found' | awk '{print $1}' | tr '\n' ' ')" >&2
  rm -rf "$dir/root"; exit 1
fi
printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$lib" > "$icd.tmp"
mv "$icd.tmp" "$icd"
echo "$icd"
