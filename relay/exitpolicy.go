package relay

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Exit policies.
//
// A node publishes its exit policy as a string in the registry; clients read
// it to pick exits and the node enforces the same string. The grammar
// (docs/PROTOCOL.md, section 5) is an ordered list of rules, first match
// wins, in the style of Tor's exit policies:
//
//	reject 10.0.0.0/8:*; reject [fc00::]/7:*; reject tcp *:25; accept *:80,443,1024-65535; reject *:*
//
// Design decisions:
//
//   - The node checks the address it actually dials, never the name a client
//     sent: names are resolved at the exit first and every resolved address
//     is checked (so a name that resolves to 127.0.0.1 cannot reach the
//     exit's loopback, however the name was set up).
//   - IPv4-mapped IPv6 destinations (::ffff:a.b.c.d) are IPv4 destinations:
//     they are unmapped before matching, and a mapped prefix in a rule is
//     turned into the IPv4 prefix it covers, so "[::ffff:127.0.0.1]" cannot
//     slip past "reject 127.0.0.0/8:*".
//   - A destination no rule matches is refused: what the operator did not
//     accept is not served. Policies should still end with an explicit
//     "accept *:*" or "reject *:*" so readers need not know that.
//   - Host names are not allowed in rules: the policy is published and
//     evaluated by clients, and names would make its meaning depend on a
//     resolver.
//   - Port lists and rule separators share the comma (as in "accept
//     *:80,443, reject *:*"); the word after a comma decides: "accept" or
//     "reject" starts a rule, a word with ':' starts another target of the
//     same rule, anything else is a port.

// MaxExitPolicyLen bounds the text ParseExitPolicy accepts.
const MaxExitPolicyLen = 4096

// DefaultExitPolicyText is the exit policy of a node that does not set one:
// it refuses the exit's own and private networks and SMTP, and accepts the
// rest. Its canonical form (DefaultExitPolicy().String()) fits the
// registry's 512 bytes.
const DefaultExitPolicyText = `
reject 0.0.0.0/8:*        # "this" network: 0.0.0.0 reaches the exit itself
reject 10.0.0.0/8:*       # private (RFC 1918)
reject 100.64.0.0/10:*    # carrier-grade NAT (RFC 6598)
reject 127.0.0.0/8:*      # loopback
reject 169.254.0.0/16:*   # link-local
reject 172.16.0.0/12:*    # private
reject 192.0.0.0/24:*     # IETF protocol assignments
reject 192.168.0.0/16:*   # private
reject 198.18.0.0/15:*    # benchmarking
reject 224.0.0.0/3:*      # multicast, reserved and broadcast
reject [::]/127:*         # unspecified (reaches the exit itself) and loopback
reject [64:ff9b:1::]/48:* # local-use NAT64
reject [fc00::]/7:*       # unique local
reject [fe80::]/10:*      # link-local
reject [ff00::]/8:*       # multicast
reject *:25               # SMTP: spam
accept *:*
`

// ErrExitPolicy is wrapped by the errors of ExitPolicy.Allow for refused
// destinations.
var ErrExitPolicy = errors.New("refused by exit policy")

// ExitPolicyError is a syntax error in an exit policy, with its position.
type ExitPolicyError struct {
	Offset int // byte offset in the policy text
	Line   int // 1-based
	Column int // 1-based, in bytes
	Msg    string
	multi  bool // the text has several lines
}

func (e *ExitPolicyError) Error() string {
	if e.multi {
		return fmt.Sprintf("exit policy: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("exit policy: column %d: %s", e.Column, e.Msg)
}

// ExitPolicy is a parsed exit policy. It is immutable and safe for
// concurrent use.
type ExitPolicy struct {
	rules []exitRule
}

type exitRule struct {
	accept  bool
	proto   string // "", "tcp", "udp" or "icmp"
	targets []exitTarget
}

type addrKind uint8

const (
	addrAny addrKind = iota
	addrAny4
	addrAny6
	addrPrefix
)

type exitTarget struct {
	kind   addrKind
	prefix netip.Prefix // for addrPrefix; IPv4 prefixes are never mapped
	ports  []portRange  // nil: every port
}

type portRange struct{ lo, hi uint16 }

// DefaultExitPolicy returns DefaultExitPolicyText parsed.
func DefaultExitPolicy() *ExitPolicy {
	p, err := ParseExitPolicy(DefaultExitPolicyText)
	if err != nil {
		panic("relay: default exit policy: " + err.Error()) // a constant; tested
	}
	return p
}

// ParseExitPolicy parses an exit policy. Errors are *ExitPolicyError.
func ParseExitPolicy(s string) (*ExitPolicy, error) {
	p := &policyParser{s: s, multi: strings.Contains(strings.TrimSpace(s), "\n")}
	if len(s) > MaxExitPolicyLen {
		return nil, p.errf(MaxExitPolicyLen, "policy longer than %d bytes", MaxExitPolicyLen)
	}
	return p.policy()
}

// Allow says whether the exit may connect to dst over network ("tcp",
// "udp" or "icmp"; "tcp4", "udp6" and the like count as their protocol).
// An icmp (echo) destination has no port: dst's port is ignored and only
// targets whose ports are "*" match it. It returns nil or an error
// wrapping ErrExitPolicy that names the deciding rule.
func (p *ExitPolicy) Allow(network string, dst netip.AddrPort) error {
	proto, dst, ok := policyProto(network, dst)
	if !ok {
		return fmt.Errorf("%w: network %q", ErrExitPolicy, network)
	}
	addr := dst.Addr().Unmap().WithZone("")
	if !addr.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrExitPolicy)
	}
	for i, r := range p.rules {
		if r.matches(proto, addr, dst.Port()) {
			if r.accept {
				return nil
			}
			return fmt.Errorf("%w: %s %s by rule %d (%s)", ErrExitPolicy, proto, netip.AddrPortFrom(addr, dst.Port()), i+1, r)
		}
	}
	return fmt.Errorf("%w: %s %s matches no rule", ErrExitPolicy, proto, netip.AddrPortFrom(addr, dst.Port()))
}

// policyProto returns the protocol network names for a policy and dst as
// the policy sees it: an icmp destination has port 0, which no port range
// contains.
func policyProto(network string, dst netip.AddrPort) (string, netip.AddrPort, bool) {
	proto := strings.TrimRight(network, "46")
	switch proto {
	case "tcp", "udp":
		return proto, dst, true
	case "icmp":
		return proto, netip.AddrPortFrom(dst.Addr(), 0), true
	}
	return proto, dst, false
}

func (r exitRule) matches(proto string, addr netip.Addr, port uint16) bool {
	if r.proto != "" && r.proto != proto {
		return false
	}
	for _, t := range r.targets {
		if t.matches(addr, port) {
			return true
		}
	}
	return false
}

func (t exitTarget) matches(addr netip.Addr, port uint16) bool {
	switch t.kind {
	case addrAny4:
		if !addr.Is4() {
			return false
		}
	case addrAny6:
		if !addr.Is6() {
			return false
		}
	case addrPrefix:
		if !t.prefix.Contains(addr) {
			return false
		}
	}
	if t.ports == nil {
		return true
	}
	for _, r := range t.ports {
		if port >= r.lo && port <= r.hi {
			return true
		}
	}
	return false
}

// String returns the policy in canonical form: rules separated by "; ",
// prefixes masked, single addresses without a length, IPv6 in brackets.
// Parsing it gives the same policy.
func (p *ExitPolicy) String() string {
	parts := make([]string, len(p.rules))
	for i, r := range p.rules {
		parts[i] = r.String()
	}
	return strings.Join(parts, "; ")
}

func (r exitRule) String() string {
	var b strings.Builder
	if r.accept {
		b.WriteString("accept ")
	} else {
		b.WriteString("reject ")
	}
	if r.proto != "" {
		b.WriteString(r.proto + " ")
	}
	for i, t := range r.targets {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.String())
	}
	return b.String()
}

func (t exitTarget) String() string {
	var b strings.Builder
	switch t.kind {
	case addrAny:
		b.WriteString("*")
	case addrAny4:
		b.WriteString("*4")
	case addrAny6:
		b.WriteString("*6")
	default:
		a, bits := t.prefix.Addr(), t.prefix.Bits()
		if a.Is6() {
			b.WriteString("[" + a.String() + "]")
		} else {
			b.WriteString(a.String())
		}
		if bits != a.BitLen() {
			b.WriteString("/" + strconv.Itoa(bits))
		}
	}
	b.WriteByte(':')
	if t.ports == nil {
		b.WriteByte('*')
	}
	for i, r := range t.ports {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(r.lo)))
		if r.hi != r.lo {
			b.WriteString("-" + strconv.Itoa(int(r.hi)))
		}
	}
	return b.String()
}

// policyParser is a recursive-descent parser over the policy text; i is
// the offset of the next unread byte.
type policyParser struct {
	s     string
	i     int
	multi bool
}

func (p *policyParser) errf(at int, format string, args ...any) error {
	line, col := 1, 1
	for j := 0; j < at && j < len(p.s); j++ {
		if p.s[j] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &ExitPolicyError{Offset: at, Line: line, Column: col, Msg: fmt.Sprintf(format, args...), multi: p.multi}
}

func (p *policyParser) eof() bool { return p.i >= len(p.s) }

// skipSpace skips spaces and tabs (and carriage returns) within a line.
func (p *policyParser) skipSpace() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

// skipBlank skips whitespace, newlines and comments.
func (p *policyParser) skipBlank() {
	for !p.eof() {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.i++
		case c == '#':
			p.skipComment()
		default:
			return
		}
	}
}

func (p *policyParser) skipComment() {
	for !p.eof() && p.s[p.i] != '\n' {
		p.i++
	}
}

func isWordEnd(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ';' || c == '#'
}

// word returns the text from offset at up to the next space, separator or
// comment.
func (p *policyParser) word(at int) string {
	j := at
	for j < len(p.s) && !isWordEnd(p.s[j]) {
		j++
	}
	return p.s[at:j]
}

// quote shows a word in an error message.
func quote(w string) string {
	if w == "" {
		return "end of policy"
	}
	if len(w) > 40 {
		w = w[:40] + "..."
	}
	return strconv.Quote(w)
}

func (p *policyParser) found() string {
	if p.eof() {
		return "end of policy"
	}
	if w := p.word(p.i); w != "" {
		return quote(w)
	}
	return strconv.Quote(p.s[p.i : p.i+1])
}

// After a comma: what the next word starts.
type commaNext uint8

const (
	nextNothing commaNext = iota // end, newline, another separator
	nextRule
	nextTarget
	nextPort
)

// peekComma classifies what follows the comma at p.i.
func (p *policyParser) peekComma() commaNext {
	j := p.i + 1
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t' || p.s[j] == '\r') {
		j++
	}
	w := p.word(j)
	switch {
	case w == "":
		return nextNothing
	case isAction(w):
		return nextRule
	case strings.ContainsRune(w, ':') || w[0] == '[' || w[0] == '*':
		return nextTarget
	}
	return nextPort
}

func isAction(w string) bool {
	return strings.EqualFold(w, "accept") || strings.EqualFold(w, "reject")
}

func (p *policyParser) policy() (*ExitPolicy, error) {
	pol := &ExitPolicy{}
	p.skipBlank()
	if p.eof() {
		return nil, p.errf(0, "empty policy (want rules like \"accept *:*\")")
	}
	for {
		r, err := p.rule()
		if err != nil {
			return nil, err
		}
		pol.rules = append(pol.rules, r)
		p.skipSpace()
		if !p.eof() && p.s[p.i] == '#' {
			p.skipComment()
		}
		if p.eof() {
			return pol, nil
		}
		switch p.s[p.i] {
		case ',', ';':
			p.i++
			p.skipBlank()
			if !p.eof() && (p.s[p.i] == ',' || p.s[p.i] == ';') {
				return nil, p.errf(p.i, "empty rule between separators")
			}
		case '\n':
			p.skipBlank()
		default:
			return nil, p.errf(p.i, "expected ',' or ';' or a new line before %s", p.found())
		}
		if p.eof() {
			return pol, nil // a trailing separator
		}
	}
}

func (p *policyParser) rule() (exitRule, error) {
	var r exitRule
	w := p.word(p.i)
	switch {
	case strings.EqualFold(w, "accept"):
		r.accept = true
	case strings.EqualFold(w, "reject"):
	default:
		return r, p.errf(p.i, "expected accept or reject, found %s", p.found())
	}
	p.i += len(w)
	if err := p.space(); err != nil {
		return r, err
	}
	switch w := p.word(p.i); {
	case strings.EqualFold(w, "tcp"), strings.EqualFold(w, "udp"), strings.EqualFold(w, "icmp"):
		r.proto = strings.ToLower(w)
		p.i += len(w)
		if err := p.space(); err != nil {
			return r, err
		}
	}
	for {
		t, err := p.target()
		if err != nil {
			return r, err
		}
		r.targets = append(r.targets, t)
		save := p.i
		p.skipSpace()
		if p.eof() || p.s[p.i] != ',' || p.peekComma() != nextTarget {
			p.i = save
			return r, nil
		}
		p.i++
		p.skipSpace()
	}
}

// space requires at least one space or tab.
func (p *policyParser) space() error {
	if p.eof() || (p.s[p.i] != ' ' && p.s[p.i] != '\t') {
		return p.errf(p.i, "expected a space before %s", p.found())
	}
	p.skipSpace()
	return nil
}

func (p *policyParser) target() (exitTarget, error) {
	var t exitTarget
	at := p.i
	switch {
	case p.eof():
		return t, p.errf(at, "expected an address or *, found end of policy")
	case p.s[p.i] == '*':
		p.i++
		t.kind = addrAny
		if !p.eof() && p.s[p.i] == '4' {
			t.kind = addrAny4
			p.i++
		} else if !p.eof() && p.s[p.i] == '6' {
			t.kind = addrAny6
			p.i++
		}
	case p.s[p.i] == '[':
		end := strings.IndexByte(p.s[p.i:], ']')
		if end < 0 {
			return t, p.errf(at, "missing ']' after IPv6 address")
		}
		text := p.s[p.i+1 : p.i+end]
		a, err := netip.ParseAddr(text)
		switch {
		case err != nil || a.Zone() != "":
			return t, p.errf(at+1, "bad IPv6 address %s", quote(text))
		case a.Is4():
			return t, p.errf(at+1, "IPv4 address %s in brackets (brackets are for IPv6)", quote(text))
		}
		p.i += end + 1
		pfx, err := p.prefix(a)
		if err != nil {
			return t, err
		}
		t.kind, t.prefix = addrPrefix, pfx
	case p.s[p.i] >= '0' && p.s[p.i] <= '9':
		j := p.i
		for j < len(p.s) && (p.s[j] == '.' || (p.s[j] >= '0' && p.s[j] <= '9')) {
			j++
		}
		text := p.s[p.i:j]
		if w := p.word(at); strings.Count(w, ":") > 1 {
			return t, p.errf(at, "IPv6 addresses must be in brackets, like [fc00::]/7:*")
		} else if j < len(p.s) && isLetter(p.s[j]) {
			return t, p.errf(at, "host names are not allowed, found %s (use an address, a prefix or *)", quote(w))
		}
		a, err := netip.ParseAddr(text)
		if err != nil || !a.Is4() {
			return t, p.errf(at, "bad IPv4 address %s", quote(text))
		}
		p.i = j
		pfx, err := p.prefix(a)
		if err != nil {
			return t, err
		}
		t.kind, t.prefix = addrPrefix, pfx
	default:
		w := p.word(at)
		if strings.Count(w, ":") > 1 {
			return t, p.errf(at, "IPv6 addresses must be in brackets, like [fc00::]/7:*")
		}
		if w != "" && (strings.ContainsRune(w, '.') || isLetter(w[0])) {
			return t, p.errf(at, "host names are not allowed, found %s (use an address, a prefix or *)", quote(w))
		}
		return t, p.errf(at, "expected an address or *, found %s", p.found())
	}
	if p.eof() || p.s[p.i] != ':' {
		return t, p.errf(p.i, "expected ':' and ports after the address, found %s", p.found())
	}
	p.i++
	ports, err := p.ports()
	if err != nil {
		return t, err
	}
	t.ports = ports
	return t, nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// prefix reads an optional "/bits" after a and returns the masked prefix;
// an IPv4-mapped IPv6 prefix becomes the IPv4 prefix it covers.
func (p *policyParser) prefix(a netip.Addr) (netip.Prefix, error) {
	bits := a.BitLen()
	if !p.eof() && p.s[p.i] == '/' {
		at := p.i + 1
		j := at
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(p.s[at:j])
		if err != nil || j-at > 3 || n > a.BitLen() {
			p.i = at
			shown := p.found()
			if j > at {
				shown = quote(p.s[at:j])
			}
			return netip.Prefix{}, p.errf(at, "bad prefix length %s (want 0..%d)", shown, a.BitLen())
		}
		bits, p.i = n, j
	}
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

func (p *policyParser) ports() ([]portRange, error) {
	if !p.eof() && p.s[p.i] == '*' {
		p.i++
		if !p.eof() && !isWordEnd(p.s[p.i]) {
			return nil, p.errf(p.i, "unexpected %s after port *", p.found())
		}
		return nil, nil
	}
	var out []portRange
	for {
		r, err := p.portRange()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		save := p.i
		p.skipSpace()
		if p.eof() || p.s[p.i] != ',' || p.peekComma() != nextPort {
			p.i = save
			return out, nil
		}
		p.i++
		p.skipSpace()
	}
}

func (p *policyParser) portRange() (portRange, error) {
	lo, err := p.port()
	if err != nil {
		return portRange{}, err
	}
	hi := lo
	if !p.eof() && p.s[p.i] == '-' {
		p.i++
		at := p.i
		if hi, err = p.port(); err != nil {
			return portRange{}, err
		}
		if hi < lo {
			return portRange{}, p.errf(at, "port range %d-%d is backwards", lo, hi)
		}
	}
	if !p.eof() && !isWordEnd(p.s[p.i]) {
		return portRange{}, p.errf(p.i, "unexpected %s in port list", p.found())
	}
	return portRange{lo, hi}, nil
}

func (p *policyParser) port() (uint16, error) {
	at := p.i
	for !p.eof() && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	text := p.s[at:p.i]
	if text == "" {
		p.i = at
		return 0, p.errf(at, "expected a port, a port range or *, found %s", p.found())
	}
	n, err := strconv.Atoi(text)
	if err != nil || len(text) > 5 || n < 1 || n > 65535 {
		return 0, p.errf(at, "port %s out of range 1..65535", quote(text))
	}
	return uint16(n), nil
}

// Names reports whether the policy accepts dst by naming it: whether the
// first rule with a target whose address part is a prefix containing dst
// (not a wildcard such as "*" or "*4") and whose protocol and ports match
// is an accept rule. An exit serves its own addresses only if its policy
// names them (see NodeConfig.Policy).
func (p *ExitPolicy) Names(network string, dst netip.AddrPort) bool {
	proto, dst, ok := policyProto(network, dst)
	addr := dst.Addr().Unmap().WithZone("")
	if !addr.IsValid() || !ok {
		return false
	}
	for _, r := range p.rules {
		if r.proto != "" && r.proto != proto {
			continue
		}
		for _, t := range r.targets {
			if t.kind == addrPrefix && t.matches(addr, dst.Port()) {
				return r.accept
			}
		}
	}
	return false
}
