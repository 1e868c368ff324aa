package hop_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pexia-network/pexia/internal/icmperr"
	"github.com/pexia-network/pexia/internal/testutil"
)

// TestExitDropsShownAtClient: a destination blasts datagrams back at a
// flow far faster than the circuit carries them, so the exit drops most
// of them on the way back. The client's counters of the flow show the
// exit's drops within a moment, and after the blast they are exactly what
// the exit counted.
func TestExitDropsShownAtClient(t *testing.T) {
	srv := startUDPServer(t)
	c, exitStats := buildCircuit(t, 1)
	ctx := t.Context()
	conn, err := c.Dial(ctx, "udp", srv.pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, err := conn.Read(buf); err != nil && !isICMP(err) {
				return
			}
		}
	}()
	start := make([]byte, 1200)
	start[0] = 'b'
	if _, err := conn.Write(start); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the exit's drops shown at the client", 20*time.Second, func() bool {
		return flowOf(t, c, conn).PeerDroppedOut > 1000
	})
	srv.halt()
	shown := flowOf(t, c, conn)
	conn.Close()
	testutil.WaitFor(t, "the exit's flow counted", 10*time.Second, func() bool {
		return exitStats.Snapshot().DatagramsDroppedBack > 0
	})
	// What the client showed is what the exit had dropped by then: never
	// more, and all but the last quarter second's worth.
	if got := exitStats.Snapshot().DatagramsDroppedBack; shown.PeerDroppedOut > got {
		t.Fatalf("the exit dropped %d datagrams on the way back, the client showed %d", got, shown.PeerDroppedOut)
	}
	t.Logf("blasted %d, received %d at the client; dropped at the exit %d in all, %d shown at the client before the end; dropped at the client %d",
		srv.blasted.Load(), shown.Received, exitStats.Snapshot().DatagramsDroppedBack, shown.PeerDroppedOut, shown.DroppedIn)
}

func isICMP(err error) bool {
	var ie *icmperr.Error
	return errors.As(err, &ie)
}
