package main

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// setupPayments makes sure the funder's lottery account for its ticket
// signer holds enough to pay with, and returns a payer issuing tickets.
func setupPayments(ctx context.Context, cl *chain.Client, n *contracts.Network, keySpec, faceStr string) (hop.Payer, error) {
	funder, err := contracts.ParseKey(n, keySpec)
	if err != nil {
		return nil, err
	}
	faceUnits, err := contracts.ParseAmount(faceStr)
	if err != nil {
		return nil, fmt.Errorf("-face: %w", err)
	}
	if faceUnits.Sign() == 0 {
		return nil, fmt.Errorf("-face must be positive")
	}
	// The ticket signer is a separate hot key, derived from the funder key
	// so the same lottery account is used run after run.
	signerKey, err := crypto.ToECDSA(crypto.Keccak256(crypto.FromECDSA(funder), []byte("pexia ticket signer")))
	if err != nil {
		return nil, err
	}
	signer := crypto.PubkeyToAddress(signerKey.PublicKey)
	funderAddr := crypto.PubkeyToAddress(funder.PublicKey)
	acct, _, err := cl.Account(ctx, common.Address{}, funderAddr, signer)
	if err != nil {
		return nil, err
	}
	// Keep at least 100 faces of balance and 2 faces of escrow per ticket.
	want := new(big.Int).Mul(faceUnits, big.NewInt(100))
	if b, _ := acct.Usable(); b.Cmp(want) < 0 {
		escrow := new(big.Int).Mul(faceUnits, big.NewInt(4))
		if _, err := cl.Deposit(ctx, funder, common.Address{}, signer, new(big.Int).Add(want, escrow), escrow); err != nil {
			return nil, fmt.Errorf("fund lottery account: %w", err)
		}
		fmt.Printf("deposited %s tokens (escrow %s) for ticket signer %s\n", amountString(want), amountString(escrow), signer)
	}
	issuer := ticket.NewIssuer(ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery}, funderAddr, signerKey, ticket.ChainAccounts{Client: cl})
	return payhop.Payer(issuer, payhop.ClientTerms{Face: faceUnits, WindowBytes: 2 << 20}), nil
}

func amountString(x *big.Int) string {
	s, _ := newRat(x.String())
	return s
}
