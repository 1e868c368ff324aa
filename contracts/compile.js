// Compiles src/*.sol and the test-only src/test/*.sol with the pinned solc-js
// into <out>/<Name>.abi and .bin.
// Usage: node compile.js <out-dir>
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const CONTRACTS = ['Lottery', 'Directory', 'Registry', 'Curator', 'TestToken'];
// Contracts that only tests deploy (src/test/).
const TEST_CONTRACTS = ['ReentrantToken'];
const out = process.argv[2];
if (!out) {
  console.error('usage: node compile.js <out-dir>');
  process.exit(2);
}
const src = path.join(__dirname, 'src');
const sources = {};
for (const f of fs.readdirSync(src).sort()) {
  if (f.endsWith('.sol')) sources[f] = { content: fs.readFileSync(path.join(src, f), 'utf8') };
}
for (const f of fs.readdirSync(path.join(src, 'test')).sort()) {
  if (f.endsWith('.sol')) sources['test/' + f] = { content: fs.readFileSync(path.join(src, 'test', f), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 1000000 },
    viaIR: false,
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of output.errors || []) {
  console.error(e.formattedMessage);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);
fs.mkdirSync(out, { recursive: true });
for (const name of CONTRACTS.concat(TEST_CONTRACTS)) {
  const file = (TEST_CONTRACTS.includes(name) ? 'test/' : '') + name + '.sol';
  const c = output.contracts[file][name];
  fs.writeFileSync(path.join(out, name + '.abi'), JSON.stringify(c.abi, null, 1) + '\n');
  fs.writeFileSync(path.join(out, name + '.bin'), c.evm.bytecode.object + '\n');
}
console.error('solc ' + solc.version() + ': compiled ' + CONTRACTS.concat(TEST_CONTRACTS).join(', '));
