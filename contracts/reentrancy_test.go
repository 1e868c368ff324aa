package contracts_test

import (
	"bytes"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/chaintest/reentranttoken"
	"github.com/pexia-network/pexia/contracts/lottery"
)

// hookToken is a ReentrantToken deployed by key 0, its owner. The token
// contract itself plays the attacking funder (or recipient) through exec.
type hookToken struct {
	c    *chain
	addr common.Address
	tok  *reentranttoken.ReentrantToken
}

func deployHookToken(c *chain) *hookToken {
	c.T.Helper()
	addr, tx, err := bind.DeployContract(c.Opts(0), common.FromHex(reentranttoken.ReentrantTokenMetaData.Bin), c.Client, nil)
	if err != nil {
		c.T.Fatal(err)
	}
	c.Sim.Commit()
	if _, err := contracts.WaitOK(c.Ctx, c.Client, tx); err != nil {
		c.T.Fatal(err)
	}
	h := &hookToken{c: c, addr: addr, tok: reentranttoken.NewReentrantToken()}
	// The token, as an account, lets the lottery pull its own tokens.
	h.exec(addr, h.tok.PackApprove(c.Addrs.Lottery, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))))
	return h
}

func (h *hookToken) exec(target common.Address, data []byte) {
	h.c.T.Helper()
	h.c.Tx(0, h.addr, h.tok.PackExec(target, data), nil)
}

func (h *hookToken) balance(a common.Address) *big.Int {
	h.c.T.Helper()
	v, err := h.tok.UnpackBalanceOf(h.c.Call(h.addr, h.tok.PackBalanceOf(a)))
	if err != nil {
		h.c.T.Fatal(err)
	}
	return v
}

// lotteryAccount is the account of funder for signer in the hook token.
func (h *hookToken) lotteryAccount(funder, signer common.Address) acct {
	h.c.T.Helper()
	out, err := h.c.Lot.UnpackAccount(h.c.Call(h.c.Addrs.Lottery, h.c.Lot.PackAccount(h.addr, funder, signer)))
	if err != nil {
		h.c.T.Fatal(err)
	}
	return acct{out.Balance, out.Escrow, out.Warned}
}

// hookResult reports whether the armed hook's call succeeded, and its
// revert data.
func (h *hookToken) hookResult() (bool, []byte) {
	h.c.T.Helper()
	ok, err := h.tok.UnpackHookOK(h.c.Call(h.addr, h.tok.PackHookOK()))
	if err != nil {
		h.c.T.Fatal(err)
	}
	data, err := h.tok.UnpackHookError(h.c.Call(h.addr, h.tok.PackHookError()))
	if err != nil {
		h.c.T.Fatal(err)
	}
	return ok, data
}

// TestDepositTokenReentrancy: a token whose transferFrom calls back into the
// lottery (an ERC777-style sender hook) must not get one deposit counted
// twice. Without a guard, depositToken credits the balance difference
// around its transferFrom, so a deposit made from inside that transferFrom
// is credited by the inner call and again by the outer one, and the funder
// can then withdraw other funders' tokens.
func TestDepositTokenReentrancy(t *testing.T) {
	c := newChain(t)
	h := deployHookToken(c)
	honestSigner := crypto.PubkeyToAddress(signerKey(t).PublicKey)
	evilSigner := common.HexToAddress("0x5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e")
	thief := c.Addr(other)

	// An honest funder deposits 100 of the token.
	c.Tx(0, h.addr, h.tok.PackMint(c.Addr(funder), contracts.Ether(100)), nil)
	c.Tx(funder, h.addr, h.tok.PackApprove(c.Addrs.Lottery, contracts.Ether(100)), nil)
	c.Tx(funder, c.Addrs.Lottery, c.Lot.PackDepositToken(h.addr, honestSigner, contracts.Ether(100), big.NewInt(0)), nil)

	// The attacker sends 20: 10 in the outer deposit, 10 in the one its
	// transfer hook makes from inside it.
	c.Tx(0, h.addr, h.tok.PackMint(h.addr, contracts.Ether(20)), nil)
	inner := c.Lot.PackDepositToken(h.addr, evilSigner, contracts.Ether(10), big.NewInt(0))
	c.Tx(0, h.addr, h.tok.PackArm(c.Addrs.Lottery, inner), nil)
	h.exec(c.Addrs.Lottery, c.Lot.PackDepositToken(h.addr, evilSigner, contracts.Ether(10), big.NewInt(0)))

	sent := new(big.Int).Sub(contracts.Ether(20), h.balance(h.addr))
	evil := h.lotteryAccount(h.addr, evilSigner)
	held := h.balance(c.Addrs.Lottery)
	owed := new(big.Int).Add(h.lotteryAccount(c.Addr(funder), honestSigner).balance, evil.balance)
	t.Logf("attacker sent %v, credited %v; lottery holds %v, owes %v", sent, evil.balance, held, owed)
	if evil.balance.Cmp(sent) > 0 {
		t.Errorf("attacker credited %v for %v tokens sent", evil.balance, sent)
	}
	if held.Cmp(owed) < 0 {
		t.Errorf("lottery holds %v tokens but its accounts owe %v", held, owed)
	}
	ok, why := h.hookResult()
	if ok {
		t.Errorf("the re-entering deposit succeeded")
	} else if !bytes.HasPrefix(why, lottery.LotteryReentrancyErrorID().Bytes()[:4]) {
		t.Errorf("the re-entering deposit failed with %x, want Reentrancy()", why)
	}

	// The attacker tries to take out what it was credited, and the honest
	// funder's deposit must stay whole.
	h.exec(c.Addrs.Lottery, c.Lot.PackWarn(h.addr, evilSigner, evil.balance))
	c.AdjustTime(25 * time.Hour)
	h.exec(c.Addrs.Lottery, c.Lot.PackWithdraw(h.addr, evilSigner, evil.balance, thief))
	if got := h.balance(thief); got.Cmp(sent) > 0 {
		t.Errorf("attacker withdrew %v after sending %v", got, sent)
	}
	if got := h.balance(c.Addrs.Lottery); got.Cmp(contracts.Ether(100)) < 0 {
		t.Errorf("lottery holds %v after the attack, less than the honest deposit of 100 tokens", got)
	}
}

// TestPayoutReentrancy: withdraw and collect pay out through the token
// (or to a contract for coin); a payee that re-enters the same call from
// its hook must not be paid twice. Both follow checks-effects-interactions
// and the guard refuses the inner call outright.
func TestPayoutReentrancy(t *testing.T) {
	for _, name := range []string{"withdraw", "collect"} {
		t.Run(name, func(t *testing.T) {
			c := newChain(t)
			h := deployHookToken(c)
			thief := c.Addr(other)
			// An honest funder's deposit the attacker would like to drain.
			honestSigner := crypto.PubkeyToAddress(signerKey(t).PublicKey)
			c.Tx(0, h.addr, h.tok.PackMint(c.Addr(funder), contracts.Ether(100)), nil)
			c.Tx(funder, h.addr, h.tok.PackApprove(c.Addrs.Lottery, contracts.Ether(100)), nil)
			c.Tx(funder, c.Addrs.Lottery, c.Lot.PackDepositToken(h.addr, honestSigner, contracts.Ether(100), big.NewInt(0)), nil)

			var call []byte
			switch name {
			case "withdraw":
				// The attacker deposits 10 and may withdraw 10.
				evilSigner := common.HexToAddress("0x5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e")
				c.Tx(0, h.addr, h.tok.PackMint(h.addr, contracts.Ether(10)), nil)
				h.exec(c.Addrs.Lottery, c.Lot.PackDepositToken(h.addr, evilSigner, contracts.Ether(10), big.NewInt(0)))
				h.exec(c.Addrs.Lottery, c.Lot.PackWarn(h.addr, evilSigner, contracts.Ether(10)))
				c.AdjustTime(25 * time.Hour)
				call = c.Lot.PackWithdraw(h.addr, evilSigner, contracts.Ether(10), thief)
			case "collect":
				// The attacker is a recipient that won 10 from the honest funder.
				reveal := common.HexToHash("0x77")
				s, err := contracts.Sign(contracts.Ticket{Token: h.addr, Recipient: h.addr, Commit: contracts.Commit(reveal), Issued: c.Now(),
					Nonce: 1, FaceValue: contracts.Ether(10), Expire: 3600, Ratio: math.MaxUint64, Funder: c.Addr(funder)},
					c.ChainID, c.Addrs.Lottery, signerKey(t))
				if err != nil {
					t.Fatal(err)
				}
				lt, err := s.Claim(reveal)
				if err != nil {
					t.Fatal(err)
				}
				h.exec(c.Addrs.Lottery, c.Lot.PackClaim(h.addr, []lottery.LotteryTicket{lt}))
				call = c.Lot.PackCollect(h.addr, contracts.Ether(10), thief)
			}
			c.Tx(0, h.addr, h.tok.PackArm(c.Addrs.Lottery, call), nil)
			h.exec(c.Addrs.Lottery, call)
			if got := h.balance(thief); got.Cmp(contracts.Ether(10)) != 0 {
				t.Errorf("attacker got %v, want exactly the 10 it was owed", got)
			}
			if ok, _ := h.hookResult(); ok {
				t.Errorf("the re-entering %s succeeded", name)
			}
			if got := h.balance(c.Addrs.Lottery); got.Cmp(contracts.Ether(90)) < 0 && name == "collect" || got.Cmp(contracts.Ether(100)) < 0 && name == "withdraw" {
				t.Errorf("lottery holds %v after the attack", got)
			}
		})
	}
}
