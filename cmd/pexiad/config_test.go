package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/daemon"
)

func writeConfig(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pexiad.toml")
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAdminConfig(t *testing.T) {
	p := writeConfig(t, `
network = "main"
max_monthly_budget = "25"
[networks.main]
file = "/etc/pexia/main.json"
rpc_url = "https://rpc.example.org/"
[networks.test]
file = "/etc/pexia/test.json"
`, 0o644)
	c, err := loadAdminConfig(p, true)
	if err != nil {
		t.Fatal(err)
	}
	var cfg daemon.Config
	if err := c.apply(&cfg, "", ""); err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultNetwork != "main" || len(cfg.Networks) != 2 || cfg.Networks["main"] != (daemon.NetworkChoice{File: "/etc/pexia/main.json", RPC: "https://rpc.example.org/"}) ||
		cfg.MaxMonthlyBudget.Cmp(contracts.Ether(25)) != 0 || cfg.NetworkFile != "" {
		t.Errorf("applied %+v", cfg)
	}
	// -network and -max-monthly-budget override the file.
	if err := c.apply(&cfg, "/srv/net.json", "0"); err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultNetwork != daemon.DefaultNetworkName || cfg.NetworkFile != "/srv/net.json" || cfg.MaxMonthlyBudget != nil {
		t.Errorf("with flags: %+v", cfg)
	}

	for _, tc := range []struct {
		text string
		mode os.FileMode
		want string
	}{
		{`netwrok = "x"`, 0o644, "unknown key netwrok"},
		{"[networks.a]\nfile = \"/x\"\nrpc = \"http://x\"\n", 0o600, "unknown key networks.a.rpc"},
		{`network = "a"`, 0o664, "writable by group or others"},
		{`network = "a"`, 0o646, "writable by group or others"},
		{`network = `, 0o644, "configuration"},
	} {
		_, err := loadAdminConfig(writeConfig(t, tc.text, tc.mode), true)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q mode %v: %v, want %q", tc.text, tc.mode, err, tc.want)
		}
	}
	if _, err := loadAdminConfig(filepath.Join(t.TempDir(), "none.toml"), true); err == nil {
		t.Error("a missing -config file is accepted")
	}
	if c, err := loadAdminConfig(filepath.Join(t.TempDir(), "none.toml"), false); err != nil || len(c.Networks) != 0 {
		t.Errorf("missing default file: %+v, %v", c, err)
	}
	var cfg2 daemon.Config
	if err := (adminConfig{MaxMonthlyBudget: "lots"}).apply(&cfg2, "", ""); err == nil {
		t.Error("max_monthly_budget \"lots\" accepted")
	}
}
