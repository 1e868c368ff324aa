#!/usr/bin/env bash
# Rebuilds the contract artifacts and Go bindings under ROOT (default: this
# folder). `make generate` writes them in place; `make check-generated`
# writes them to a scratch folder and compares with what is committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-$here}
cd "$here"
[ -d node_modules/solc ] || npm ci --no-audit --no-fund >/dev/null
node compile.js "$root/build"
# NAME or NAME:DIR (the binding's folder; default the lower-case name).
for spec in Lottery Directory Registry Curator TestToken ReentrantToken:chaintest/reentranttoken; do
  name=${spec%%:*}
  pkg=$(echo "$name" | tr 'A-Z' 'a-z')
  dir=$pkg
  [ "$spec" = "$name" ] || dir=${spec#*:}
  mkdir -p "$root/$dir"
  (cd "$here/.." && go tool abigen --v2 --abi "$root/build/$name.abi" --bin "$root/build/$name.bin" \
    --pkg "$pkg" --type "$name" --out "$root/$dir/$pkg.go")
done
