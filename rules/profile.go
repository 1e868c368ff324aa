package rules

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Profile is a named set of requirements for a circuit. Tunnel rules name
// it; the connection's own circuit (a tunnel without a profile) follows
// the settings instead.
type Profile struct {
	Name string `json:"name"`
	// Hops is the circuit's length, 1 to MaxHops.
	Hops int `json:"hops"`
	// ExitCountries, if any, are the ISO 3166-1 alpha-2 codes the exit
	// must be in.
	ExitCountries []string `json:"exit_countries,omitempty"`
	// PriceCapPerGB, if set, is the highest price per GB a hop of the
	// circuit may ask, in the token's smallest unit (a decimal string).
	PriceCapPerGB string `json:"price_cap_per_gb,omitempty"`
	// Nodes, if any, is a curated list: every hop is chosen from these
	// node addresses (0x and 40 hex digits).
	Nodes []string `json:"nodes,omitempty"`
	// AddedBy is the uid of the group member who added the profile;
	// absent for an admin's.
	AddedBy *uint32 `json:"added_by,omitempty"`
}

// MaxHops is the longest circuit a profile may ask for.
const MaxHops = 5

// MaxNodes bounds a profile's curated list.
const MaxNodes = 256

func checkProfileName(n string) error {
	if n == "" || len(n) > 32 {
		return fmt.Errorf("name %q: want 1 to 32 characters", n)
	}
	for i, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_')) {
			return fmt.Errorf("name %q: want lower-case letters, digits, - and _, starting with a letter or digit", n)
		}
	}
	return nil
}

// Validate checks p; the error names the field.
func (p Profile) Validate() error {
	if err := checkProfileName(p.Name); err != nil {
		return err
	}
	if p.Hops < 1 || p.Hops > MaxHops {
		return fmt.Errorf("hops: %d, want 1 to %d", p.Hops, MaxHops)
	}
	for _, c := range p.ExitCountries {
		if len(c) != 2 || strings.ToUpper(c) != c || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return fmt.Errorf("exit_countries: %q is not an ISO 3166-1 alpha-2 code such as \"DE\"", c)
		}
	}
	if p.PriceCapPerGB != "" {
		if _, err := p.PriceCap(); err != nil {
			return err
		}
	}
	if len(p.Nodes) > MaxNodes {
		return fmt.Errorf("nodes: %d, at most %d", len(p.Nodes), MaxNodes)
	}
	seen := map[string]bool{}
	for _, n := range p.Nodes {
		if !isNodeAddress(n) {
			return fmt.Errorf("nodes: %q is not a node address (0x and 40 hex digits)", n)
		}
		k := strings.ToLower(n)
		if seen[k] {
			return fmt.Errorf("nodes: %s listed twice", n)
		}
		seen[k] = true
	}
	if len(p.Nodes) > 0 && len(p.Nodes) < p.Hops {
		return fmt.Errorf("nodes: %d listed, too few for a %d-hop circuit (every hop is a different node)", len(p.Nodes), p.Hops)
	}
	return nil
}

// PriceCap returns PriceCapPerGB as a number; nil if unset.
func (p Profile) PriceCap() (*big.Int, error) {
	if p.PriceCapPerGB == "" {
		return nil, nil
	}
	v, ok := new(big.Int).SetString(p.PriceCapPerGB, 10)
	if !ok || v.Sign() < 0 || strings.ContainsAny(p.PriceCapPerGB, "+-") {
		return nil, fmt.Errorf("price_cap_per_gb: %q is not a whole number of the token's smallest unit", p.PriceCapPerGB)
	}
	return v, nil
}

func isNodeAddress(s string) bool {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || len(h) != 40 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Profile returns the profile named n.
func (s *Set) Profile(n string) (Profile, bool) {
	i := slices.IndexFunc(s.Profiles, func(p Profile) bool { return p.Name == n })
	if i < 0 {
		return Profile{}, false
	}
	return s.Profiles[i], true
}
