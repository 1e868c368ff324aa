// Package deptest checks the module's import graph against the dependency
// rules of the architecture (which package may import which), so the shape
// of the code is enforced by a test rather than by review. The rules
// themselves are in [Rules]; deptest_test.go checks them against the real
// graph, as `go list -deps` reports it for the build (test files are not
// part of it), for each operating system the code is built for.
package deptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Module is the import path of the module the rules speak of. Patterns in a
// [Rule] are relative to it.
const Module = "github.com/pexia-network/pexia"

// Graph maps a package's import path to the import paths it imports
// directly.
type Graph map[string][]string

// A Rule forbids the packages matching From to import the packages matching
// Deny (except those matching Except, and packages that match From
// themselves, so a package may always use its own subpackages; a From of
// "..." exempts nothing, or it would exempt every package).
//
// A pattern is a module-relative path: "hop" is that package only, "hop/..."
// is hop and everything below it, and "..." is every package of the module.
// Only packages of the module are ever denied; the standard library and
// other modules are not the subject of these rules.
type Rule struct {
	From   []string
	Deny   []string
	Except []string
	// Direct limits the rule to direct imports. Otherwise a denied package
	// reached through any chain of module packages is a violation too.
	Direct bool
	// Why is printed with each violation.
	Why string
}

// Rules are the dependency rules of the module (see ARCHITECTURE.md,
// "Packages" and "Trust boundaries").
var Rules = []Rule{
	{
		From: []string{"hop/...", "relay/..."},
		Deny: []string{"wallet/..."},
		Why:  "circuits pay through the payer interface of hop and the payee interface of relay; internal/payhop bridges them to wallet",
	},
	{
		From: []string{"wallet/..."},
		Deny: []string{"hop/...", "relay/..."},
		Why:  "the wallet knows nothing of circuits; internal/payhop bridges hop and relay to wallet",
	},
	{
		From: []string{"hop/...", "relay/..."},
		Deny: []string{"netstack/..."},
		Why:  "circuits carry streams; the packet stack sits above them in the daemon",
	},
	{
		From: []string{"hop"},
		Deny: []string{"relay/..."},
		Why:  "the client side of circuits never reads the node side; what both need is in hop/wire, hop/link, hop/onion and hop/stream",
	},
	{
		From: []string{"relay/..."},
		Deny: []string{"hop"},
		Why:  "the node side of circuits never reads the client side; what both need is in hop/wire, hop/link, hop/onion and hop/stream",
	},
	{
		From:   []string{"netstack/..."},
		Deny:   []string{"..."},
		Except: []string{"internal/icmperr"},
		Why:    "the packet stack is self-contained: the daemon hands it a handler",
	},
	{
		From:   []string{"ui/..."},
		Deny:   []string{"..."},
		Except: []string{"api"},
		Direct: true,
		Why:    "the desktop app talks to pexiad over the local API only",
	},
	{
		From: []string{"proxy/..."},
		Deny: []string{"hop/stream/..."},
		Why:  "the proxy takes a Dialer; the reason codes it acts on live in internal/reason",
	},
	{
		From: []string{"internal/reason"},
		Deny: []string{"..."},
		Why:  "the reason codes are a leaf shared by hop/stream and proxy",
	},
	{
		From: []string{"internal/icmperr"},
		Deny: []string{"..."},
		Why:  "the ICMP error type is a leaf shared by hop/stream, relay and netstack",
	},
	{
		From: []string{"internal/logger"},
		Deny: []string{"..."},
		Why:  "the Logf type is a leaf every package may use",
	},
	{
		From:   []string{"rules"},
		Deny:   []string{"..."},
		Except: []string{"internal/atomicfile"},
		Why:    "the rule engine is a portable leaf: the daemon hands it flows, and the OS lookups live in rules/owner",
	},
	{
		From: []string{"..."},
		Deny: []string{"internal/testutil"},
		Why:  "internal/testutil is for tests (_test.go files) only",
	},
}

// Violation is one forbidden import: Chain runs from a package the rule
// applies to, through the packages it imports, to the denied package.
type Violation struct {
	Rule  *Rule
	Chain []string
}

func (v Violation) String() string {
	short := make([]string, len(v.Chain))
	for i, p := range v.Chain {
		short[i] = rel(p)
	}
	how := "imports"
	if len(short) > 2 {
		how = "imports (through " + strings.Join(short[1:len(short)-1], " -> ") + ")"
	}
	return fmt.Sprintf("%s %s %s: %s; import chain: %s",
		short[0], how, short[len(short)-1], v.Rule.Why, strings.Join(short, " -> "))
}

// rel is p relative to the module, or p itself outside it.
func rel(p string) string {
	if p == Module {
		return "."
	}
	if r, ok := strings.CutPrefix(p, Module+"/"); ok {
		return r
	}
	return p
}

// inModule says whether p is a package of the module.
func inModule(p string) bool { return p == Module || strings.HasPrefix(p, Module+"/") }

// match says whether the module package p matches pattern.
func match(pattern, p string) bool {
	if !inModule(p) {
		return false
	}
	r := rel(p)
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return r == base || strings.HasPrefix(r, base+"/")
	}
	return r == pattern
}

func matchAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		if match(pat, p) {
			return true
		}
	}
	return false
}

func (r *Rule) denies(p string) bool {
	if !matchAny(r.Deny, p) || matchAny(r.Except, p) {
		return false
	}
	for _, from := range r.From {
		if from != "..." && match(from, p) {
			return false
		}
	}
	return true
}

// Check returns every violation of rules in g, one per (package, denied
// package) pair with the shortest chain, sorted.
func Check(g Graph, rules []Rule) []Violation {
	var out []Violation
	pkgs := make([]string, 0, len(g))
	for p := range g {
		if inModule(p) {
			pkgs = append(pkgs, p)
		}
	}
	slices.Sort(pkgs)
	for i := range rules {
		r := &rules[i]
		for _, p := range pkgs {
			if matchAny(r.From, p) {
				out = append(out, r.check(g, p)...)
			}
		}
	}
	return out
}

// check walks the module packages reachable from start, breadth first so
// that each denied package is reported with a shortest chain.
func (r *Rule) check(g Graph, start string) []Violation {
	var out []Violation
	prev := map[string]string{start: ""}
	queue := []string{start}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		imps := slices.Clone(g[p])
		slices.Sort(imps)
		for _, imp := range imps {
			if !inModule(imp) {
				continue
			}
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = p
			if r.denies(imp) {
				chain := []string{imp}
				for q := p; q != ""; q = prev[q] {
					chain = append(chain, q)
				}
				slices.Reverse(chain)
				out = append(out, Violation{Rule: r, Chain: chain})
			}
			if !r.Direct {
				queue = append(queue, imp)
			}
		}
	}
	return out
}

// Load runs `go list -deps` on the module's packages with the extra
// environment env (such as GOOS=windows) and returns the import graph.
func Load(goTool, dir string, env ...string) (Graph, error) {
	cmd := exec.Command(goTool, "list", "-deps", "-json=ImportPath,Imports", Module+"/...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %v: %w\n%s", env, err, stderr.Bytes())
	}
	return decode(bytes.NewReader(out))
}

// decode reads the JSON stream of go list -json.
func decode(r io.Reader) (Graph, error) {
	g := Graph{}
	dec := json.NewDecoder(r)
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		g[p.ImportPath] = p.Imports
	}
	if len(g) == 0 {
		return nil, errors.New("go list listed no packages")
	}
	return g, nil
}
