//go:build linux

package ticket

import (
	"context"
	"errors"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/contracts"
)

// TestWinnerOnFullDisk: the node's store sits on a small filesystem that
// fills up. A winning ticket that cannot be written is refused (not
// acknowledged) with the disk's error, and the same ticket is accepted once
// there is room again: nothing is lost, and the winner survives a reopen.
func TestWinnerOnFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })

	f := newFixture(t, contracts.Ether(10), contracts.Ether(10))
	path := filepath.Join(dir, "tickets.db")
	store, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.recv.cfg
	cfg.Store = store
	recv, err := NewReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	node := f.c.Addr(nodeIdx)
	face := big.NewInt(1e16)
	winning := func() *contracts.Signed {
		s, err := f.issuer.Issue(ctx, node, recv.Commit(), face, math.MaxUint64, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// One winner while there is room.
	if rc, err := recv.Accept(ctx, f.issuer.Signer(), winning()); err != nil || !rc.Win {
		t.Fatalf("first winner: %+v, %v", rc, err)
	}

	// Fill the filesystem.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	filler.Close()

	s := winning()
	_, err = recv.Accept(ctx, f.issuer.Signer(), s)
	if err == nil {
		t.Fatal("a winner was acknowledged on a full disk")
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("refused with %v, want the disk's ENOSPC", err)
	}
	t.Logf("full disk: %v", err)

	// Room again: the very same ticket is accepted (its nonce was not
	// used up by the failed attempt).
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	rc, err := recv.Accept(ctx, f.issuer.Signer(), s)
	if err != nil || !rc.Win {
		t.Fatalf("the refused winner, resent with room: %+v, %v", rc, err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	store, err = OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pending := WinnerPending
	ws, err := store.Winners(&pending)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 {
		t.Fatalf("%d winners after reopen, want 2", len(ws))
	}
}
