package daemon

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/internal/testutil"
)

// socks5Connect opens a SOCKS5 CONNECT to dst through the proxy at addr,
// with username/password authentication when user is not nil (RFC 1928,
// RFC 1929), and checks that the connection echoes.
func socks5Connect(addr, dst string, user *url.Userinfo) error {
	c, err := socks5Dial(addr, dst, user)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return testutil.RoundTrip(c, "through the proxy")
}

// socks5Dial opens a SOCKS5 CONNECT to dst through the proxy at addr, with
// username/password authentication when user is not nil.
func socks5Dial(addr, dst string, user *url.Userinfo) (_ net.Conn, err error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	method := byte(0x00)
	if user != nil {
		method = 0x02
	}
	if _, err := c.Write([]byte{5, 1, method}); err != nil {
		return nil, err
	}
	var b [2]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return nil, fmt.Errorf("method reply: %w", err)
	}
	if b[1] != method {
		return nil, fmt.Errorf("method %#x refused (reply %#x)", method, b[1])
	}
	if user != nil {
		pass, _ := user.Password()
		req := append([]byte{1, byte(len(user.Username()))}, user.Username()...)
		req = append(append(req, byte(len(pass))), pass...)
		if _, err := c.Write(req); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return nil, fmt.Errorf("auth reply: %w", err)
		}
		if b[1] != 0 {
			return nil, fmt.Errorf("credentials refused (status %#x)", b[1])
		}
	}
	ap := netip.MustParseAddrPort(dst)
	req := append([]byte{5, 1, 0, 1}, ap.Addr().AsSlice()...)
	req = binary.BigEndian.AppendUint16(req, ap.Port())
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	var rep [10]byte
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		return nil, fmt.Errorf("connect reply: %w", err)
	}
	if rep[1] != 0 {
		return nil, fmt.Errorf("connect refused (reply %#x)", rep[1])
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// httpConnect opens an HTTP CONNECT tunnel to dst through the proxy at
// addr, with Basic credentials when user is not nil, and checks that it
// echoes.
func httpConnect(addr, dst string, user *url.Userinfo) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	req := "CONNECT " + dst + " HTTP/1.1\r\nHost: " + dst + "\r\n"
	if user != nil {
		pass, _ := user.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user.Username()+":"+pass)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CONNECT: %s", resp.Status)
	}
	if br.Buffered() > 0 {
		return errors.New("data after the CONNECT response")
	}
	return testutil.RoundTrip(c, "through the proxy")
}

// proxyURLs returns the SOCKS5 and HTTP URLs a proxy plane reports.
func proxyURLs(t *testing.T, p dataplane) (socks, web *url.URL) {
	t.Helper()
	for _, a := range p.proxyAddrs() {
		u, err := url.Parse(a)
		if err != nil {
			t.Fatalf("proxy address %q: %v", a, err)
		}
		switch u.Scheme {
		case "socks5":
			socks = u
		case "http":
			web = u
		}
	}
	if socks == nil || web == nil {
		t.Fatalf("proxy addresses %q: want a socks5 and an http URL", p.proxyAddrs())
	}
	return socks, web
}

// TestProxyNeedsCredentials runs the proxy plane of proxy mode on a real
// router over a real circuit: without the daemon's credentials neither
// SOCKS5 nor HTTP carries anything, with them both do, and a listen
// address beyond loopback is refused.
func TestProxyNeedsCredentials(t *testing.T) {
	tcpAddr := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	r := newTestRouter(t, "127.0.0.1:1", nil)
	d := &Daemon{cfg: Config{StateDir: t.TempDir(), ProxyAddr: "127.0.0.1:0", Logf: t.Logf}}
	p, err := proxyPlane(d, &session{router: r}, api.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	socks, web := proxyURLs(t, p)

	if err := socks5Connect(socks.Host, tcpAddr, nil); err == nil {
		t.Errorf("an unauthenticated SOCKS5 CONNECT through %s was carried", socks.Host)
	}
	if err := socks5Connect(socks.Host, tcpAddr, url.UserPassword("pexia", "guess")); err == nil {
		t.Errorf("a SOCKS5 CONNECT with wrong credentials through %s was carried", socks.Host)
	}
	if err := httpConnect(web.Host, tcpAddr, nil); err == nil || !strings.Contains(err.Error(), "407") {
		t.Errorf("an unauthenticated HTTP CONNECT through %s: %v; want 407", web.Host, err)
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		d := &Daemon{cfg: Config{StateDir: t.TempDir(), ProxyAddr: addr, Logf: t.Logf}}
		if p, err := proxyPlane(d, &session{router: r}, api.Settings{}); err == nil {
			p.close()
			t.Errorf("the proxy listened on %s, beyond loopback, without being allowed to", addr)
		}
	}
	if socks.User == nil || web.User == nil {
		t.Fatalf("proxy addresses %s, %s carry no credentials", socks.Redacted(), web.Redacted())
	}
	if err := socks5Connect(socks.Host, tcpAddr, socks.User); err != nil {
		t.Errorf("SOCKS5 CONNECT with the daemon's credentials: %v", err)
	}
	if err := httpConnect(web.Host, tcpAddr, web.User); err != nil {
		t.Errorf("HTTP CONNECT with the daemon's credentials: %v", err)
	}

}

// TestProxyRemoteAndCredentialsFile: beyond loopback only when allowed, and
// then still only with the credentials; the credentials stay the same from
// session to session and are written for the API's group only.
func TestProxyRemoteAndCredentialsFile(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		allow bool
		ok    bool
	}{
		{"127.0.0.1:1080", false, true},
		{"127.3.4.5:1080", false, true},
		{"[::1]:1080", false, true},
		{"localhost:1080", false, true},
		{"0.0.0.0:1080", false, false},
		{":1080", false, false},
		{"192.168.1.10:1080", false, false},
		{"[::ffff:10.0.0.1]:1080", false, false},
		{"myhost:1080", false, false},
		{"0.0.0.0:1080", true, true},
		{"127.0.0.1", false, false},
	} {
		if err := checkProxyAddr(tc.addr, tc.allow); (err == nil) != tc.ok {
			t.Errorf("checkProxyAddr(%q, %v) = %v, want ok %v", tc.addr, tc.allow, err, tc.ok)
		}
	}

	tcpAddr := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	r := newTestRouter(t, "127.0.0.1:1", nil)
	state, run := t.TempDir(), t.TempDir()
	group := ""
	if os.Geteuid() == 0 {
		group = "root"
	}
	cfg := Config{StateDir: state, ProxyAddr: "0.0.0.0:0", ProxyAllowRemote: true, Logf: t.Logf,
		ProxyCredentialsFile: filepath.Join(run, "proxy-credentials"), ProxyCredentialsGroup: group}
	p, err := proxyPlane(&Daemon{cfg: cfg}, &session{router: r}, api.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	socks, web := proxyURLs(t, p)
	_, port, _ := net.SplitHostPort(socks.Host)
	local := net.JoinHostPort("127.0.0.1", port)
	if err := socks5Connect(local, tcpAddr, nil); err == nil {
		t.Error("an unauthenticated SOCKS5 CONNECT to a proxy allowed beyond loopback was carried")
	}
	if err := socks5Connect(local, tcpAddr, socks.User); err != nil {
		t.Errorf("SOCKS5 with the credentials: %v", err)
	}
	p.close()

	b, err := os.ReadFile(cfg.ProxyCredentialsFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := socks.String() + "\n" + web.String() + "\n"; string(b) != want {
		t.Errorf("credentials file %q, want %q", b, want)
	}
	fi, _ := os.Stat(cfg.ProxyCredentialsFile)
	if want := os.FileMode(0o600); group != "" {
		want = 0o640
		if fi.Mode().Perm() != want {
			t.Errorf("credentials file mode %v, want %v", fi.Mode().Perm(), want)
		}
	} else if fi.Mode().Perm() != want {
		t.Errorf("credentials file mode %v, want %v", fi.Mode().Perm(), want)
	}

	// The next session has the same credentials.
	cfg.ProxyAddr, cfg.ProxyAllowRemote = "127.0.0.1:0", false
	p2, err := proxyPlane(&Daemon{cfg: cfg}, &session{router: r}, api.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.close()
	socks2, _ := proxyURLs(t, p2)
	if socks2.User.String() != socks.User.String() {
		t.Errorf("credentials changed between sessions: %s, then %s", socks.Redacted(), socks2.Redacted())
	}
	if pw, _ := socks.User.Password(); len(pw) != 32 || socks.User.Username() != ProxyUsername {
		t.Errorf("credentials %s: want user %s and a 128-bit password", socks.Redacted(), ProxyUsername)
	}
}

// TestProxyPlaneAppliesExclusions changes the exclusions of a running
// proxy plane, as SetSettings does while connected: the next flow to a
// destination excluded now goes straight out, and once the exclusion is
// lifted flows go through the circuit again (SetSettings promises that the
// exclusions apply at once).
func TestProxyPlaneAppliesExclusions(t *testing.T) {
	tcpAddr := testutil.EchoTCP(t, "127.0.0.1:0").Addr
	r := newTestRouter(t, "127.0.0.1:1", nil)
	d := &Daemon{cfg: Config{StateDir: t.TempDir(), ProxyAddr: "127.0.0.1:0", Logf: t.Logf}}
	p, err := proxyPlane(d, &session{router: r}, api.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	socks, _ := proxyURLs(t, p)
	if err := socks5Connect(socks.Host, tcpAddr, socks.User); err != nil {
		t.Fatal(err)
	}
	if err := p.apply(api.Settings{ExcludeCIDRs: []string{"127.0.0.0/8"}}); err != nil {
		t.Fatal(err)
	}
	if err := socks5Connect(socks.Host, tcpAddr, socks.User); err != nil {
		t.Fatal(err)
	}
	if n := r.directFlows.Load(); n != 1 {
		t.Errorf("%d flows went straight out after 127.0.0.0/8 was excluded, want 1", n)
	}
	if err := p.apply(api.Settings{}); err != nil {
		t.Fatal(err)
	}
	if err := socks5Connect(socks.Host, tcpAddr, socks.User); err != nil {
		t.Fatal(err)
	}
	if n, f := r.directFlows.Load(), r.flows.Load(); n != 1 || f != 2 {
		t.Errorf("after the exclusion was lifted: %d direct flows, %d through the circuit; want 1 and 2", n, f)
	}
}
