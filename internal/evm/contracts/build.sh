#!/usr/bin/env bash
# Recompiles Sweeper.sol into Sweeper.abi and Sweeper.bin with solc-js 0.8.37 from the npm registry
# (no compiler download), for the Cancun EVM that every chain of the registry runs. Run it after
# changing the contract and commit the outputs.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --silent --prefix "$tmp" solc@0.8.37 >/dev/null
NODE_PATH="$tmp/node_modules" node - <<'JS'
const fs = require('fs');
const solc = require('solc');
const input = {
  language: 'Solidity',
  sources: { 'Sweeper.sol': { content: fs.readFileSync('Sweeper.sol', 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 1000000 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of out.errors || []) {
  console.error(e.formattedMessage);
  if (e.severity === 'error') process.exit(1);
}
const c = out.contracts['Sweeper.sol'].Sweeper;
fs.writeFileSync('Sweeper.abi', JSON.stringify(c.abi));
fs.writeFileSync('Sweeper.bin', c.evm.bytecode.object);
JS
echo "wrote Sweeper.abi and Sweeper.bin"
