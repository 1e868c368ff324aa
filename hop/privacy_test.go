package hop_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/hoptest"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/testutil"
	"github.com/pexia-network/pexia/relay"
)

// recorder keeps a copy of every byte a node reads from or writes to its
// circuit channels.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) add(p []byte) {
	r.mu.Lock()
	r.buf.Write(p)
	r.buf.WriteByte(0) // no match across message boundaries
	r.mu.Unlock()
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.buf.Bytes()...)
}

type tappedChannel struct {
	link.Channel
	r *recorder
}

func (c tappedChannel) Read(p []byte) (int, error) {
	n, err := c.Channel.Read(p)
	if n > 0 {
		c.r.add(p[:n])
	}
	return n, err
}

func (c tappedChannel) Write(p []byte) (int, error) {
	c.r.add(p)
	return c.Channel.Write(p)
}

// markedPayee accepts payments that name its own node and records the
// ones it decrypted.
type markedPayee struct {
	node   onion.Address
	mu     *sync.Mutex
	got    *[]string
	commit [32]byte
}

func (p *markedPayee) Terms() hop.Terms {
	return hop.Terms{Commit: p.commit, PricePerGB: big.NewInt(1), ClaimCost: big.NewInt(0)}
}
func (p *markedPayee) Carry(int)               {}
func (p *markedPayee) State() relay.MeterState { return relay.MeterOK }
func (p *markedPayee) Accept(_ context.Context, payment []byte) ([32]byte, error) {
	p.mu.Lock()
	*p.got = append(*p.got, string(payment))
	p.mu.Unlock()
	var next [32]byte
	rand.Read(next[:])
	return next, nil
}

// markedPayer pays every hop often, with a payment naming the hop.
type markedPayer struct {
	node    [20]byte
	carried atomic.Int64
	seq     atomic.Int64
}

func (p *markedPayer) Carry(n int) { p.carried.Add(int64(n)) }
func (p *markedPayer) Due() *big.Int {
	if p.carried.Load() > 64<<10 {
		return big.NewInt(1)
	}
	return new(big.Int)
}
func (p *markedPayer) Pay(_ context.Context, _ [32]byte, _ *big.Int) ([]byte, error) {
	p.carried.Store(0)
	return []byte(payMarker(p.node) + fmt.Sprint(p.seq.Add(1))), nil
}

func payMarker(node [20]byte) string { return "pay-for-" + hex.EncodeToString(node[:]) + "-" }

// TestWhatEachHopLearns instruments every node of a 3-hop circuit (every
// byte on its circuit channels, every cell it recognizes, the addresses of
// its links) while a client at its own address (127.0.0.2) moves marked
// data to a destination and pays every hop, and proves:
//   - relay 1 never handles the destination or any of the plaintext,
//   - the exit never learns the client's address,
//   - hop k decrypts only its own payments, and no hop handles another
//     hop's payment in the clear.
func TestWhatEachHopLearns(t *testing.T) {
	// A destination that echoes: the marker goes up and comes back down.
	dst := testutil.EchoTCP(t, "127.0.0.1:0").Addr

	const hops = 3
	var (
		nodes []*hoptest.Node
		recs  []*recorder
		infos []hop.HopInfo
		payMu sync.Mutex
		paid  = make([][]string, hops)
	)
	for i := 0; i < hops; i++ {
		r := &recorder{}
		var addr onion.Address
		rand.Read(addr[:])
		cfg := relay.NodeConfig{
			Address: addr,
			Tap:     func(ch link.Channel) link.Channel { return tappedChannel{ch, r} },
		}
		i := i
		cfg.Payee = func() relay.PayeeSession {
			return &markedPayee{node: addr, mu: &payMu, got: &paid[i]}
		}
		n, err := hoptest.Start(i == hops-1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes, recs, infos = append(nodes, n), append(recs, r), append(infos, n.Info)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const clientIP = "127.0.0.2"
	c, err := hop.Build(ctx, infos, hop.BuildConfig{
		Link: func(ctx context.Context, h hop.HopInfo) (*link.Link, error) {
			return link.Dial(ctx, h.URL, h.Pin, link.DialConfig{UDPAddr: clientIP + ":0"})
		},
		Payer: func(_ int, node [20]byte, _ hop.Terms) (hop.PayerSession, error) {
			return &markedPayer{node: node}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	marker := make([]byte, 24)
	rand.Read(marker)
	plain := []byte("PLAINTEXT-" + hex.EncodeToString(marker))
	const rounds = 200 // ~200 KiB each way, enough for several payments per hop
	conn, err := c.Dial(ctx, "tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat(plain, 1024/len(plain)+1)
	go func() {
		for i := 0; i < rounds; i++ {
			conn.Write(chunk)
		}
	}()
	got := make([]byte, len(chunk)*rounds)
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.Repeat(chunk, rounds)) {
		t.Fatal("echo corrupted")
	}
	conn.Close()
	// Let the last payments arrive.
	deadline := time.Now().Add(5 * time.Second)
	for {
		payMu.Lock()
		ok := len(paid[0]) > 0 && len(paid[1]) > 0 && len(paid[2]) > 0
		payMu.Unlock()
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The circuit's own account: cells both ways, and every hop paid with
	// a measured round trip.
	st := c.Stats()
	if st.CellsUp == 0 || st.CellsDown == 0 || st.CellSize == 0 || len(st.Hops) != hops {
		t.Fatalf("circuit stats %+v", st)
	}
	for k, h := range st.Hops {
		if h.Paid == nil || h.Paid.Sign() <= 0 || h.RTT <= 0 {
			t.Fatalf("hop %d: paid %v, rtt %v", k+1, h.Paid, h.RTT)
		}
	}
	// The links' remote addresses, while they are up.
	ips := make([][]string, hops)
	for k := range nodes {
		ips[k] = linkIPs(nodes[k])
	}
	c.Close()

	// Sanity: the instruments see what they should. The exit recognized
	// the destination and the plaintext; hop 1's link comes from the client.
	exit := hops - 1
	exitSeen := joinSeen(nodes[exit].Seen())
	if !bytes.Contains(exitSeen, []byte(dst)) || !bytes.Contains(exitSeen, plain) {
		t.Fatal("instrument broken: the exit's recognized cells lack the destination or the data")
	}
	if a := ips[0]; len(a) == 0 || !contains(a, clientIP) {
		t.Fatalf("instrument broken: hop 1's links come from %v, not the client %s", a, clientIP)
	}

	// Relay 1 never handles the destination or any plaintext: not in any
	// byte it read or wrote, not in any cell it recognized.
	for _, b := range [][]byte{recs[0].bytes(), joinSeen(nodes[0].Seen())} {
		if bytes.Contains(b, []byte(dst)) {
			t.Error("relay 1 handled the destination")
		}
		if bytes.Contains(b, marker) || bytes.Contains(b, []byte(hex.EncodeToString(marker))) {
			t.Error("relay 1 handled plaintext")
		}
	}
	for _, s := range nodes[0].Seen() {
		if s.Cmd != onion.RelayExtend && s.Cmd != onion.RelayPay {
			t.Errorf("relay 1 recognized a %v cell", s.Cmd)
		}
	}

	// The exit never learns the client's address: not from its links, not
	// in anything it handled.
	if a := ips[exit]; contains(a, clientIP) {
		t.Errorf("the exit has a link from the client's address: %v", a)
	}
	for _, b := range [][]byte{recs[exit].bytes(), exitSeen} {
		if bytes.Contains(b, []byte(clientIP)) {
			t.Error("the exit handled the client's address")
		}
	}

	// Hop k decrypts only its own payments, and no hop ever handles any
	// payment in the clear on its channels.
	payMu.Lock()
	defer payMu.Unlock()
	for k := range nodes {
		own := payMarker(infos[k].Address)
		if len(paid[k]) == 0 {
			t.Errorf("hop %d was never paid", k+1)
		}
		for _, p := range paid[k] {
			if !strings.HasPrefix(p, own) {
				t.Errorf("hop %d decrypted a payment for someone else: %q", k+1, p)
			}
		}
		for _, s := range nodes[k].Seen() {
			if s.Cmd == onion.RelayPay && !bytes.Contains(s.Payload, []byte(own)) {
				t.Errorf("hop %d recognized a PAY cell not addressed to it", k+1)
			}
		}
		raw := recs[k].bytes()
		for j := range nodes {
			if bytes.Contains(raw, []byte(payMarker(infos[j].Address))) {
				t.Errorf("hop %d's channels carried hop %d's payment in the clear", k+1, j+1)
			}
		}
		t.Logf("hop %d: %d payments, %d KiB on its channels, links from %v", k+1, len(paid[k]), len(raw)>>10, ips[k])
	}
}

func joinSeen(ss []hoptest.Seen) []byte {
	var b bytes.Buffer
	for _, s := range ss {
		b.Write(s.Payload)
		b.WriteByte(0)
	}
	return b.Bytes()
}

func linkIPs(n *hoptest.Node) []string {
	var out []string
	for _, l := range n.Links() {
		if a, ok := l.RemoteAddr().(*net.UDPAddr); ok {
			out = append(out, a.IP.String())
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
