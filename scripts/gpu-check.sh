#!/usr/bin/env bash
# What a GPU machine runs from a fresh clone (about 5 minutes): which execution providers load, the WebGPU
# parity test on the GPU's own adapter, a BERT-base training step on WebGPU (and CUDA when `pnpm setup:cuda`
# installed its provider) with samples/s and device memory, in float32, in fp16 and with two data-parallel
# replicas (CUDA: on two GPUs when there are two; WebGPU: sharing the one adapter), and PyTorch's step on the
# same GPU when torch sees it. Nothing is written to the repository but node_modules, dist/ folders and .gpu-check/.
#
#   scripts/gpu-check.sh prepare   on a machine with Node >= 20.19 and the npm registry: fills .gpu-check/
#                                  (git-ignored) with this Node binary, pnpm and every package of the lockfile
#   scripts/gpu-check.sh           on the GPU machine (no Node or network needed once .gpu-check/ is there)
#
# Copy the clone with its .gpu-check/ folder to the GPU machine (same OS and CPU architecture), or instead put
# a Node tarball from nodejs.org (node-v20.*-linux-x64.tar.xz) in .gpu-check/ and let pnpm reach the registry.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT="$PWD/.gpu-check"
PNPM_VERSION=10.34.8
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
# The Vulkan loader complains without it (and Dawn then says so on every probe).
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

node_ok() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; }

prepare() {
  command -v node >/dev/null && node_ok node || { echo "prepare needs Node >= 20.19 on PATH" >&2; exit 1; }
  mkdir -p "$KIT/bin"
  cp "$(command -v node)" "$KIT/bin/node"
  (cd "$KIT" && rm -rf pnpm package && npm pack --silent "pnpm@$PNPM_VERSION" >/dev/null && tar xzf pnpm-*.tgz && mv package pnpm && rm pnpm-*.tgz)
  "$KIT/bin/node" "$KIT/pnpm/bin/pnpm.cjs" fetch --store-dir "$KIT/store"
  echo "prepared .gpu-check/ ($(du -sh "$KIT" | cut -f1)): copy it with the clone to the GPU machine and run scripts/gpu-check.sh"
}

find_node() {
  if [[ -x "$KIT/bin/node" ]] && node_ok "$KIT/bin/node"; then export PATH="$KIT/bin:$PATH"; return; fi
  if command -v node >/dev/null && node_ok node; then return; fi
  local tarball
  tarball=$(ls "$KIT"/node-v*.tar.* 2>/dev/null | head -1 || true)
  if [[ -n "$tarball" ]]; then
    mkdir -p "$KIT/node" && tar xf "$tarball" -C "$KIT/node" --strip-components=1
    export PATH="$KIT/node/bin:$PATH"
    node_ok node && return
  fi
  echo "no Node >= 20.19: run 'scripts/gpu-check.sh prepare' on a machine with Node and copy .gpu-check/ here," \
    "or put a Node tarball (node-v20.*-linux-x64.tar.xz from nodejs.org) in .gpu-check/" >&2
  exit 1
}

pnpm_cmd() {
  if [[ -f "$KIT/pnpm/bin/pnpm.cjs" ]]; then node "$KIT/pnpm/bin/pnpm.cjs" "$@"
  elif command -v pnpm >/dev/null && [[ "$(pnpm --version)" == 10.* ]]; then pnpm "$@"
  else npx --yes "pnpm@$PNPM_VERSION" "$@"; fi
}

section() { printf '\n== %s\n' "$1"; }

check() {
  find_node
  section "machine"
  echo "node $(node --version), $(uname -sm)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  section "install and build"
  if [[ -d "$KIT/store" ]]; then pnpm_cmd install --frozen-lockfile --offline --store-dir "$KIT/store"
  else pnpm_cmd install --frozen-lockfile; fi
  pnpm_cmd exec turbo run build --filter=@ortrain/trainer... --filter=@ortrain/bench... --output-logs=errors-only
  section "execution providers"
  node scripts/gpu-check.mjs eps
  section "WebGPU parity test (the GPU's own adapter)"
  if node scripts/gpu-check.mjs usable webgpu; then
    (cd packages/trainer && ORTRAIN_WEBGPU_TEST=hardware pnpm_cmd exec vitest run test/webgpu.test.ts) ||
      echo "FAILED: the WebGPU parity test"
  else
    echo "skipped: WebGPU does not load on a GPU adapter here (see above)"
  fi
  section "training step"
  node scripts/gpu-check.mjs bench
}

case "${1:-}" in
  prepare) prepare ;;
  "") check ;;
  *) echo "usage: scripts/gpu-check.sh [prepare]" >&2; exit 2 ;;
esac
