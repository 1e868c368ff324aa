package rules

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"unicode"
)

// Action is what happens to a flow.
type Action string

// The actions.
const (
	Tunnel Action = "tunnel" // through a circuit
	Direct Action = "direct" // out of the machine's own interface
	Block  Action = "block"  // refused
)

// Target is an action and, for tunnel, the profile of the circuit.
type Target struct {
	Action Action `json:"action"`
	// Profile names a Profile of the Set for a tunnel; empty means the
	// connection's own circuit. Must be empty for direct and block.
	Profile string `json:"profile,omitempty"`
}

// String formats t as "tunnel(name)", "tunnel", "direct" or "block".
func (t Target) String() string {
	if t.Action == Tunnel && t.Profile != "" {
		return "tunnel(" + t.Profile + ")"
	}
	return string(t.Action)
}

// ParseTarget reads "tunnel", "tunnel(profile)", "direct" or "block".
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutPrefix(s, "tunnel("); ok {
		name, ok := strings.CutSuffix(p, ")")
		if !ok {
			return Target{}, fmt.Errorf("action %q: missing \")\"", s)
		}
		t := Target{Action: Tunnel, Profile: name}
		return t, t.validate()
	}
	t := Target{Action: Action(s)}
	return t, t.validate()
}

func (t Target) validate() error {
	switch t.Action {
	case Tunnel:
		if t.Profile != "" {
			if err := checkProfileName(t.Profile); err != nil {
				return fmt.Errorf("profile: %w", err)
			}
		}
	case Direct, Block:
		if t.Profile != "" {
			return fmt.Errorf("profile %q: only a tunnel takes a profile", t.Profile)
		}
	case "":
		return fmt.Errorf("action missing: want tunnel, tunnel(profile), direct or block")
	default:
		return fmt.Errorf("action %q: want tunnel, tunnel(profile), direct or block", t.Action)
	}
	return nil
}

// Proto is a flow's transport protocol.
type Proto string

// The protocols a rule can name.
const (
	TCP  Proto = "tcp"
	UDP  Proto = "udp"
	ICMP Proto = "icmp" // echo (ping) flows
)

func (p Proto) bit() uint8 {
	switch p {
	case TCP:
		return 1
	case UDP:
		return 2
	case ICMP:
		return 4
	}
	return 0
}

// Match is a rule's conditions. Each field lists alternatives, of which
// one must hold; every non-empty field must hold. The JSON values are
// strings as the user writes them, checked by Set.Validate.
type Match struct {
	// Exe is the executable's absolute path, or a path.Match pattern
	// ("/opt/*/bin/app").
	Exe []string `json:"exe,omitempty"`
	// Name is the process name: its comm (at most 15 bytes, as the kernel
	// keeps it) or the base name of its executable.
	Name []string `json:"name,omitempty"`
	// Desktop is the desktop-entry id the session gave the app
	// ("org.mozilla.firefox", without ".desktop"); see DesktopID.
	Desktop []string `json:"desktop,omitempty"`
	// Cgroup is a cgroup v2 path: that group and every group under it.
	Cgroup []string `json:"cgroup,omitempty"`
	// UID is the user id owning the flow's socket.
	UID []uint32 `json:"uid,omitempty"`
	// Domain is a name ("example.com") or a name and all under it
	// (".example.com"), as DNS answers gave the destination address.
	Domain []string `json:"domain,omitempty"`
	// Dst is a destination prefix ("10.0.0.0/8", "2001:db8::/32") or
	// address.
	Dst []string `json:"dst,omitempty"`
	// Port is a destination port ("443") or an inclusive range
	// ("6881-6889").
	Port []string `json:"port,omitempty"`
	// Proto is "tcp", "udp" or "icmp".
	Proto []string `json:"proto,omitempty"`
}

// empty says whether m has no condition at all.
func (m Match) empty() bool {
	return len(m.Exe)+len(m.Name)+len(m.Desktop)+len(m.Cgroup)+len(m.UID)+
		len(m.Domain)+len(m.Dst)+len(m.Port)+len(m.Proto) == 0
}

// Rule is one entry of the ordered rule list.
type Rule struct {
	// Name is an optional label shown by list and test.
	Name  string `json:"name,omitempty"`
	Match Match  `json:"match"`
	Target
	// AddedBy is the uid of the group member who added the rule; absent
	// for an admin's. The daemon uses it to decide who may remove or move
	// the rule.
	AddedBy *uint32 `json:"added_by,omitempty"`
}

// Limits of a Set, so a file or a request cannot make matching slow or the
// daemon's memory large.
const (
	MaxRules       = 1000
	MaxProfiles    = 64
	MaxValues      = 256 // per Match field
	MaxRuleNameLen = 64
)

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi uint16 }

// ParsePortRange reads "443" or "6881-6889".
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := parsePort(lo)
	if err != nil {
		return PortRange{}, err
	}
	if !isRange {
		return PortRange{a, a}, nil
	}
	b, err := parsePort(hi)
	if err != nil {
		return PortRange{}, err
	}
	if b < a {
		return PortRange{}, fmt.Errorf("range %q runs backwards", s)
	}
	return PortRange{a, b}, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port (1-65535)", s)
	}
	return uint16(n), nil
}

// ParsePrefix reads a prefix or a single address (as a /32 or /128). A
// prefix with host bits set is refused, since it usually means a typo.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or prefix", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a prefix", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q: write an IPv4 prefix in IPv4 form", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has bits set past /%d (did you mean %s?)", s, p.Bits(), p.Masked())
	}
	return p, nil
}

// NormalizeDomain lower-cases d and drops a trailing dot; it checks that
// d is a name ("example.com") or a name with a leading dot
// (".example.com": that name and every name under it).
func NormalizeDomain(d string) (string, error) {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if strings.HasPrefix(n, "*") {
		return "", fmt.Errorf("%q: wildcards are not supported; \".%s\" means that name and every name under it", d, strings.TrimLeft(n, "*."))
	}
	body := strings.TrimPrefix(n, ".")
	if body == "" || len(body) > 253 {
		return "", fmt.Errorf("%q is not a domain name", d)
	}
	for _, label := range strings.Split(body, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("%q is not a domain name (empty or over-long label)", d)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a domain name (character %q)", d, c)
			}
		}
	}
	return n, nil
}

// compiled is a rule ready for matching.
type compiled struct {
	name   string
	target Target

	protos  uint8 // bits of Proto; 0 for any
	ports   []PortRange
	dst     []netip.Prefix
	uids    []uint32
	exe     []string // exact paths
	exePat  []string // patterns
	names   []string
	desktop []string
	cgroups []string
	domains []string // exact names
	suffix  []string // ".example.com": matched by the name and names under it

	app     bool // has a condition on the owner other than uid
	hasUID  bool
	domain  bool
	address bool // has dst, port or proto
}

// field names a Match field in errors and explanations.
type field string

const (
	fProto   field = "proto"
	fPort    field = "port"
	fDst     field = "dst"
	fUID     field = "uid"
	fExe     field = "exe"
	fName    field = "name"
	fDesktop field = "desktop"
	fCgroup  field = "cgroup"
	fDomain  field = "domain"
)

// compile checks r and returns it ready for matching; errors name the
// field and the value.
func compile(r Rule) (*compiled, error) {
	c := &compiled{name: r.Name, target: r.Target}
	if len(r.Name) > MaxRuleNameLen {
		return nil, fmt.Errorf("name: longer than %d bytes", MaxRuleNameLen)
	}
	for _, ch := range r.Name {
		if !unicode.IsPrint(ch) {
			return nil, fmt.Errorf("name: %q holds a control character", r.Name)
		}
	}
	if err := r.Target.validate(); err != nil {
		return nil, err
	}
	m := r.Match
	if m.empty() {
		return nil, fmt.Errorf("match: no condition; a rule for every flow is the default (set it with the default action instead)")
	}
	for _, f := range []struct {
		name field
		n    int
	}{{fExe, len(m.Exe)}, {fName, len(m.Name)}, {fDesktop, len(m.Desktop)}, {fCgroup, len(m.Cgroup)},
		{fUID, len(m.UID)}, {fDomain, len(m.Domain)}, {fDst, len(m.Dst)}, {fPort, len(m.Port)}, {fProto, len(m.Proto)}} {
		if f.n > MaxValues {
			return nil, fmt.Errorf("match.%s: %d values, at most %d", f.name, f.n, MaxValues)
		}
	}
	for _, p := range m.Proto {
		b := Proto(strings.ToLower(strings.TrimSpace(p))).bit()
		if b == 0 {
			return nil, fmt.Errorf("match.proto: %q: want tcp, udp or icmp", p)
		}
		c.protos |= b
	}
	for _, s := range m.Port {
		pr, err := ParsePortRange(s)
		if err != nil {
			return nil, fmt.Errorf("match.port: %w", err)
		}
		c.ports = append(c.ports, pr)
	}
	if len(c.ports) > 0 && c.protos&ICMP.bit() != 0 {
		return nil, fmt.Errorf("match.port: icmp flows have no port; drop icmp from proto or the ports")
	}
	for _, s := range m.Dst {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("match.dst: %w", err)
		}
		c.dst = append(c.dst, p)
	}
	c.uids = append(c.uids, m.UID...)
	for _, s := range m.Exe {
		if !strings.HasPrefix(s, "/") {
			return nil, fmt.Errorf("match.exe: %q is not an absolute path", s)
		}
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("match.exe: %q: bad pattern", s)
		}
		if strings.ContainsAny(s, `*?[\`) {
			c.exePat = append(c.exePat, s)
		} else {
			c.exe = append(c.exe, path.Clean(s))
		}
	}
	for _, s := range m.Name {
		if s == "" || strings.Contains(s, "/") {
			return nil, fmt.Errorf("match.name: %q is not a process name (use exe for a path)", s)
		}
		c.names = append(c.names, s)
	}
	for _, s := range m.Desktop {
		s = strings.TrimSuffix(s, ".desktop")
		if s == "" || strings.ContainsAny(s, "/ ") {
			return nil, fmt.Errorf("match.desktop: %q is not a desktop-entry id", s)
		}
		c.desktop = append(c.desktop, s)
	}
	for _, s := range m.Cgroup {
		if !strings.HasPrefix(s, "/") {
			return nil, fmt.Errorf("match.cgroup: %q: want a path from the cgroup root, such as /user.slice/user-1000.slice", s)
		}
		if s != "/" {
			s = strings.TrimSuffix(path.Clean(s), "/")
		}
		c.cgroups = append(c.cgroups, s)
	}
	for _, s := range m.Domain {
		d, err := NormalizeDomain(s)
		if err != nil {
			return nil, fmt.Errorf("match.domain: %w", err)
		}
		if strings.HasPrefix(d, ".") {
			c.suffix = append(c.suffix, d)
		} else {
			c.domains = append(c.domains, d)
		}
	}
	c.app = len(c.exe)+len(c.exePat)+len(c.names)+len(c.desktop)+len(c.cgroups) > 0
	c.hasUID = len(c.uids) > 0
	c.domain = len(c.domains)+len(c.suffix) > 0
	c.address = c.protos != 0 || len(c.ports) > 0 || len(c.dst) > 0
	return c, nil
}

// matchAddr checks the conditions on the flow's protocol and destination.
func (c *compiled) matchAddr(f *Flow) (field, bool) {
	if c.protos != 0 && c.protos&f.Proto.bit() == 0 {
		return fProto, false
	}
	if len(c.ports) > 0 {
		p := f.Dst.Port()
		ok := false
		for _, r := range c.ports {
			if p >= r.Lo && p <= r.Hi {
				ok = true
				break
			}
		}
		if !ok || f.Proto == ICMP {
			return fPort, false
		}
	}
	if len(c.dst) > 0 {
		a := f.Dst.Addr().Unmap()
		ok := false
		for _, p := range c.dst {
			if p.Contains(a) {
				ok = true
				break
			}
		}
		if !ok {
			return fDst, false
		}
	}
	return "", true
}

// matchOwner checks the conditions on the flow's owner.
func (c *compiled) matchOwner(o *Owner) (field, bool) {
	if c.hasUID {
		if !o.HasUID || !containsUID(c.uids, o.UID) {
			return fUID, false
		}
	}
	if !c.app {
		return "", true
	}
	if o.PID == 0 {
		switch {
		case len(c.exe)+len(c.exePat) > 0:
			return fExe, false
		case len(c.names) > 0:
			return fName, false
		case len(c.desktop) > 0:
			return fDesktop, false
		}
		return fCgroup, false
	}
	if len(c.exe)+len(c.exePat) > 0 {
		ok := false
		for _, e := range c.exe {
			if e == o.Exe {
				ok = true
				break
			}
		}
		if !ok {
			for _, p := range c.exePat {
				if m, _ := path.Match(p, o.Exe); m {
					ok = true
					break
				}
			}
		}
		if !ok {
			return fExe, false
		}
	}
	if len(c.names) > 0 {
		base := path.Base(o.Exe)
		ok := false
		for _, n := range c.names {
			if n == o.Name || (o.Exe != "" && n == base) {
				ok = true
				break
			}
		}
		if !ok {
			return fName, false
		}
	}
	if len(c.desktop) > 0 {
		ok := false
		for _, d := range c.desktop {
			if o.Desktop != "" && d == o.Desktop {
				ok = true
				break
			}
		}
		if !ok {
			return fDesktop, false
		}
	}
	if len(c.cgroups) > 0 {
		ok := false
		for _, g := range c.cgroups {
			if o.Cgroup != "" && (g == "/" || o.Cgroup == g || strings.HasPrefix(o.Cgroup, g) && o.Cgroup[len(g)] == '/') {
				ok = true
				break
			}
		}
		if !ok {
			return fCgroup, false
		}
	}
	return "", true
}

func containsUID(us []uint32, u uint32) bool {
	for _, x := range us {
		if x == u {
			return true
		}
	}
	return false
}

// matchNames checks the domain conditions against the names of the
// destination.
func (c *compiled) matchNames(names []string) bool {
	for _, n := range names {
		for _, d := range c.domains {
			if n == d {
				return true
			}
		}
		for _, s := range c.suffix {
			if strings.HasSuffix(n, s) || n == s[1:] {
				return true
			}
		}
	}
	return false
}
