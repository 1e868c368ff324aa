package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/hopacct"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// setupPayments pays each of the circuit's hops from its own lottery
// account, derived from the funder key exactly as pexiad derives them
// (wallet/hopacct): it funds the current epoch's accounts of the first hops
// positions, records them in the book at bookPath (so their money stays in
// sight after the rotation) and returns a payer issuing each hop's tickets
// from its account.
func setupPayments(ctx context.Context, cl *chain.Client, n *contracts.Network, master *ecdsa.PrivateKey, faceStr string, hops int, bookPath string, check *payhop.TermsCheck) (hop.Payer, error) {
	faceUnits, err := contracts.ParseAmount(faceStr)
	if err != nil {
		return nil, fmt.Errorf("-face: %w", err)
	}
	if faceUnits.Sign() == 0 {
		return nil, fmt.Errorf("-face must be positive")
	}
	if err := os.MkdirAll(filepath.Dir(bookPath), 0o700); err != nil {
		return nil, err
	}
	book, err := hopacct.OpenBook(bookPath)
	if err != nil {
		return nil, err
	}
	var sched hopacct.Schedule
	epoch := sched.Epoch(time.Now())
	lot := ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery}
	var issuers []*ticket.Issuer
	for pos := range min(hops, hopacct.MaxPositions) {
		k, err := hopacct.Derive(master, pos, epoch)
		if err != nil {
			return nil, err
		}
		f, err := book.Fund(ctx, cl, master, k, hopacct.Policy{Face: faceUnits}, time.Now())
		if err != nil {
			return nil, err
		}
		if f.Transferred != nil {
			fmt.Printf("sent %s tokens to hop %d funder %s\n", amountString(f.Transferred), pos, k.Funder)
		}
		if f.Deposited != nil {
			fmt.Printf("deposited %s tokens (escrow %s) from hop %d funder %s for ticket signer %s\n",
				amountString(f.Deposited), amountString(f.Escrow), pos, k.Funder, k.Signer)
		}
		issuers = append(issuers, ticket.NewIssuer(lot, k.Funder, k.SignerKey, ticket.ChainAccounts{Client: cl}))
	}
	fmt.Printf("hop accounts of epoch %d (rotating %s) recorded in %s\n", epoch, sched.End(epoch).UTC().Format(time.RFC3339), bookPath)
	return payhop.PerHop(func(k int) (*ticket.Issuer, error) {
		if k >= len(issuers) {
			return nil, fmt.Errorf("no account for hop %d", k)
		}
		return issuers[k], nil
	}, payhop.ClientTerms{Face: faceUnits, WindowBytes: payhop.DefaultWindow, Check: check}), nil
}

// fetchTermsCheck holds the hops' announced terms to the registry entries
// the circuit was picked from and to the chain's recent gas price (the
// same bound pexiad uses, payhop.GasBound): a node asking for more is
// refused (the error names it and the term) before anything is paid.
func fetchTermsCheck(ctx context.Context, cl *chain.Client, nodes []dir.Node) (*payhop.TermsCheck, error) {
	g, err := payhop.NewGasBound(ctx, cl, nil)
	if err != nil {
		return nil, err
	}
	entries := map[common.Address]dir.Node{}
	for _, nd := range nodes {
		entries[nd.Address] = nd
	}
	return &payhop.TermsCheck{
		Registry: func(a common.Address) (dir.Node, bool) {
			nd, ok := entries[a]
			return nd, ok
		},
		MaxClaimCost: g.Limit,
	}, nil
}

// defaultBook is where pexia fetch records the hop accounts it funds.
func defaultBook() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "pexia", "hop-accounts.json")
}

func amountString(x *big.Int) string {
	s, _ := newRat(x.String())
	return s
}
