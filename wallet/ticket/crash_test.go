package ticket_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/devnet"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// The node half of TestWinnerSurvivesSIGKILL, run in a child process: it
// prints its commitment, reads one ticket from stdin, accepts it, prints
// ACK and waits to be killed.
func TestHelperNodeProcess(t *testing.T) {
	netFile := os.Getenv("PEXIA_TEST_NODE_NETWORK")
	if netFile == "" {
		t.Skip("helper process for TestWinnerSurvivesSIGKILL")
	}
	fail := func(err error) {
		fmt.Printf("ERR %v\n", err)
		os.Exit(3)
	}
	ctx := context.Background()
	n, err := contracts.LoadNetwork(netFile)
	if err != nil {
		fail(err)
	}
	cl, err := chain.Dial(ctx, n, chain.Options{})
	if err != nil {
		fail(err)
	}
	store, err := ticket.OpenStore(os.Getenv("PEXIA_TEST_NODE_STORE"))
	if err != nil {
		fail(err)
	}
	nk, _ := n.Key("node0")
	recv, err := ticket.NewReceiver(ticket.ReceiverConfig{
		Lottery:   ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery},
		Recipient: nk.Address, Accounts: ticket.ChainAccounts{Client: cl}, Store: store,
	})
	if err != nil {
		fail(err)
	}
	fmt.Printf("COMMIT %s\n", recv.Commit().Hex())
	var in struct {
		Signer common.Address
		Ticket contracts.Signed
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail(err)
	}
	rc, err := recv.Accept(ctx, in.Signer, &in.Ticket)
	if err != nil {
		fail(err)
	}
	fmt.Printf("ACK win=%v\n", rc.Win)
	time.Sleep(time.Minute) // the parent kills us here
	os.Exit(4)
}

// TestWinnerSurvivesSIGKILL: a node process acknowledges a winning ticket
// and is killed with SIGKILL at once; a new process on the same store
// redeems the winner on a real chain served over JSON-RPC.
func TestWinnerSurvivesSIGKILL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	dn, err := devnet.Start(ctx, devnet.Config{DataDir: filepath.Join(dir, "chain"), BlockPeriod: devnet.MineOnTransaction})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	n := dn.Network()
	cl, err := chain.Dial(ctx, n, chain.Options{ReceiptPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// The client funds a ticket account.
	funderKey, _ := devnet.Key("client0")
	signerKey, _ := crypto.GenerateKey()
	signer := crypto.PubkeyToAddress(signerKey.PublicKey)
	if _, err := cl.Deposit(ctx, funderKey, common.Address{}, signer, contracts.Ether(10), contracts.Ether(5)); err != nil {
		t.Fatal(err)
	}

	// The node process.
	storePath := filepath.Join(dir, "node.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNodeProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "PEXIA_TEST_NODE_NETWORK="+dn.NetworkFile(), "PEXIA_TEST_NODE_STORE="+storePath)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	next := func(prefix string) string {
		for lines.Scan() {
			l := lines.Text()
			if strings.HasPrefix(l, "ERR ") {
				t.Fatalf("node process: %s", l)
			}
			if strings.HasPrefix(l, prefix) {
				return strings.TrimPrefix(l, prefix)
			}
		}
		t.Fatalf("node process ended before %q: %v", prefix, lines.Err())
		return ""
	}
	commit := common.HexToHash(next("COMMIT "))

	nk, _ := n.Key("node0")
	lot := ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery}
	issuer := ticket.NewIssuer(lot, crypto.PubkeyToAddress(funderKey.PublicKey), signerKey, ticket.ChainAccounts{Client: cl})
	face := contracts.Ether(1)
	s, err := issuer.Issue(ctx, nk.Address, commit, face, math.MaxUint64, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(stdin).Encode(map[string]any{"Signer": signer, "Ticket": s}); err != nil {
		t.Fatal(err)
	}
	if ack := next("ACK "); ack != "win=true" {
		t.Fatalf("node acknowledged %q, want a win", ack)
	}
	// Killed right after the acknowledgement.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	// A new node process (here: this one) opens the same store and redeems.
	store, err := ticket.OpenStore(storePath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	nodeKey, _ := devnet.Key("node0")
	red := ticket.NewRedeemer(ticket.RedeemerConfig{
		Store: store, Claimer: ticket.ChainClaimer{Client: cl, Key: nodeKey},
		Now: func() time.Time { return time.Now().Add(time.Minute) }, // past the reveal's grace period
	})
	paid, err := red.RedeemOnce(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if paid.Cmp(face) != 0 {
		t.Fatalf("redeemed %v after restart, want %v", paid, face)
	}
	earned, err := cl.Earnings(ctx, common.Address{}, nk.Address)
	if err != nil || earned.Cmp(face) != 0 {
		t.Fatalf("node earnings on chain %v (%v), want %v", earned, err, face)
	}
}
