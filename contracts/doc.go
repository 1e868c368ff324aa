// Package contracts holds Pexia's on-chain half: the Solidity sources in
// src/, their compiled artifacts in build/, one generated binding package per
// contract (lottery, directory, registry, curator, testtoken), and the Go code
// every other package uses to talk to them: the ticket encoding the Lottery
// verifies, deployment of a full set of contracts, and the network file that
// names a chain and its contract addresses.
//
// Regenerate artifacts and bindings with `make generate`; `make test` fails
// when the committed ones differ from what the sources compile to.
package contracts
