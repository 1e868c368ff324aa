package hop_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// childEnv makes the test binary run a node instead of the tests (see
// TestMain): the node prints its HopInfo as JSON, registers the HopInfos
// it reads from stdin (the nodes it may extend to), and serves until
// killed.
const childEnv = "PEXIA_HOP_TEST_NODE"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		n, err := hoptest.Start(role == "exit", relay.NodeConfig{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(n.Info)
		for dec := json.NewDecoder(os.Stdin); ; {
			var info hop.HopInfo
			if err := dec.Decode(&info); err != nil {
				select {}
			}
			hoptest.Register(info)
		}
	}
	testutil.VerifyTestMain(m)
}

// startChildNode runs a relay in a separate process, so that it can vanish
// the hard way: SIGKILL, no goodbye on any link. The relay may extend to
// next; the nodes of this process may extend to it.
func startChildNode(t *testing.T, next ...hop.HopInfo) (hop.HopInfo, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=relay")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var info hop.HopInfo
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&info); err != nil {
		t.Fatalf("child node: %v", err)
	}
	enc := json.NewEncoder(in)
	for _, h := range next {
		if err := enc.Encode(h); err != nil {
			t.Fatalf("child node: %v", err)
		}
	}
	hoptest.Register(info)
	return info, cmd
}

// TestMiddleRelayVanishes: the middle relay of a 3-hop circuit is SIGKILLed
// mid-transfer, so nobody hears a goodbye and only the links' liveness
// checks can notice. The stream on the dead circuit gets an error, not a
// hang, and a new stream rides a rebuilt circuit within 3 s of the kill.
func TestMiddleRelayVanishes(t *testing.T) {
	dst := testutil.Transfer(t, "127.0.0.1:0").Addr
	entry, spare, exit := startNode(t, false, relay.NodeConfig{}), startNode(t, false, relay.NodeConfig{}), startNode(t, true, relay.NodeConfig{})
	doomed, proc := startChildNode(t, exit.Info)

	var killed atomic.Bool
	sel := func(ctx context.Context, p hop.Profile) ([]hop.HopInfo, error) {
		middle := doomed
		if killed.Load() {
			middle = spare.Info
		}
		return []hop.HopInfo{entry.Info, middle, exit.Info}, nil
	}
	pool := hop.NewPool(sel, hop.BuildConfig{}, t.Logf)
	defer pool.Close()
	prof := hop.Profile{Name: "default", Hops: 3}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	conn, err := pool.Dial(ctx, prof, "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "%d\n", int64(1)<<40)
	go io.Copy(conn, testutil.Pattern(1))
	readErr := make(chan error, 1)
	var got atomic.Int64
	go func() {
		n, err := io.Copy(io.Discard, conn)
		got.Store(n)
		readErr <- err
	}()
	time.Sleep(500 * time.Millisecond)

	killed.Store(true)
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()

	// New streams go to a new circuit within 3 s.
	var working time.Duration
	for {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		conn2, err := pool.Dial(dctx, prof, "tcp", dst)
		if err == nil {
			err = func() error {
				defer conn2.Close()
				conn2.SetDeadline(time.Now().Add(time.Second))
				fmt.Fprintf(conn2, "%d\n", 1000)
				io.CopyN(conn2, testutil.Pattern(1001), 1000)
				buf := make([]byte, 32+1000)
				_, err := io.ReadFull(conn2, buf)
				return err
			}()
		}
		dcancel()
		if err == nil {
			working = time.Since(t0)
			break
		}
		if time.Since(t0) > 10*time.Second {
			t.Fatalf("no working circuit %v after the kill: %v", time.Since(t0), err)
		}
		if !errors.Is(err, hop.ErrCircuitClosed) {
			t.Logf("dial %v after the kill: %v", time.Since(t0).Round(time.Millisecond), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("new stream working %v after the kill", working.Round(time.Millisecond))

	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("stream on the dead circuit ended cleanly")
		}
		t.Logf("stream on the dead circuit failed after %v (%d bytes): %v", time.Since(t0).Round(time.Millisecond), got.Load(), err)
	case <-time.After(10 * time.Second):
		t.Fatal("stream on the dead circuit hung")
	}
	if working > 3*time.Second {
		t.Fatalf("new streams worked only %v after the kill (want ≤ 3 s)", working)
	}
}
