package proxy

import (
	"bufio"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// SOCKS5 wire constants (RFC 1928, RFC 1929).
const (
	socksVersion    = 0x05
	userPassVersion = 0x01

	methodNoAuth       = 0x00
	methodUserPass     = 0x02
	methodNoAcceptable = 0xff

	cmdConnect      = 0x01
	cmdBind         = 0x02
	cmdUDPAssociate = 0x03

	atypIPv4   = 0x01
	atypDomain = 0x03
	atypIPv6   = 0x04

	repSucceeded            = 0x00
	repGeneralFailure       = 0x01
	repNotAllowed           = 0x02
	repNetworkUnreachable   = 0x03
	repHostUnreachable      = 0x04
	repConnectionRefused    = 0x05
	repTTLExpired           = 0x06
	repCommandNotSupported  = 0x07
	repAddrTypeNotSupported = 0x08

	userPassStatusSuccess = 0x00
	userPassStatusFailure = 0x01

	maxSOCKSAddrLen          = 1 + 1 + 255 + 2 // ATYP, name length, name, port
	socksRequestHeaderLength = 3               // VER CMD RSV, before the address
)

// socksAddr is a SOCKS5 address: an IP or a name, and a port.
type socksAddr struct {
	ip   netip.Addr // valid for IPv4 and IPv6 addresses
	name string     // for DOMAINNAME addresses that are not IP literals
	port uint16
}

func (a socksAddr) String() string {
	host := a.name
	if a.ip.IsValid() {
		host = a.ip.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(int(a.port)))
}

// errAddrType is returned for an unknown ATYP; it is answered 0x08.
var errAddrType = errors.New("address type not supported")

// addrLen returns the length of the address that starts with b (ATYP
// first), reading as little as needed: 1 byte, or 2 for a domain name.
func addrLen(b []byte) (int, error) {
	switch b[0] {
	case atypIPv4:
		return 1 + 4 + 2, nil
	case atypIPv6:
		return 1 + 16 + 2, nil
	case atypDomain:
		if len(b) < 2 {
			return 2, nil // need the length byte
		}
		return 1 + 1 + int(b[1]) + 2, nil
	}
	return 0, fmt.Errorf("%w: 0x%02x", errAddrType, b[0])
}

// parseAddr parses the address at the start of b (ATYP, address, port)
// and returns it and its length.
func parseAddr(b []byte) (socksAddr, int, error) {
	if len(b) < 1 {
		return socksAddr{}, 0, io.ErrUnexpectedEOF
	}
	n, err := addrLen(b)
	if err != nil {
		return socksAddr{}, 0, err
	}
	if len(b) < n {
		return socksAddr{}, 0, io.ErrUnexpectedEOF
	}
	var a socksAddr
	switch b[0] {
	case atypIPv4:
		a.ip = netip.AddrFrom4([4]byte(b[1:5]))
	case atypIPv6:
		a.ip = netip.AddrFrom16([16]byte(b[1:17])).Unmap()
	case atypDomain:
		name := string(b[2 : 2+int(b[1])])
		if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")); err == nil && ip.Zone() == "" {
			a.ip = ip.Unmap()
		} else if err := checkName(name); err != nil {
			return socksAddr{}, 0, err
		} else {
			a.name = name
		}
	}
	a.port = binary.BigEndian.Uint16(b[n-2 : n])
	return a, n, nil
}

// checkName rejects names that can't be a host name: empty, or with bytes
// that would change the meaning of "host:port" or can't appear in DNS
// presentation format unescaped. Internationalized names arrive as
// punycode.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty domain name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`:/\@[]%`, c) >= 0 {
			return fmt.Errorf("invalid domain name %q", name)
		}
	}
	return nil
}

// appendAddr appends ap in SOCKS5 form; the zero AddrPort becomes
// 0.0.0.0:0.
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	ip := ap.Addr().Unmap()
	switch {
	case ip.Is4():
		b = append(b, atypIPv4)
		b = append(b, ip.AsSlice()...)
	case ip.Is6():
		b = append(b, atypIPv6)
		b = append(b, ip.AsSlice()...)
	default:
		b = append(b, atypIPv4, 0, 0, 0, 0)
	}
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

// addrPortOf returns a's IP and port when it has them; a circuit stream's
// address has none.
func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	case nil:
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return ap
}

func writeReply(w io.Writer, code byte, bnd netip.AddrPort) error {
	b := make([]byte, 0, 3+1+16+2)
	b = append(b, socksVersion, code, 0)
	b = appendAddr(b, bnd)
	_, err := w.Write(b)
	return err
}

// socksRequest is a SOCKS5 request after the handshake.
type socksRequest struct {
	cmd  byte
	addr socksAddr
}

// socksError is a handshake failure that is answered with a reply code
// before the connection is closed.
type socksError struct {
	code byte
	err  error
}

func (e *socksError) Error() string { return e.err.Error() }
func (e *socksError) Unwrap() error { return e.err }

// serveSOCKS runs the SOCKS5 handshake on c and serves the request.
func (s *Server) serveSOCKS(c *bufConn) {
	defer c.Close()
	if d := s.cfg.ReadHeaderTimeout; d > 0 {
		c.SetDeadline(time.Now().Add(d))
	}
	from := c.RemoteAddr()
	if err := s.socksAuth(c); err != nil {
		s.vlogf("socks %s: handshake: %v", from, err)
		return
	}
	req, err := readRequest(c.r)
	if err != nil {
		var se *socksError
		if errors.As(err, &se) {
			writeReply(c, se.code, netip.AddrPort{})
		}
		s.vlogf("socks %s: request: %v", from, err)
		return
	}
	c.SetDeadline(time.Time{})
	switch req.cmd {
	case cmdConnect:
		s.socksConnect(c, req.addr)
	case cmdUDPAssociate:
		s.socksAssociate(c, req.addr)
	case cmdBind:
		writeReply(c, repCommandNotSupported, netip.AddrPort{})
		s.vlogf("socks %s: BIND %s: not supported", from, req.addr)
	default:
		writeReply(c, repCommandNotSupported, netip.AddrPort{})
		s.vlogf("socks %s: unknown command 0x%02x", from, req.cmd)
	}
}

// socksAuth negotiates the method (RFC 1928 §3) and, for username and
// password, checks them (RFC 1929).
func (s *Server) socksAuth(c *bufConn) error {
	var hdr [2]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if hdr[0] != socksVersion {
		return fmt.Errorf("version %d, want 5", hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c.r, methods); err != nil {
		return fmt.Errorf("read methods: %w", err)
	}
	required := s.cfg.Username != ""
	method := byte(methodNoAcceptable)
	switch {
	case required && contains(methods, methodUserPass):
		method = methodUserPass
	case !required && contains(methods, methodNoAuth):
		method = methodNoAuth
	case !required && contains(methods, methodUserPass):
		method = methodUserPass
	}
	if _, err := c.Write([]byte{socksVersion, method}); err != nil {
		return fmt.Errorf("write method: %w", err)
	}
	switch method {
	case methodNoAcceptable:
		if required {
			return fmt.Errorf("client offered methods %x, username/password (02) required", methods)
		}
		return fmt.Errorf("client offered methods %x, none acceptable", methods)
	case methodUserPass:
		return s.checkUserPass(c, required)
	}
	return nil
}

func contains(b []byte, v byte) bool {
	for _, x := range b {
		if x == v {
			return true
		}
	}
	return false
}

// checkUserPass reads an RFC 1929 request and answers it. Without
// configured credentials any are accepted.
func (s *Server) checkUserPass(c *bufConn, required bool) error {
	var b [256]byte
	if _, err := io.ReadFull(c.r, b[:2]); err != nil {
		return fmt.Errorf("read credentials: %w", err)
	}
	if b[0] != userPassVersion {
		return fmt.Errorf("username/password version %d, want 1", b[0])
	}
	user := make([]byte, b[1])
	if _, err := io.ReadFull(c.r, user); err != nil {
		return fmt.Errorf("read username: %w", err)
	}
	if _, err := io.ReadFull(c.r, b[:1]); err != nil {
		return fmt.Errorf("read credentials: %w", err)
	}
	pass := b[1 : 1+int(b[0])]
	if _, err := io.ReadFull(c.r, pass); err != nil {
		return fmt.Errorf("read password: %w", err)
	}
	ok := !required || credentialsMatch(string(user), string(pass), s.cfg.Username, s.cfg.Password)
	status := byte(userPassStatusSuccess)
	if !ok {
		status = userPassStatusFailure
	}
	if _, err := c.Write([]byte{userPassVersion, status}); err != nil {
		return fmt.Errorf("write auth status: %w", err)
	}
	if !ok {
		return errors.New("wrong username or password")
	}
	return nil
}

// credentialsMatch compares in constant time (given the lengths).
func credentialsMatch(user, pass, wantUser, wantPass string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(wantUser))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(wantPass))
	return u&p == 1
}

// readRequest reads a SOCKS5 request (RFC 1928 §4).
func readRequest(r *bufio.Reader) (socksRequest, error) {
	var b [socksRequestHeaderLength + maxSOCKSAddrLen]byte
	if _, err := io.ReadFull(r, b[:socksRequestHeaderLength+2]); err != nil {
		return socksRequest{}, err
	}
	if b[0] != socksVersion {
		return socksRequest{}, &socksError{repGeneralFailure, fmt.Errorf("version %d, want 5", b[0])}
	}
	a := b[socksRequestHeaderLength:]
	n, err := addrLen(a)
	if err != nil {
		return socksRequest{}, &socksError{repAddrTypeNotSupported, err}
	}
	if _, err := io.ReadFull(r, a[2:n]); err != nil {
		return socksRequest{}, err
	}
	addr, _, err := parseAddr(a[:n])
	if err != nil {
		return socksRequest{}, &socksError{repGeneralFailure, err}
	}
	return socksRequest{cmd: b[1], addr: addr}, nil
}

// socksConnect serves CONNECT: dial, reply, relay.
func (s *Server) socksConnect(c *bufConn, dst socksAddr) {
	from := c.RemoteAddr()
	start := time.Now()
	up, err := s.dial(s.ctx, "tcp", dst.String())
	if err != nil {
		code := classify(err).socksCode()
		writeReply(c, code, netip.AddrPort{})
		s.vlogf("socks %s: CONNECT %s: %v (reply 0x%02x)", from, dst, err, code)
		return
	}
	if err := writeReply(c, repSucceeded, addrPortOf(up.LocalAddr())); err != nil {
		up.Close()
		s.vlogf("socks %s: CONNECT %s: write reply: %v", from, dst, err)
		return
	}
	s.vlogf("socks %s: CONNECT %s: open after %v", from, dst, time.Since(start).Round(time.Millisecond))
	st := relay(c, up, s.cfg.IdleTimeout)
	s.vlogf("socks %s: CONNECT %s: closed after %v, %d bytes up, %d down%s",
		from, dst, time.Since(start).Round(time.Millisecond), st.up, st.down, errSuffix(st.err))
}

// errSuffix formats a relay error for a log line.
func errSuffix(err error) string {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return ""
	}
	return " (" + err.Error() + ")"
}
