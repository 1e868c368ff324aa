//go:build !linux

package owner

import (
	"net/netip"

	"github.com/pexia-network/pexia/rules"
)

// Table finds flows' owners; on this OS it cannot.
type Table struct{}

// New returns ErrNotSupported on this OS.
func New() (*Table, error) { return nil, ErrNotSupported }

// Owner returns ErrNotSupported on this OS.
func (*Table) Owner(rules.Proto, netip.AddrPort, netip.AddrPort) (rules.Owner, error) {
	return rules.Owner{}, ErrNotSupported
}

// Close does nothing on this OS.
func (*Table) Close() error { return nil }
