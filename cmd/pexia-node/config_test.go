package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pexia-network/pexia/relay"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "node.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const sampleConfig = `
network = "/srv/net.json"
datadir = "/srv/node"
key = "devnet:node3"
log_level = "debug"

[node]
listen = "0.0.0.0:9443"
udp = "0.0.0.0:9443"
public_url = "https://n.example.org:9443/"
country = "fr"
roles = ["relay", "exit"]
price = 0.05
exit_policy = """
reject 10.0.0.0/8:*   # private
accept *:80,443
reject *:*
"""

[payments]
credit_bytes = 1000000

[redeem]
batch_size = 8
max_wait = "1m"

[metrics]
listen = ""

[limits]
max_circuits = 500

[shutdown]
drain_timeout = "3s"

[stake]
amount = "250"
`

func TestConfigFileAndFlags(t *testing.T) {
	path := writeFile(t, sampleConfig)
	cfg, cmd, err := setup([]string{"-config", path, "run"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cmd != "run" || cfg.Network != "/srv/net.json" || cfg.DataDir != "/srv/node" || cfg.LogLevel != "debug" {
		t.Errorf("globals: %+v", cfg)
	}
	n := cfg.Node
	if n.Listen != "0.0.0.0:9443" || n.Country != "FR" || !reflect.DeepEqual(n.Roles, []string{"relay", "exit"}) || n.Price != "0.05" {
		t.Errorf("node: %+v", n)
	}
	if p, _ := cfg.policy(); p.String() != "reject 10.0.0.0/8:*; accept *:80,443; reject *:*" {
		t.Errorf("policy %q", p)
	}
	if cfg.Payments.CreditBytes != 1000000 || cfg.Payments.DebtFactor != 4 || cfg.Redeem.BatchSize != 8 || cfg.Redeem.MaxWait != time.Minute ||
		cfg.Redeem.Interval != time.Second || cfg.Metrics.Listen != "" || cfg.Limits.MaxCircuits != 500 || cfg.Shutdown.DrainTimeout != 3*time.Second {
		t.Errorf("sections: %+v", cfg)
	}

	// Flags override the file, globals before the command and the
	// command's own after it.
	cfg, _, err = setup([]string{"-config", path, "-datadir", "/elsewhere", "run", "-price", "0", "-exit=false", "-metrics", "127.0.0.1:1", "-drain-timeout", "1s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/elsewhere" || cfg.Node.Price != "0" || cfg.hasRole("exit") || !cfg.hasRole("relay") || cfg.Metrics.Listen != "127.0.0.1:1" || cfg.Shutdown.DrainTimeout != time.Second {
		t.Errorf("overridden: %+v", cfg)
	}
	// A key flag replaces the file's key_file.
	kf := writeFile(t, "key_file = \"/k\"\ndatadir = \"/d\"\n")
	cfg, _, err = setup([]string{"-config", kf, "-key", "devnet:node0", "run"}, io.Discard)
	if err != nil || cfg.Key != "devnet:node0" || cfg.KeyFile != "" {
		t.Errorf("key override: %v %+v", err, cfg)
	}

	// Without a file: the defaults, and -config "" reads none.
	cfg, _, err = setup([]string{"-config", "", "-datadir", "d", "run"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	def := defaultConfig()
	def.DataDir = "d"
	if !reflect.DeepEqual(*cfg, def) {
		t.Errorf("defaults: got %+v, want %+v", *cfg, def)
	}
	if p, _ := cfg.policy(); p.String() != relay.DefaultExitPolicy().String() {
		t.Error("no exit_policy is not the default policy")
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		want       []string
	}{
		{"unknown keys", "datadir = \"d\"\nlog_levl = \"debug\"\n[node]\nprce = 1\n\n[nde]\nx = 1\n", []string{"run"},
			[]string{`unknown key "log_levl" on line 2`, `unknown key "node.prce" on line 4`, `unknown key "nde" on line 6`}},
		{"syntax", "datadir = \n", []string{"run"}, []string{"line 1"}},
		{"bad amount in file", "[node]\nprice = \"1.2.3\"\n", []string{"-datadir", "d", "run"}, []string{"line 2: node.price: "}},
		{"wrong type", "[node]\nprice = true\n", []string{"-datadir", "d", "run"}, []string{"line 2: node.price: ", "boolean"}},
		{"bad values", "datadir = \"d\"\n[node]\ncountry = \"Germany\"\nroles = [\"exit\", \"bridge\"]\nexit_policy = \"accept *:80 reject *:*\"\n[redeem]\nbatch_size = 0\n[shutdown]\ndrain_timeout = \"-1s\"\n",
			[]string{"run"}, []string{"line 3: node.country", "line 4: node.roles: unknown role \"bridge\"", "line 5: node.exit_policy: exit policy: column 13",
				"line 7: redeem.batch_size", "line 9: shutdown.drain_timeout"}},
		{"bad flag values", "datadir = \"d\"\n", []string{"-log-level", "loud", "run", "-listen", "nowhere", "-policy", "accept example.com:*"},
			[]string{"flag -log-level: log_level", "flag -listen: node.listen", "flag -policy: node.exit_policy: exit policy: column 8: host names are not allowed"}},
		{"register needs", "datadir = \"d\"\n", []string{"register"},
			[]string{"node.public_url: not set", "network: not set"}},
		{"dev key and keystore", "datadir = \"d\"\nkey = \"devnet:node0\"\npassphrase_file = \"/p\"\n", []string{"run"},
			[]string{"keystore: key and key_file are development keys; set them or keystore/passphrase_file, not both"}},
		{"register policy too long", "datadir = \"d\"\nnetwork = \"n\"\nkey = \"devnet:node0\"\n[node]\npublic_url = \"https://a/\"\nexit_policy = \"" + strings.Repeat("reject 10.0.0.1:1; ", 30) + "accept *:*\"\n",
			[]string{"register"}, []string{"node.exit_policy: 580 bytes in canonical form; the registry holds 512"}},
		{"no datadir", "", []string{"-config", "", "init"}, []string{"datadir: not set (set -datadir or datadir in the config file)"}},
		{"key and key_file", "datadir = \"d\"\nkey = \"devnet:node0\"\nkey_file = \"/k\"\n", []string{"run"}, []string{"key_file: set key or key_file, not both"}},
		{"unknown command", "", []string{"serve"}, []string{`unknown command "serve"`}},
		{"stray argument", "datadir = \"d\"\n", []string{"run", "now"}, []string{`unexpected arguments after run: ["now"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"-config", writeFile(t, tt.file)}, args...)
			}
			_, _, err := setup(args, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// An explicit file must exist.
	if _, _, err := setup([]string{"-config", "/nonexistent/node.toml", "run"}, io.Discard); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing -config file: %v", err)
	}
}

// TestExampleConfig: the shipped example parses, names every key, and its
// exit policy is the default one.
func TestExampleConfig(t *testing.T) {
	path := "../../packaging/node.example.toml"
	cfg, _, err := setup([]string{"-config", path, "config"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := cfg.policy(); p.String() != relay.DefaultExitPolicy().String() {
		t.Errorf("example exit policy\n%s\nis not the default\n%s", p, relay.DefaultExitPolicy())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := loadFile(new(Config), path, true)
	if err != nil {
		t.Fatal(err)
	}
	// Every key the program knows is documented in the example.
	var buf bytes.Buffer
	if err := defaultConfig().write(&buf); err != nil {
		t.Fatal(err)
	}
	all, err := loadFile(new(Config), writeFile(t, buf.String()), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range all.md.Keys() {
		if !src.md.IsDefined(k...) {
			t.Errorf("example lacks %q", k.String())
		}
	}
	if !strings.Contains(string(data), "pexia-node config") {
		t.Error("example does not mention the config command")
	}
}

// TestConfigCommand: `config` prints the effective configuration as TOML
// that reads back to the same configuration, without the private key.
func TestConfigCommand(t *testing.T) {
	path := writeFile(t, sampleConfig+"\n")
	var out bytes.Buffer
	if err := run([]string{"-config", path, "config", "-price", "0.07"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	want, _, err := setup([]string{"-config", path, "config", "-price", "0.07"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := setup([]string{"-config", writeFile(t, out.String()), "config"}, io.Discard)
	if err != nil {
		t.Fatalf("printed config does not read back: %v\n%s", err, out.String())
	}
	want.Node.ExitPolicy = back.Node.ExitPolicy // printed in canonical form
	if !reflect.DeepEqual(want, back) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, want)
	}
	hexKey := strings.Repeat("ab", 32)
	out.Reset()
	if err := run([]string{"-config", path, "-key", hexKey, "config"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), hexKey) || !strings.Contains(out.String(), `key = "(hidden)"`) {
		t.Errorf("config printed the private key:\n%s", out.String())
	}
}
