package netlab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

func TestBytesAreDeterministic(t *testing.T) {
	long, err := io.ReadAll(Bytes(5000))
	if err != nil {
		t.Fatal(err)
	}
	short, err := io.ReadAll(Bytes(1000))
	if err != nil {
		t.Fatal(err)
	}
	if len(long) != 5000 || len(short) != 1000 {
		t.Fatalf("got %d and %d bytes, want 5000 and 1000", len(long), len(short))
	}
	if !bytes.Equal(long[:1000], short) {
		t.Error("Bytes(1000) is not a prefix of Bytes(5000)")
	}
	if again, _ := io.ReadAll(Bytes(5000)); !bytes.Equal(again, long) {
		t.Error("Bytes(5000) differs between calls")
	}
	if bytes.Count(long, long[:1]) > 100 {
		t.Error("Bytes looks constant, want pseudo-random content")
	}
	for _, n := range []int64{0, 1, 1000, 5000} {
		if got, want := BytesSHA256(n), sha256.Sum256(long[:n]); got != want {
			t.Errorf("BytesSHA256(%d) = %x, want %x", n, got, want)
		}
	}
}

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path   string
		remote string
		code   int
		body   func([]byte) bool
	}{
		{"/ip", "203.0.113.7:4242", 200, func(b []byte) bool { return string(b) == "203.0.113.7" }},
		{"/ip", "[2001:db8::7]:4242", 200, func(b []byte) bool { return string(b) == "2001:db8::7" }},
		{"/ip", "[::ffff:10.77.0.2]:4242", 200, func(b []byte) bool { return string(b) == "10.77.0.2" }},
		{"/bytes/0", "10.77.0.2:1", 200, func(b []byte) bool { return len(b) == 0 }},
		{"/bytes/300000", "10.77.0.2:1", 200, func(b []byte) bool { return sha256.Sum256(b) == BytesSHA256(300000) }},
		{"/bytes/-1", "10.77.0.2:1", 400, nil},
		{"/bytes/x", "10.77.0.2:1", 400, nil},
		{"/bytes/2199023255553", "10.77.0.2:1", 400, nil},
		{"/nothing", "10.77.0.2:1", 404, nil},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.RemoteAddr = tc.remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.path, rec.Code, tc.code)
			continue
		}
		if tc.body != nil && !tc.body(rec.Body.Bytes()) {
			t.Errorf("%s: unexpected body (%d bytes)", tc.path, rec.Body.Len())
		}
	}
}

func TestServeHTTPDownloadIsExact(t *testing.T) {
	_, hs := newTestLab(t, "client", "internet")
	client, inet := hs[0], hs[1]
	if err := inet.Announce(netip.MustParsePrefix("203.0.113.0/24")); err != nil {
		t.Fatal(err)
	}
	srv, err := ServeHTTP(inet, Handler())
	if err != nil {
		t.Fatal(err)
	}
	hc := client.HTTPClient(srv.Roots)
	hc.Timeout = 10 * time.Second
	const n = 8 << 20
	resp, err := hc.Get("https://203.0.113.7/bytes/8388608")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	got, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || got != n {
		t.Fatalf("read %d bytes (%v), want %d", got, err, n)
	}
	if [32]byte(h.Sum(nil)) != BytesSHA256(n) {
		t.Error("download differs from Bytes")
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2 over TLS", resp.Proto)
	}
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if _, err := hc.Get("http://203.0.113.7/ip"); err == nil {
		t.Error("server answers after Close")
	}
}

// TestServeHTTP3 fetches over HTTP/3 from another host, trusting the
// server's RootsPEM: the server answers on announced IPv4 and IPv6
// addresses and its bridge address, from the address asked (the client's
// QUIC connection would not accept replies from another), sees the
// client's address, and serves Bytes exactly. After Close it answers no
// more.
func TestServeHTTP3(t *testing.T) {
	_, hs := newTestLab(t, "client", "internet")
	client, inet := hs[0], hs[1]
	for _, p := range []string{"203.0.113.0/24", "2001:db8::/64"} {
		if err := inet.Announce(netip.MustParsePrefix(p)); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := ServeHTTP(inet, Handler())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(srv.RootsPEM) {
		t.Fatalf("RootsPEM holds no certificate: %q", srv.RootsPEM)
	}
	get := func(url string) (*http.Response, error) {
		hc, done := h3Client(t, client, roots)
		defer done()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, err
	}
	for _, tc := range []struct {
		url  string
		want netip.Addr
	}{
		{"https://203.0.113.7/ip", client.Addr4()},
		{"https://[2001:db8::1234]/ip", client.Addr6()},
		{fmt.Sprintf("https://%s/ip", inet.Addr4()), client.Addr4()},
		{fmt.Sprintf("https://[%s]/ip", inet.Addr6()), client.Addr6()},
	} {
		resp, err := get(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.ProtoMajor != 3 {
			t.Errorf("%s: protocol %s, want HTTP/3", tc.url, resp.Proto)
		}
		if got, err := netip.ParseAddr(string(body)); err != nil || got != tc.want {
			t.Errorf("%s: server saw %q, want %s", tc.url, body, tc.want)
		}
	}
	const n = 4 << 20
	resp, err := get(fmt.Sprintf("https://203.0.113.7/bytes/%d", n))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if got, _ := io.Copy(h, resp.Body); got != n || [32]byte(h.Sum(nil)) != BytesSHA256(n) {
		t.Fatalf("HTTP/3 download: %d bytes, want %d bytes of Bytes", got, n)
	}
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	hc, done := h3Client(t, client, roots)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://203.0.113.7/ip", nil)
	if resp, err := hc.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Error("HTTP/3 server answers after Close")
	}
}

// h3Client returns an HTTP/3 client whose UDP socket is in host h, and a
// function that closes both.
func h3Client(t *testing.T, h *Host, roots *x509.CertPool) (*http3.Transport, func()) {
	t.Helper()
	pc, err := h.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: pc}
	hc := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		Dial: func(ctx context.Context, addr string, tlsConf *tls.Config, conf *quic.Config) (*quic.Conn, error) {
			ua, err := net.ResolveUDPAddr("udp", addr)
			if err != nil {
				return nil, err
			}
			return tr.DialEarly(ctx, ua, tlsConf, conf)
		},
	}
	return hc, func() {
		hc.Close()
		tr.Close()
		pc.Close()
	}
}
