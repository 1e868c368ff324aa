// Package ticket moves lottery tickets between a paying client and a paid
// node, on top of the Lottery's encoding in package contracts.
//
// Client side: an Issuer signs tickets for a recipient's commitment and never
// signs one its account cannot honour (face value within the escrow rule,
// wallet.Account.MaxFace); nonces are strictly increasing per signer.
//
// Node side: a Receiver verifies each ticket (signature and expected signer,
// recipient, token and commitment, expiry with room left to claim, nonce above
// every nonce seen from that signer, face value within what the funder's
// on-chain account can honour), credits its expected value minus the expected
// claim cost, detects winners and stores them durably (fsync) before it
// returns, which is when the caller acknowledges the ticket. A Redeemer claims
// stored winners on chain in batches when their value exceeds the gas, and
// retries through outages until they expire.
//
// A Meter keeps per-client credit: bytes carried at a price per byte against
// expected value paid, with a small prepaid window; a client behind by more
// than the window is throttled, and dropped past the debt limit.
package ticket
