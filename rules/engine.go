package rules

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
)

// Owner is the process that owns a flow's socket, as far as it is known.
// The zero Owner is an unknown one: it fails every application condition.
type Owner struct {
	// PID is the process id; 0 if the process was not found (then only
	// UID may be known).
	PID int `json:"pid,omitempty"`
	// UID is the user id owning the socket, valid if HasUID.
	UID    uint32 `json:"uid"`
	HasUID bool   `json:"has_uid"`
	// Exe is the executable's path, Name the process's comm.
	Exe  string `json:"exe,omitempty"`
	Name string `json:"name,omitempty"`
	// Cgroup is the process's cgroup v2 path; Desktop the desktop-entry
	// id found in it (DesktopID), if any.
	Cgroup  string `json:"cgroup,omitempty"`
	Desktop string `json:"desktop,omitempty"`
}

// HypotheticalPID is the PID of the Owner of a made-up flow (pexia rules
// test) whose application is given.
const HypotheticalPID = -1

// Known says whether the owning process was found.
func (o Owner) Known() bool { return o.PID != 0 }

func (o Owner) String() string {
	if o.PID == HypotheticalPID {
		return fmt.Sprintf("process %q exe %q desktop %q cgroup %q", o.Name, o.Exe, o.Desktop, o.Cgroup)
	}
	if o.PID == 0 {
		if o.HasUID {
			return fmt.Sprintf("unknown process of uid %d", o.UID)
		}
		return "unknown process"
	}
	s := fmt.Sprintf("pid %d %s", o.PID, o.Exe)
	if o.Exe == "" {
		s = fmt.Sprintf("pid %d (%s)", o.PID, o.Name)
	}
	if o.HasUID {
		s += fmt.Sprintf(" uid %d", o.UID)
	}
	if o.Desktop != "" {
		s += " desktop " + o.Desktop
	}
	return s
}

// Flow is what the engine knows of a new flow.
type Flow struct {
	Proto Proto
	Src   netip.AddrPort // the app's end, as the app sent it
	Dst   netip.AddrPort
	Owner Owner
	// Names are names the destination is known by, for a flow opened by
	// name (a proxy's CONNECT host); for other flows the engine asks the
	// NameLookup when a rule needs them.
	Names []string
}

// NameLookup returns the names DNS answers gave an address, lower case
// without the trailing dot (the netstack's name table implements it).
type NameLookup interface {
	Lookup(netip.Addr) []string
}

// Decision is what the engine decided for a flow.
type Decision struct {
	Target
	// Rule is the 1-based position of the rule that decided, 0 for the
	// default; RuleName its name.
	Rule     int
	RuleName string
}

func (d Decision) String() string {
	if d.Rule == 0 {
		return d.Target.String() + " (default)"
	}
	if d.RuleName != "" {
		return fmt.Sprintf("%s (rule %d %q)", d.Target, d.Rule, d.RuleName)
	}
	return fmt.Sprintf("%s (rule %d)", d.Target, d.Rule)
}

// Engine classifies flows with a validated Set. Classify may run
// concurrently with itself and with a change of the set (which takes
// effect for the next flow).
type Engine struct {
	prog atomic.Pointer[program]
}

// NewEngine returns an engine using s, which must validate.
func NewEngine(s Set) (*Engine, error) {
	p, err := s.compile()
	if err != nil {
		return nil, err
	}
	e := &Engine{}
	e.prog.Store(p)
	return e, nil
}

// Set returns a copy of the set in use.
func (e *Engine) Set() Set { return e.prog.Load().set.Clone() }

// Profile returns the profile named n of the set in use; its slices are
// shared and must not be changed.
func (e *Engine) Profile(n string) (Profile, bool) {
	s := &e.prog.Load().set
	return s.Profile(n)
}

// NeedsOwner says whether any rule looks at a flow's owner; if none does,
// the caller may skip the owner lookup.
func (e *Engine) NeedsOwner() bool { return e.prog.Load().needOwner }

// Classify returns the decision for f. names, which may be nil, is asked
// for the destination's names only if a rule reached needs them and
// f.Names is empty.
func (e *Engine) Classify(f *Flow, names NameLookup) Decision {
	p := e.prog.Load()
	var looked bool
	for i, c := range p.rules {
		if _, ok := c.matchAddr(f); !ok {
			continue
		}
		if _, ok := c.matchOwner(&f.Owner); !ok {
			continue
		}
		if c.domain {
			if !looked {
				looked = true
				if len(f.Names) == 0 && names != nil {
					f.Names = names.Lookup(f.Dst.Addr())
				}
			}
			if !c.matchNames(f.Names) {
				continue
			}
		}
		return Decision{Target: c.target, Rule: i + 1, RuleName: c.name}
	}
	return Decision{Target: p.set.Default}
}

// Step is one rule that Explain looked at.
type Step struct {
	Rule    int    `json:"rule"` // 1-based
	Name    string `json:"name,omitempty"`
	Target  string `json:"target"`
	Matched bool   `json:"matched"`
	// Why says which condition failed, or that all held.
	Why string `json:"why"`
}

// Explanation is what Explain found: every rule looked at in order, up to
// the one that decided, and the decision.
type Explanation struct {
	Decision Decision `json:"decision"`
	Steps    []Step   `json:"steps"`
	// Names are the names known for the destination, if a rule needed
	// them.
	Names []string `json:"names,omitempty"`
}

// String renders e for a terminal, a line per rule.
func (x Explanation) String() string {
	var b strings.Builder
	for _, s := range x.Steps {
		mark := "  no "
		if s.Matched {
			mark = "  YES"
		}
		label := fmt.Sprintf("rule %d", s.Rule)
		if s.Name != "" {
			label += fmt.Sprintf(" %q", s.Name)
		}
		fmt.Fprintf(&b, "%s %s -> %s: %s\n", mark, label, s.Target, s.Why)
	}
	if x.Decision.Rule == 0 {
		fmt.Fprintf(&b, "  no rule matched: the default, %s\n", x.Decision.Target)
	}
	fmt.Fprintf(&b, "decision: %s\n", x.Decision)
	return b.String()
}

// Explain says which rule f hits and why each rule before it did not,
// as `pexia rules test` shows it. It decides exactly as Classify does.
func (e *Engine) Explain(f *Flow, names NameLookup) Explanation {
	p := e.prog.Load()
	var x Explanation
	var looked bool
	for i, c := range p.rules {
		st := Step{Rule: i + 1, Name: c.name, Target: c.target.String()}
		fld, ok := c.matchAddr(f)
		if ok {
			fld, ok = c.matchOwner(&f.Owner)
		}
		if ok && c.domain {
			if !looked {
				looked = true
				if len(f.Names) == 0 && names != nil {
					f.Names = names.Lookup(f.Dst.Addr())
				}
				x.Names = f.Names
			}
			if !c.matchNames(f.Names) {
				fld, ok = fDomain, false
			}
		}
		if ok {
			st.Matched = true
			st.Why = "every condition holds: " + c.describe()
			x.Steps = append(x.Steps, st)
			x.Decision = Decision{Target: c.target, Rule: i + 1, RuleName: c.name}
			return x
		}
		st.Why = c.whyNot(fld, f)
		x.Steps = append(x.Steps, st)
	}
	x.Decision = Decision{Target: p.set.Default}
	return x
}

// describe lists c's conditions.
func (c *compiled) describe() string {
	var parts []string
	add := func(f field, vs []string) {
		if len(vs) > 0 {
			parts = append(parts, string(f)+" "+strings.Join(vs, ","))
		}
	}
	add(fProto, c.protoList())
	var ports []string
	for _, r := range c.ports {
		ports = append(ports, r.String())
	}
	add(fPort, ports)
	var dst []string
	for _, p := range c.dst {
		dst = append(dst, p.String())
	}
	add(fDst, dst)
	var uids []string
	for _, u := range c.uids {
		uids = append(uids, fmt.Sprint(u))
	}
	add(fUID, uids)
	add(fExe, append(append([]string(nil), c.exe...), c.exePat...))
	add(fName, c.names)
	add(fDesktop, c.desktop)
	add(fCgroup, c.cgroups)
	add(fDomain, append(append([]string(nil), c.domains...), c.suffix...))
	return strings.Join(parts, "; ")
}

func (c *compiled) protoList() []string {
	var out []string
	for _, p := range []Proto{TCP, UDP, ICMP} {
		if c.protos&p.bit() != 0 {
			out = append(out, string(p))
		}
	}
	return out
}

// whyNot says how f failed condition fld of c.
func (c *compiled) whyNot(fld field, f *Flow) string {
	o := &f.Owner
	switch fld {
	case fProto:
		return fmt.Sprintf("proto %s is not %s", f.Proto, strings.Join(c.protoList(), ","))
	case fPort:
		if f.Proto == ICMP {
			return "icmp flows have no port"
		}
		var ports []string
		for _, r := range c.ports {
			ports = append(ports, r.String())
		}
		return fmt.Sprintf("port %d is not in %s", f.Dst.Port(), strings.Join(ports, ","))
	case fDst:
		var dst []string
		for _, p := range c.dst {
			dst = append(dst, p.String())
		}
		return fmt.Sprintf("destination %s is not in %s", f.Dst.Addr(), strings.Join(dst, ","))
	case fUID:
		if !o.HasUID {
			return "the owner's uid is unknown"
		}
		return fmt.Sprintf("uid %d is not %s", o.UID, strings.Trim(fmt.Sprint(c.uids), "[]"))
	case fDomain:
		if len(f.Names) == 0 {
			return fmt.Sprintf("no DNS answer seen for %s, so it has no name", f.Dst.Addr())
		}
		return fmt.Sprintf("names %s match none of %s", strings.Join(f.Names, ","),
			strings.Join(append(append([]string(nil), c.domains...), c.suffix...), ","))
	}
	if o.PID == 0 {
		return fmt.Sprintf("%s: the owning process is unknown (%s)", fld, o)
	}
	switch fld {
	case fExe:
		return fmt.Sprintf("exe %q is not %s", o.Exe, strings.Join(append(append([]string(nil), c.exe...), c.exePat...), ","))
	case fName:
		return fmt.Sprintf("name %q (exe %q) is not %s", o.Name, o.Exe, strings.Join(c.names, ","))
	case fDesktop:
		if o.Desktop == "" {
			return "the owner has no desktop-entry id"
		}
		return fmt.Sprintf("desktop %q is not %s", o.Desktop, strings.Join(c.desktop, ","))
	case fCgroup:
		return fmt.Sprintf("cgroup %q is not under %s", o.Cgroup, strings.Join(c.cgroups, ","))
	}
	return string(fld)
}

// String formats r as "443" or "6881-6889".
func (r PortRange) String() string {
	if r.Lo == r.Hi {
		return fmt.Sprint(r.Lo)
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}
