package link

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestOfferCannotAimTheNode: an offer whose candidates name another
// address than the one it came from (a port on the node's own network,
// here 127.0.0.9) makes the node send nothing there, and the link still
// comes up from the address the client really sends from.
func TestOfferCannotAimTheNode(t *testing.T) {
	testutil.CheckGoroutines(t)
	n := newNode(t, ListenConfig{})
	const clientIP, targetIP = "127.0.0.2", "127.0.0.9"
	target, err := net.ListenPacket("udp", targetIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	targetPort := target.LocalAddr().(*net.UDPAddr).Port

	mux, err := newUDPMux(clientIP+":0", 0, nil, testutil.NewLog(t).Logf)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := newLink(newAPI(mux, testutil.NewLog(t).Logf), mux, 0, testutil.NewLog(t).Logf, nil)
	if err != nil {
		_ = mux.Close()
		t.Fatal(err)
	}
	defer lk.Close()
	offer, err := lk.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(lk.pc)
	if err := lk.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	// The offer names the target instead of the client's own socket.
	var lines []string
	for line := range strings.SplitSeq(lk.pc.LocalDescription().SDP, "\r\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, "a=candidate:") && len(f) >= 6 {
			f[4], f[5] = targetIP, fmt.Sprint(targetPort)
			line = strings.Join(f, " ")
		}
		lines = append(lines, line)
	}
	body, err := json.Marshal(signal{Type: "offer", SDP: strings.Join(lines, "\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), targetIP) {
		t.Fatalf("offer does not name %s: %s", targetIP, body)
	}

	tr := &http.Transport{
		TLSClientConfig:   pinnedTLSConfig(n.pin),
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}}).DialContext,
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post(n.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("offer: %s: %s", resp.Status, data)
	}
	var answer signal
	if err := json.Unmarshal(data, &answer); err != nil {
		t.Fatal(err)
	}
	desc, err := parseSignal(answer, webrtc.SDPTypeAnswer)
	if err != nil {
		t.Fatal(err)
	}
	if err := lk.pc.SetRemoteDescription(desc); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 10*time.Second)
	if err := lk.waitReady(ctx); err != nil {
		t.Fatalf("link from %s did not come up: %v", clientIP, err)
	}
	server, err := n.l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	a, b := openPair(t, lk, server, "after")
	if err := exchange(a, b, 5, 5); err != nil {
		t.Fatal(err)
	}

	_ = target.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 1500)
	got := 0
	for {
		nr, from, err := target.ReadFrom(buf)
		if err != nil {
			break
		}
		got++
		t.Logf("%s received %d bytes from %v", targetIP, nr, from)
	}
	if got > 0 {
		t.Errorf("the node sent %d packets to %s:%d, an address the offer named but did not come from", got, targetIP, targetPort)
	}
}
