package link

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Pin is the SHA-256 fingerprint of a node's DER-encoded leaf TLS
// certificate. The registry publishes it; [Dial] accepts no other
// certificate.
type Pin [sha256.Size]byte

// String returns the pin as 64 lowercase hex digits.
func (p Pin) String() string { return hex.EncodeToString(p[:]) }

// IsZero reports whether p is the zero pin, which matches no certificate.
func (p Pin) IsZero() bool { return p == Pin{} }

// ParsePin parses 64 hex digits, optionally separated by colons.
func ParsePin(s string) (Pin, error) {
	var p Pin
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil {
		return p, fmt.Errorf("link: parse pin: %w", err)
	}
	if len(b) != len(p) {
		return p, fmt.Errorf("link: parse pin: %d bytes, want %d", len(b), len(p))
	}
	copy(p[:], b)
	return p, nil
}

// PinOf returns the pin of cert's leaf (its first certificate).
func PinOf(cert tls.Certificate) (Pin, error) {
	if len(cert.Certificate) == 0 {
		return Pin{}, errors.New("link: certificate has no leaf")
	}
	return sha256.Sum256(cert.Certificate[0]), nil
}

// NewCertificate creates a self-signed ECDSA P-256 certificate for a node's
// signaling endpoint, valid for ten years (the pin, not the validity period,
// is what dialers check), and returns it with its pin.
func NewCertificate() (tls.Certificate, Pin, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, Pin{}, fmt.Errorf("link: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, Pin{}, fmt.Errorf("link: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "pexia-node"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, Pin{}, fmt.Errorf("link: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, Pin{}, fmt.Errorf("link: parse certificate: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return cert, sha256.Sum256(der), nil
}

// pinnedTLSConfig returns a client configuration that accepts exactly the
// certificate pin names. Chain verification is skipped (the certificate is
// self-signed); VerifyConnection runs on every handshake, resumed or not.
func pinnedTLSConfig(pin Pin) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, //nolint:gosec // replaced by the pin check below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrPinMismatch
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if pin.IsZero() || subtle.ConstantTimeCompare(got[:], pin[:]) != 1 {
				return fmt.Errorf("%w: got %x", ErrPinMismatch, got)
			}
			return nil
		},
	}
}
