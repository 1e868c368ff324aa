package main

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/wallet"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// cachedAccounts serves one account from memory, as the chain client's
// event-fed cache does on the hot path.
type cachedAccounts struct{ a wallet.Account }

func (c cachedAccounts) Account(context.Context, common.Address, common.Address, common.Address) (wallet.Account, error) {
	return c.a, nil
}

// ticketSuite measures ticket signing and verification on one goroutine
// (one core): a node's Receiver.Accept does signature recovery, commitment,
// expiry, replay and funding checks and the credit computation; losing
// tickets only, since winners wait on an fsync.
func ticketSuite(res Results) error {
	ctx := context.Background()
	key, _ := crypto.HexToECDSA("4444444444444444444444444444444444444444444444444444444444444444")
	lot := ticket.Lottery{ChainID: big.NewInt(1337), Address: common.HexToAddress("0x1077")}
	funder := common.HexToAddress("0xf00d")
	acct := cachedAccounts{wallet.Account{Funder: funder, Signer: crypto.PubkeyToAddress(key.PublicKey),
		Balance: contracts.Ether(1000), Escrow: contracts.Ether(1000), Warned: new(big.Int)}}
	issuer := ticket.NewIssuer(lot, funder, key, acct)

	dir, err := os.MkdirTemp("", "pexia-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := ticket.OpenStore(filepath.Join(dir, "t.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	node := common.HexToAddress("0x40de")
	recv, err := ticket.NewReceiver(ticket.ReceiverConfig{Lottery: lot, Recipient: node, Accounts: acct, Store: store})
	if err != nil {
		return err
	}
	commit := recv.Commit()
	face := big.NewInt(1e16)

	const n = 20000
	signed := make([]*contracts.Signed, n)
	start := time.Now()
	for i := range signed {
		// Ratio 0: a ticket wins only if its draw is exactly 0 (never, in practice).
		if signed[i], err = issuer.Issue(ctx, node, commit, face, 0, time.Hour); err != nil {
			return err
		}
	}
	res.set("tickets.issue_per_s_core", n/time.Since(start).Seconds(), "tickets/s")

	start = time.Now()
	for _, s := range signed {
		if _, err := recv.Accept(ctx, issuer.Signer(), s); err != nil {
			return err
		}
	}
	res.set("tickets.verify_per_s_core", n/time.Since(start).Seconds(), "tickets/s")
	return nil
}
