package daemon

import (
	"errors"
	"fmt"
	"net"

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
type proxyMode struct {
	srv *proxy.Server
	ln  net.Listener
}

func proxyPlane(d *Daemon, s *session, _ api.Settings) (dataplane, error) {
	srv, err := proxy.New(proxy.Config{Dialer: s.router, Logf: func(f string, a ...any) { d.cfg.Logf("proxy: "+f, a...) }})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", d.cfg.ProxyAddr)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	go srv.Serve(ln)
	return &proxyMode{srv: srv, ln: ln}, nil
}

func (p *proxyMode) apply(s api.Settings) error { return nil }

func (p *proxyMode) proxyAddrs() []string {
	a := p.ln.Addr().String()
	return []string{"socks5://" + a, "http://" + a}
}

func (p *proxyMode) close() error {
	err := p.srv.Close()
	if e := p.ln.Close(); e != nil && !errors.Is(e, net.ErrClosed) && err == nil {
		err = e
	}
	return err
}
