package netlab

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
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
