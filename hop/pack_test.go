package hop_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/internal/testutil"
)

// TestPackedDatagramsNegotiated: through real relays, a client asks its
// exit for packed datagram cells and gets them; a client that does not ask
// (as one that predates packing) gets a cell per datagram from the exit.
// Either way a burst of 1,200-byte datagrams to a real UDP echo server
// comes back whole, and every datagram is accounted for as received or
// dropped.
func TestPackedDatagramsNegotiated(t *testing.T) {
	for _, hops := range []int{1, 3} {
		_, infos := hoptest.StartCircuit(t, hops)
		echo := testutil.EchoUDP(t, "127.0.0.1:0")
		for _, pack := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d hops, packing %v", hops, pack), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				defer cancel()
				c := hoptest.Build(t, ctx, infos, hop.BuildConfig{NoDatagramPacking: !pack})
				if got := c.Stats().PackedDatagrams; got != pack {
					t.Fatalf("packed datagrams %v, want %v", got, pack)
				}
				conn, err := c.Dial(ctx, "udp", echo.Addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				before := c.Stats()
				const n = 90
				for i := range n {
					d := bytes.Repeat([]byte{byte(i)}, 1200)
					binary.BigEndian.PutUint32(d, uint32(i))
					if _, err := conn.Write(d); err != nil {
						t.Fatal(err)
					}
				}
				got := 0
				buf := make([]byte, 2000)
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				for got < n {
					k, err := conn.Read(buf)
					if err != nil {
						break
					}
					i := binary.BigEndian.Uint32(buf)
					if want := bytes.Repeat([]byte{byte(i)}, 1200); k != 1200 || !bytes.Equal(buf[4:k], want[4:]) {
						t.Fatalf("echo of %d bytes is not a datagram sent (index %d)", k, i)
					}
					got++
				}
				fl := c.Flows()
				if len(fl) != 1 {
					t.Fatalf("flows %+v, want one", fl)
				}
				f := fl[0]
				if f.Sent+f.DroppedOut != n || got == 0 {
					t.Fatalf("client sent %d, dropped %d of %d datagrams; %d echoes came back", f.Sent, f.DroppedOut, n, got)
				}
				after := c.Stats()
				t.Logf("%d datagrams of 1200 bytes: %d echoed; cells up %d, down %d", n, got, after.CellsUp-before.CellsUp, after.CellsDown-before.CellsDown)
			})
		}
	}
}
