package netlab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// HTTPServer serves one handler on port 80 and, with TLS, port 443 of
// every address of a host: HTTP/1.1 and HTTP/2 over TCP, HTTP/3 over QUIC
// on UDP.
type HTTPServer struct {
	// Roots holds the certificate authority that signs every certificate
	// the server presents; clients verify against it.
	Roots *x509.CertPool
	// RootsPEM is the same authority's certificate in PEM, for clients in
	// other processes (curl --cacert, say).
	RootsPEM []byte

	plain, secure *http.Server
	h3            *http3.Server
	h3conns       []net.PacketConn
	wg            sync.WaitGroup
}

// ServeHTTP serves handler on the host's wildcard address, plain HTTP on
// :80, HTTPS on TCP :443 and HTTP/3 on UDP :443 (IPv4 and IPv6). For
// HTTPS and HTTP/3 it makes a certificate authority of its own and issues
// a certificate for whatever name the client asks for (SNI), or for the
// address it connected to when it sends none, so any name or announced
// address verifies against Roots. HTTP/3 replies leave from the address
// each packet was sent to (quic-go reads IP_PKTINFO on a wildcard socket),
// so it answers on announced prefixes too.
func ServeHTTP(h *Host, handler http.Handler) (*HTTPServer, error) {
	ca, err := newCertAuthority()
	if err != nil {
		return nil, fmt.Errorf("netlab: %s: https: %w", h.name, err)
	}
	plain, err := h.Listen("tcp", ":80")
	if err != nil {
		return nil, fmt.Errorf("netlab: %s: http: %w", h.name, err)
	}
	secure, err := h.Listen("tcp", ":443")
	if err != nil {
		plain.Close()
		return nil, fmt.Errorf("netlab: %s: https: %w", h.name, err)
	}
	// Clients a test makes fail on purpose (a wrong root, say) would
	// otherwise be logged.
	quiet := log.New(io.Discard, "", 0)
	// One http.Server per listener: a server's HTTP/2 set-up differs for
	// plain and TLS listeners and is done once.
	s := &HTTPServer{
		Roots:    ca.pool,
		RootsPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}),
		plain:    &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet},
		secure: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          quiet,
			TLSConfig:         &tls.Config{GetCertificate: ca.certificate},
		},
	}
	s.h3 = &http3.Server{
		Handler:   handler,
		TLSConfig: &tls.Config{GetCertificate: ca.certificate},
	}
	for _, network := range []string{"udp4", "udp6"} {
		pc, err := h.ListenPacket(network, ":443")
		if err != nil {
			plain.Close()
			secure.Close()
			return nil, errors.Join(fmt.Errorf("netlab: %s: http/3: %w", h.name, err), s.closeQUIC())
		}
		s.h3conns = append(s.h3conns, pc)
	}
	s.wg.Add(2 + len(s.h3conns))
	go func() { defer s.wg.Done(); _ = s.plain.Serve(plain) }()
	go func() { defer s.wg.Done(); _ = s.secure.ServeTLS(secure, "", "") }()
	for _, pc := range s.h3conns {
		go func() { defer s.wg.Done(); _ = s.h3.Serve(pc) }()
	}
	return s, nil
}

// Close stops the server, closing its listeners and connections.
func (s *HTTPServer) Close() error {
	err := errors.Join(s.plain.Close(), s.secure.Close(), s.closeQUIC())
	s.wg.Wait()
	return err
}

// closeQUIC closes the HTTP/3 server's connections, then its sockets,
// which http3.Server.Serve leaves open.
func (s *HTTPServer) closeQUIC() error {
	err := s.h3.Close()
	for _, pc := range s.h3conns {
		err = errors.Join(err, pc.Close())
	}
	return err
}

// certAuthority issues leaf certificates on demand.
type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool

	mu     sync.Mutex // guards leaves
	leaves map[string]*tls.Certificate
}

func newCertAuthority() (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "netlab test authority"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &certAuthority{cert: cert, key: key, pool: pool, leaves: map[string]*tls.Certificate{}}, nil
}

// certificate returns a certificate for the name the client asked for.
func (ca *certAuthority) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(hello.ServerName)
	if name == "" {
		ap, err := netip.ParseAddrPort(hello.Conn.LocalAddr().String())
		if err != nil {
			return nil, fmt.Errorf("no server name and no local address: %w", err)
		}
		name = ap.Addr().Unmap().WithZone("").String()
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.leaves[name]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	ca.leaves[name] = c
	return c, nil
}

// MaxBytes is the largest N that Handler's /bytes/N serves.
const MaxBytes = 1 << 40

// Handler serves the internet host's test endpoints:
//
//	/ip        the caller's IP address as the server sees it, as text: a
//	           test checks that the server sees the exit's address
//	/bytes/N   N bytes of the deterministic stream Bytes(N); compare its
//	           SHA-256 with BytesSHA256(N)
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ip", func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil {
			http.Error(w, "remote address: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, ap.Addr().Unmap().String())
	})
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
		if err != nil || n < 0 || n > MaxBytes {
			http.Error(w, fmt.Sprintf("want /bytes/N with 0 <= N <= %d", int64(MaxBytes)), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		_, _ = io.CopyBuffer(w, Bytes(n), make([]byte, 256<<10))
	})
	return mux
}

// bytesSeed fixes the content of Bytes.
var bytesSeed = [32]byte([]byte("pexia netlab deterministic bytes"))

// Bytes returns n bytes of deterministic pseudo-random content: the same n
// always gives the same bytes, and Bytes(n) is a prefix of Bytes(m) for
// m > n. It does not compress, so no layer can shrink it.
func Bytes(n int64) io.Reader {
	return io.LimitReader(mrand.NewChaCha8(bytesSeed), n)
}

// BytesSHA256 is the SHA-256 digest of Bytes(n).
func BytesSHA256(n int64) [32]byte {
	h := sha256.New()
	// Neither the generator nor the hash returns errors.
	_, _ = io.CopyBuffer(h, Bytes(n), make([]byte, 256<<10))
	return [32]byte(h.Sum(nil))
}
