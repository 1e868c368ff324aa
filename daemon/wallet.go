package daemon

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/budget"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// payments is the client's side of the market: the funder key, its ticket
// signer, the budget engine and its ledger. The ledger and engine live as
// long as the daemon (the budget is shown while disconnected); the issuer
// needs the chain and is made on connect.
type payments struct {
	funderKey *ecdsa.PrivateKey
	signerKey *ecdsa.PrivateKey
	funder    common.Address
	signer    common.Address
	engine    *budget.Engine
	ledger    *budget.Ledger
	face      *big.Int
}

// signerFor derives the ticket signer, a hot key separate from the funder,
// from the funder key, so that the same lottery account is used run after
// run without storing a second secret.
func signerFor(funder *ecdsa.PrivateKey) (*ecdsa.PrivateKey, error) {
	return crypto.ToECDSA(crypto.Keccak256(crypto.FromECDSA(funder), []byte("pexia ticket signer")))
}

func openPayments(funderKey *ecdsa.PrivateKey, face, monthly *big.Int, stateDir string) (*payments, error) {
	signerKey, err := signerFor(funderKey)
	if err != nil {
		return nil, err
	}
	p := &payments{
		funderKey: funderKey,
		signerKey: signerKey,
		funder:    crypto.PubkeyToAddress(funderKey.PublicKey),
		signer:    crypto.PubkeyToAddress(signerKey.PublicKey),
		face:      face,
	}
	if p.ledger, err = budget.OpenLedger(filepath.Join(stateDir, "ledger.db")); err != nil {
		return nil, err
	}
	// The client refuses nodes whose claim cost is above
	// face/payhop.MaxClaimShare, so that is the most a claim costs.
	claimCost := new(big.Int).Quo(face, big.NewInt(payhop.MaxClaimShare))
	p.engine, err = budget.New(budget.Config{Budget: monthly, ClaimCost: claimCost, Ledger: p.ledger})
	if err != nil {
		p.ledger.Close()
		return nil, err
	}
	return p, nil
}

// fund makes sure the lottery account of the signer holds enough to pay
// with, depositing 100 faces (and 4 of escrow) from the funder when less
// than 50 are left.
func (p *payments) fund(ctx context.Context, cl *chain.Client, logf func(string, ...any)) error {
	acct, _, err := cl.Account(ctx, common.Address{}, p.funder, p.signer)
	if err != nil {
		return fmt.Errorf("lottery account: %w", err)
	}
	// Top up below 50 faces of balance, to 100: not at every connect.
	want := new(big.Int).Mul(p.face, big.NewInt(100))
	if b, _ := acct.Usable(); b.Cmp(new(big.Int).Quo(want, big.NewInt(2))) >= 0 {
		return nil
	}
	escrow := new(big.Int).Mul(p.face, big.NewInt(4))
	if _, err := cl.Deposit(ctx, p.funderKey, common.Address{}, p.signer, new(big.Int).Add(want, escrow), escrow); err != nil {
		return fmt.Errorf("fund lottery account: %w", err)
	}
	logf("deposited %v (escrow %v) for ticket signer %s", want, escrow, p.signer)
	return nil
}

// payer returns the circuit payer for profile app; it refuses nodes whose
// terms fail check.
func (p *payments) payer(n *contracts.Network, cl *chain.Client, app string, onIssue func(*contracts.Signed, int, common.Address), check *payhop.TermsCheck) hop.Payer {
	issuer := ticket.NewIssuer(ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery}, p.funder, p.signerKey, ticket.ChainAccounts{Client: cl})
	return payhop.Payer(issuer, payhop.ClientTerms{Face: p.face, WindowBytes: 2 << 20, Budget: p.engine, App: app,
		Expire: time.Hour, OnIssue: onIssue, Check: check})
}

func (p *payments) close() error {
	p.engine.Flush()
	return p.ledger.Close()
}
