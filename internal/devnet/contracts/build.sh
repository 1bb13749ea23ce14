#!/usr/bin/env bash
# Recompiles TestToken.sol into TestToken.abi and TestToken.bin with solc-js 0.8.37 from the npm
# registry (no compiler download). Run it after changing the contract and commit the outputs.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --silent --prefix "$tmp" solc@0.8.37 >/dev/null
node "$tmp/node_modules/solc/solc.js" --optimize --abi --bin -o "$tmp/out" TestToken.sol
cp "$tmp/out/TestToken_sol_TestToken.abi" TestToken.abi
cp "$tmp/out/TestToken_sol_TestToken.bin" TestToken.bin
echo "wrote TestToken.abi and TestToken.bin"
