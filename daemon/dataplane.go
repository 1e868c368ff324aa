package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/proxy"
)

// dataplane is how the machine's traffic reaches a session's router: the
// TUN device with its routes, DNS and firewall (tunPlane), or local proxies
// that applications are configured to use (proxyPlane).
type dataplane interface {
	// apply makes changed settings (kill switch, LAN, exclusions) take
	// effect at once.
	apply(api.Settings) error
	// proxyAddrs lists the local proxies, as URLs.
	proxyAddrs() []string
	// close undoes everything the data plane set up.
	close() error
}

type dataplaneFactory func(d *Daemon, s *session, set api.Settings) (dataplane, error)

// proxyMode serves SOCKS5 and HTTP on one local port; every connection
// becomes a stream on the session's circuit. It needs no privileges.
//
// Every client must authenticate (SOCKS5 username/password, HTTP
// Proxy-Authorization Basic) with the daemon's credentials: any local
// user can reach a port on loopback, but only those who may use the API
// (Status.ProxyAddrs) or read the credentials file may spend the budget.
type proxyMode struct {
	srv    *proxy.Server
	router *router
	ln     net.Listener
	user   *url.Userinfo
	served chan struct{} // closed when Serve returned
}

func proxyPlane(d *Daemon, s *session, _ api.Settings) (dataplane, error) {
	if err := checkProxyAddr(d.cfg.ProxyAddr, d.cfg.ProxyAllowRemote); err != nil {
		return nil, err
	}
	pw, err := proxyPassword(d.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	srv, err := proxy.New(proxy.Config{Dialer: s.router, Username: ProxyUsername, Password: pw,
		Logf: d.cfg.Logf}) // the proxy prefixes its lines with "proxy: " itself
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", d.cfg.ProxyAddr)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	// A name such as localhost is checked again as the address it became.
	if err := checkProxyAddr(ln.Addr().String(), d.cfg.ProxyAllowRemote); err != nil {
		ln.Close()
		srv.Close()
		return nil, err
	}
	p := &proxyMode{srv: srv, router: s.router, ln: ln, user: url.UserPassword(ProxyUsername, pw), served: make(chan struct{})}
	if f := d.cfg.ProxyCredentialsFile; f != "" {
		if err := writeProxyCredentials(f, d.cfg.ProxyCredentialsGroup, p.proxyAddrs()); err != nil {
			ln.Close()
			srv.Close()
			return nil, fmt.Errorf("proxy credentials: %w", err)
		}
	}
	go func() {
		defer close(p.served)
		srv.Serve(ln)
	}()
	return p, nil
}

// apply makes the exclusions take effect on the next connection: an
// excluded destination is dialled straight out, bypassing the circuit, as
// in TUN mode.
func (p *proxyMode) apply(s api.Settings) error {
	p.router.setExclude(parsePrefixes(s.ExcludeCIDRs))
	return nil
}

// proxyAddrs lists the proxies as URLs with the credentials in them, as
// curl and most libraries take them.
func (p *proxyMode) proxyAddrs() []string {
	a := p.ln.Addr().String()
	return []string{
		(&url.URL{Scheme: "socks5", User: p.user, Host: a}).String(),
		(&url.URL{Scheme: "http", User: p.user, Host: a}).String(),
	}
}

func (p *proxyMode) close() error {
	err := p.srv.Close()
	if e := p.ln.Close(); e != nil && !errors.Is(e, net.ErrClosed) && err == nil {
		err = e
	}
	<-p.served
	return err
}
