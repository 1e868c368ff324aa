package contracts

import "github.com/ethereum/go-ethereum/params"

// DevChainConfig is the fork configuration of Pexia's local chains (the
// devnet and the in-process test chain): every fork live on Ethereum mainnet
// (up to Osaka) from genesis, with chain ID 1337. go-ethereum's own dev
// config also switches on unreleased forks whose gas schedule (state-gas
// metering, EIP-8037/8038) no production chain runs; gas measured under it
// would not predict what nodes pay.
func DevChainConfig() *params.ChainConfig {
	c := *params.AllDevChainProtocolChanges
	c.BogotaTime = nil
	c.AmsterdamTime = nil
	c.UBTTime = nil
	return &c
}
