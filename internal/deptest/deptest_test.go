package deptest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestModuleDeps checks the real import graph of the module against Rules,
// for each operating system the code is built for (files differ per OS).
func TestModuleDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the import graph: %v", err)
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			// cgo on for every OS, as the desktop app (Fyne's GL
			// driver) builds: without it a cross listing finds no
			// files in the GL packages.
			g, err := Load(goTool, ".", "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=1")
			if err != nil {
				t.Fatal(err)
			}
			// A rule whose packages are gone (renamed, moved) would pass
			// without checking anything.
			for _, r := range Rules {
				for _, from := range r.From {
					if !slices.ContainsFunc(pkgsOf(g), func(p string) bool { return match(from, p) }) {
						t.Errorf("rule for %q matches no package; update deptest.Rules", from)
					}
				}
			}
			for _, v := range Check(g, Rules) {
				t.Errorf("GOOS=%s: %s", goos, v)
			}
		})
	}
}

// TestDesktopAppImports checks the desktop app's package imports nothing
// but api, Fyne and the standard library, and not Fyne's app package
// (which needs a display, so its tests could not run headless).
func TestDesktopAppImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the import graph: %v", err)
	}
	g, err := Load(goTool, ".", "CGO_ENABLED=1")
	if err != nil {
		t.Fatal(err)
	}
	ui := Module + "/ui"
	checked := 0
	for p, imps := range g {
		if p != ui && !strings.HasPrefix(p, ui+"/") {
			continue
		}
		checked++
		for _, imp := range imps {
			std := !strings.Contains(strings.Split(imp, "/")[0], ".")
			fyne := strings.HasPrefix(imp, "fyne.io/fyne/v2")
			switch {
			case imp == "fyne.io/fyne/v2/app":
				t.Errorf("%s imports %s: the app package needs a display; cmd/pexia-gui makes the app", p, imp)
			case imp == Module+"/api", std, fyne:
			default:
				t.Errorf("%s imports %s: the desktop app may import only api, Fyne and the standard library", p, imp)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no ui package in the graph")
	}
}

func pkgsOf(g Graph) []string {
	var out []string
	for p := range g {
		out = append(out, p)
	}
	return out
}

// graph builds a Graph from "pkg: imp imp" lines. Paths are module-relative,
// except those whose first element has a dot (other modules) and the few
// standard packages isStd knows.
func graph(lines ...string) Graph {
	g := Graph{}
	abs := func(p string) string {
		if strings.Contains(strings.Split(p, "/")[0], ".") || isStd(p) {
			return p
		}
		return Module + "/" + p
	}
	for _, l := range lines {
		from, imps, _ := strings.Cut(l, ":")
		var list []string
		for _, imp := range strings.Fields(imps) {
			list = append(list, abs(imp))
		}
		g[abs(strings.TrimSpace(from))] = list
	}
	return g
}

func isStd(p string) bool { return p == "fmt" || p == "net" || p == "errors" }

// TestCheck feeds Check import graphs that break each rule, and graphs that
// keep them, and checks the violations reported.
func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		graph Graph
		want  []string // each violation's chain, module-relative
	}{
		{
			name: "current shape passes",
			graph: graph(
				"hop: hop/stream hop/onion hop/link hop/wire fmt",
				"hop/stream: internal/reason errors",
				"hop/onion: golang.org/x/crypto/chacha20poly1305",
				"hop/link: github.com/pion/webrtc/v4",
				"hop/wire: hop/link hop/onion",
				"relay: hop/stream hop/onion hop/link hop/wire net",
				"hop/hoptest: hop relay hop/link hop/onion",
				"wallet: fmt",
				"wallet/ticket: wallet wallet/chain",
				"wallet/chain: wallet contracts",
				"contracts:",
				"internal/payhop: hop relay wallet/ticket",
				"internal/reason: errors",
				"netstack: gvisor.dev/gvisor/pkg/tcpip net",
				"proxy: internal/reason net",
				"ui: api fyne.io/fyne/v2/widget",
				"api: net internal/logger",
				"internal/logger:",
				"internal/testutil: internal/logger",
				"daemon: hop wallet netstack proxy api internal/payhop internal/logger",
				"cmd/pexia-node: relay internal/payhop wallet",
			),
		},
		{
			name:  "hop imports wallet directly",
			graph: graph("hop: wallet/ticket", "wallet/ticket: wallet", "wallet:"),
			want:  []string{"hop -> wallet/ticket", "hop -> wallet/ticket -> wallet"},
		},
		{
			name: "hop subpackage reaches wallet through a helper",
			graph: graph(
				"hop:", "hop/link: internal/helper", "internal/helper: wallet", "wallet:",
			),
			want: []string{"hop/link -> internal/helper -> wallet"},
		},
		{
			name:  "wallet imports hop",
			graph: graph("wallet/budget: hop/stream", "hop/stream: internal/reason", "internal/reason:"),
			want:  []string{"wallet/budget -> hop/stream"},
		},
		{
			name:  "relay imports wallet",
			graph: graph("relay: wallet/ticket", "wallet/ticket: wallet", "wallet:"),
			want:  []string{"relay -> wallet/ticket", "relay -> wallet/ticket -> wallet"},
		},
		{
			name:  "wallet imports relay",
			graph: graph("wallet/ticket: relay", "relay:"),
			want:  []string{"wallet/ticket -> relay"},
		},
		{
			name:  "hop imports relay",
			graph: graph("hop: relay hop/wire", "relay: hop/wire", "hop/wire:"),
			want:  []string{"hop -> relay"},
		},
		{
			name:  "hop reaches relay through a shared leaf",
			graph: graph("hop: hop/wire", "hop/wire: relay", "relay:"),
			want:  []string{"hop -> hop/wire -> relay"},
		},
		{
			name:  "relay imports hop",
			graph: graph("relay: hop hop/stream", "hop: hop/stream", "hop/stream:"),
			want:  []string{"relay -> hop"},
		},
		{
			name:  "relay reaches hop through a shared leaf",
			graph: graph("relay: hop/wire", "hop/wire: hop", "hop:"),
			want:  []string{"relay -> hop/wire -> hop"},
		},
		{
			name:  "hop imports netstack",
			graph: graph("hop: netstack", "netstack:"),
			want:  []string{"hop -> netstack"},
		},
		{
			name:  "netstack imports a module package",
			graph: graph("netstack: netstack/dns internal/atomicfile", "netstack/dns: net", "internal/atomicfile:"),
			want:  []string{"netstack -> internal/atomicfile"},
		},
		{
			name:  "netstack reaches a module package through its own subpackage",
			graph: graph("netstack: netstack/dns", "netstack/dns: api", "api:"),
			want:  []string{"netstack -> netstack/dns -> api", "netstack/dns -> api"},
		},
		{
			name: "ui imports more than api",
			graph: graph(
				"ui: api ui/theme wallet fyne.io/fyne/v2/widget", "ui/theme: fyne.io/fyne/v2",
				"api: internal/atomicfile", "internal/atomicfile:", "wallet:",
			),
			// api's own imports are not ui's business (Direct).
			want: []string{"ui -> wallet"},
		},
		{
			name:  "proxy imports hop/stream",
			graph: graph("proxy: hop/stream", "hop/stream: internal/reason", "internal/reason:"),
			want:  []string{"proxy -> hop/stream"},
		},
		{
			name:  "proxy reaches hop/stream through hop",
			graph: graph("proxy: hop", "hop: hop/stream", "hop/stream:"),
			want:  []string{"proxy -> hop -> hop/stream"},
		},
		{
			name:  "the logger leaf imports a module package",
			graph: graph("internal/logger: internal/reason", "internal/reason:"),
			want:  []string{"internal/logger -> internal/reason"},
		},
		{
			name: "a package of the build imports testutil",
			graph: graph(
				"hop/hoptest: hop internal/testutil", "hop: internal/logger", "internal/testutil: internal/logger",
				"internal/logger:", "daemon: hop/hoptest",
			),
			want: []string{"hop/hoptest -> internal/testutil", "daemon -> hop/hoptest -> internal/testutil"},
		},
		{
			name:  "the reason leaf imports a module package",
			graph: graph("internal/reason: hop/stream", "hop/stream: internal/reason"),
			want:  []string{"internal/reason -> hop/stream"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range Check(tt.graph, Rules) {
				short := make([]string, len(v.Chain))
				for i, p := range v.Chain {
					short[i] = rel(p)
				}
				got = append(got, strings.Join(short, " -> "))
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("violations:\n got  %q\n want %q", got, want)
			}
		})
	}
}

// TestViolationMessage checks that a failure names the offending chain and
// the reason for the rule.
func TestViolationMessage(t *testing.T) {
	g := graph("hop/link: internal/helper", "internal/helper: wallet/ticket", "wallet/ticket:")
	vs := Check(g, Rules)
	if len(vs) != 1 {
		t.Fatalf("got %d violations, want 1: %v", len(vs), vs)
	}
	got := vs[0].String()
	for _, want := range []string{
		"hop/link imports (through internal/helper) wallet/ticket",
		"import chain: hop/link -> internal/helper -> wallet/ticket",
		"internal/payhop",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("message %q does not contain %q", got, want)
		}
	}
}
