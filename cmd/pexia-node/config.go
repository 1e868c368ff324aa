package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/keys"
)

// The configuration file.
//
// Everything pexia-node takes as a flag can be set in a TOML file, so a
// service runs with a short command line and a file that can be reviewed
// (packaging/node.example.toml documents every key). The file is read
// first, then flags override it: each flag's default is the file's value.
// Unknown keys are errors that name the key and its line, since a
// misspelled key silently ignored is a setting that silently does not
// apply. Values are checked before anything else happens, and errors say
// where the bad value came from (the file and line, or the flag).

// defaultConfigPath is read when -config is not given, if it exists.
const defaultConfigPath = "/etc/pexia/node.toml"

// registryMaxPolicy is the registry contract's bound on the exit policy
// string (Registry.MAX_POLICY).
const registryMaxPolicy = 512

// Config is pexia-node's configuration.
type Config struct {
	Network        string `toml:"network"`         // network file (chain ID, RPC URL, contracts)
	DataDir        string `toml:"datadir"`         // handshake key, TLS certificate, ticket store
	Keystore       string `toml:"keystore"`        // encrypted keystore of the node account; empty: DATADIR/keystore
	Account        string `toml:"account"`         // the account in it: a label or its 0x address
	PassphraseFile string `toml:"passphrase_file"` // keystore passphrase; empty: systemd credential keystore-passphrase
	Key            string `toml:"key"`             // development key instead: devnet:ROLE, or hex on a development chain
	KeyFile        string `toml:"key_file"`        // file holding a development key in hex
	LogLevel       string `toml:"log_level"`       // debug, info, warn or error

	// ImportKey is init's -import: a file holding a hex key to import into
	// the keystore instead of creating a new key.
	ImportKey string `toml:"-"`

	Node     NodeConfig     `toml:"node"`
	Payments PaymentsConfig `toml:"payments"`
	Redeem   RedeemConfig   `toml:"redeem"`
	Metrics  MetricsConfig  `toml:"metrics"`
	Limits   LimitsConfig   `toml:"limits"`
	Shutdown ShutdownConfig `toml:"shutdown"`
	Stake    StakeConfig    `toml:"stake"`
}

// NodeConfig is what the node serves and publishes.
type NodeConfig struct {
	Listen     string   `toml:"listen"`      // HTTPS signaling address
	UDP        string   `toml:"udp"`         // the WebRTC UDP socket
	PublicURL  string   `toml:"public_url"`  // signaling URL published by register
	Country    string   `toml:"country"`     // ISO 3166-1 alpha-2
	Roles      []string `toml:"roles"`       // "relay", "exit"
	Price      Amount   `toml:"price"`       // whole tokens per GB; 0 serves for free
	ExitPolicy string   `toml:"exit_policy"` // see docs/PROTOCOL.md; empty: relay.DefaultExitPolicyText
	DNSServer  string   `toml:"dns_server"`  // resolver for "dns" streams; empty: /etc/resolv.conf
}

// PaymentsConfig sets how the node is paid.
type PaymentsConfig struct {
	CreditBytes   int64         `toml:"credit_bytes"`    // traffic a client may be behind before it is throttled
	DebtFactor    int64         `toml:"debt_factor"`     // dropped at this many credit windows behind
	MinFaceFactor int64         `toml:"min_face_factor"` // smallest face value accepted, in claim costs
	Grace         time.Duration `toml:"grace"`           // a retired ticket commitment is still accepted this long
}

// RedeemConfig sets when winning tickets are claimed on chain.
type RedeemConfig struct {
	Interval          time.Duration `toml:"interval"`            // between redeem passes
	MaxWait           time.Duration `toml:"max_wait"`            // a winner waits at most this long for a fuller batch
	BatchSize         int           `toml:"batch_size"`          // winners per claim transaction
	FinalClaimTimeout time.Duration `toml:"final_claim_timeout"` // bound on the last claim at shutdown; 0 skips it
}

// MetricsConfig sets the Prometheus endpoint.
type MetricsConfig struct {
	Listen string `toml:"listen"` // serves /metrics; empty: off
}

// LimitsConfig bounds the node's work. Zero values take the defaults
// (relay.Default*, written out in defaultConfig and the example file).
type LimitsConfig struct {
	MaxCircuits           int     `toml:"max_circuits"`            // circuits through the node at once
	MaxStreamsPerCircuit  int     `toml:"max_streams_per_circuit"` // 0: hop/stream's default
	OffersPerSecond       float64 `toml:"offers_per_second"`       // signaling offers answered per second, all sources together
	OfferBurst            int     `toml:"offer_burst"`
	SourceOffersPerSecond float64 `toml:"source_offers_per_second"` // signaling offers answered per second from one IPv4 address or IPv6 /64
	SourceOfferBurst      int     `toml:"source_offer_burst"`
	MaxHandshakes         int     `toml:"max_handshakes"` // links being set up at once

	FirstCellTimeout   time.Duration `toml:"first_cell_timeout"`    // a channel sending no CREATE by then is closed
	MaxPendingPerLink  int           `toml:"max_pending_per_link"`  // channels of one link awaiting CREATE
	MaxChannelsPerLink int           `toml:"max_channels_per_link"` // channels open on one link
	MaxLinksPerPeer    int           `toml:"max_links_per_peer"`    // links from one IPv4 address or IPv6 /64
	MaxOutLinks        int           `toml:"max_out_links"`         // links kept to next hops
	OutLinkIdle        time.Duration `toml:"out_link_idle"`         // a link to a next hop outlives its last circuit this long
}

// ShutdownConfig sets the graceful shutdown.
type ShutdownConfig struct {
	DrainTimeout time.Duration `toml:"drain_timeout"` // time open streams get to finish
}

// StakeConfig is what the stake command locks.
type StakeConfig struct {
	Amount Amount        `toml:"amount"` // whole tokens
	Delay  time.Duration `toml:"delay"`  // withdrawal delay (can only grow)
}

// Amount is a token amount in whole tokens, written as a string ("0.01")
// or a number in the file.
type Amount string

// UnmarshalTOML accepts a string, an integer or a float.
func (a *Amount) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*a = Amount(v)
	case int64:
		*a = Amount(strconv.FormatInt(v, 10))
	case float64:
		*a = Amount(strconv.FormatFloat(v, 'f', -1, 64))
	case bool:
		return errors.New("want an amount like \"0.01\", got a boolean")
	case []any:
		return errors.New("want an amount like \"0.01\", got an array")
	case map[string]any:
		return errors.New("want an amount like \"0.01\", got a table")
	default:
		return errors.New("want an amount like \"0.01\"")
	}
	if _, err := contracts.ParseAmount(string(*a)); err != nil {
		return err
	}
	return nil
}

// Wei returns the amount in the token's smallest unit.
func (a Amount) Wei() (*big.Int, error) { return contracts.ParseAmount(string(a)) }

// defaultConfig is the configuration without a file or flags.
func defaultConfig() Config {
	return Config{
		Account:  string(keys.RoleRecipient),
		LogLevel: "info",
		Node: NodeConfig{
			Listen:  "127.0.0.1:8443",
			UDP:     "127.0.0.1:0",
			Country: "ZZ",
			Roles:   []string{"relay"},
			Price:   "0.01",
		},
		Payments: PaymentsConfig{CreditBytes: 4 << 20, DebtFactor: 4, MinFaceFactor: 20, Grace: 2 * time.Second},
		Redeem:   RedeemConfig{Interval: time.Second, MaxWait: 5 * time.Second, BatchSize: 32, FinalClaimTimeout: 20 * time.Second},
		Metrics:  MetricsConfig{Listen: "127.0.0.1:9478"},
		Limits: LimitsConfig{MaxCircuits: relay.DefaultMaxCircuits, OffersPerSecond: 100, OfferBurst: 200, SourceOffersPerSecond: 2, SourceOfferBurst: 10, MaxHandshakes: 64,
			FirstCellTimeout: relay.DefaultFirstCellTimeout, MaxPendingPerLink: relay.DefaultMaxPendingPerLink,
			MaxChannelsPerLink: relay.DefaultMaxChannelsPerLink, MaxLinksPerPeer: relay.DefaultMaxLinksPerPeer,
			MaxOutLinks: relay.DefaultMaxOutLinks, OutLinkIdle: relay.DefaultOutLinkIdle},
		Shutdown: ShutdownConfig{DrainTimeout: 10 * time.Second},
		Stake:    StakeConfig{Amount: "1000", Delay: 90 * 24 * time.Hour},
	}
}

// fileSource remembers where the configuration came from, for errors.
type fileSource struct {
	path string
	md   toml.MetaData
	data []byte
}

// loadFile reads path into cfg. A missing file is an error only if
// required.
func loadFile(cfg *Config, path string, required bool) (*fileSource, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// Lists in the file replace the defaults, not extend them.
	cfg.Node.Roles = nil
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return nil, fmt.Errorf("config %s line %d: %s: %s", path, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return nil, fmt.Errorf("config %s line %d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if !md.IsDefined("node", "roles") {
		cfg.Node.Roles = defaultConfig().Node.Roles
	}
	src := &fileSource{path: path, md: md, data: data}
	if und := md.Undecoded(); len(und) > 0 {
		var msgs []string
		for _, k := range und {
			// A table's keys are reported with the table.
			if len(k) > 1 && slices.ContainsFunc(und, func(p toml.Key) bool { return p.String() == k[:len(k)-1].String() }) {
				continue
			}
			msgs = append(msgs, fmt.Sprintf("unknown key %q on line %d", k.String(), src.line(k)))
		}
		return nil, fmt.Errorf("config %s: %s", path, strings.Join(msgs, "; "))
	}
	return src, nil
}

// line finds the line that sets key (a table header for a table); 0 if not
// found. BurntSushi/toml does not report the positions of keys it did not
// decode, so this reads the file's key lines itself.
func (s *fileSource) line(key toml.Key) int {
	want := key.String()
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(s.data))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "[") {
			name := strings.Trim(l, "[] \t")
			if i := strings.Index(name, "#"); i >= 0 {
				name = strings.TrimSpace(strings.Trim(name[:i], "[] \t"))
			}
			table = normalizeKey(name)
			if table == want {
				return n
			}
			continue
		}
		k, _, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		full := normalizeKey(k)
		if table != "" {
			full = table + "." + full
		}
		if full == want || strings.HasPrefix(want, full+".") {
			return n
		}
	}
	return 0
}

// normalizeKey turns a dotted TOML key as written (spaces, quotes) into
// toml.Key's String form for bare keys.
func normalizeKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// keyError is a bad value; key is its dotted name in the file.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return e.key + ": " + e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

func bad(key string, format string, args ...any) error {
	return &keyError{key, fmt.Errorf(format, args...)}
}

// check validates every value; cmd adds what that command needs.
func (c *Config) check(cmd string) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(bad("log_level", "%q is not debug, info, warn or error", c.LogLevel))
	}
	if c.Key != "" && c.KeyFile != "" {
		add(bad("key_file", "set key or key_file, not both"))
	}
	if (c.Key != "" || c.KeyFile != "") && (c.Keystore != "" || c.PassphraseFile != "") {
		add(bad("keystore", "key and key_file are development keys; set them or keystore/passphrase_file, not both"))
	}
	if c.Account == "" {
		add(bad("account", "empty (want a label such as recipient, or an address)"))
	}
	add(checkAddr("node.listen", c.Node.Listen, false))
	add(checkAddr("node.udp", c.Node.UDP, false))
	add(checkAddr("metrics.listen", c.Metrics.Listen, true))
	if c.Node.DNSServer != "" {
		add(checkAddr("node.dns_server", c.Node.DNSServer, false))
	}
	if u := c.Node.PublicURL; u != "" {
		p, err := url.Parse(u)
		switch {
		case err != nil:
			add(bad("node.public_url", "%v", err))
		case p.Scheme != "https" || p.Host == "":
			add(bad("node.public_url", "%q is not an https:// URL", u))
		case len(u) > 256:
			add(bad("node.public_url", "longer than the registry's 256 bytes"))
		}
	}
	if cc := c.Node.Country; len(cc) != 2 || !isUpperAlpha(strings.ToUpper(cc)) {
		add(bad("node.country", "%q is not a two-letter ISO 3166-1 code", cc))
	} else {
		c.Node.Country = strings.ToUpper(cc)
	}
	if len(c.Node.Roles) == 0 {
		add(bad("node.roles", "no roles (want \"relay\", \"exit\" or both)"))
	}
	for i, r := range c.Node.Roles {
		if r != "relay" && r != "exit" {
			add(bad("node.roles", "unknown role %q (want relay or exit)", r))
		} else if slices.Contains(c.Node.Roles[:i], r) {
			add(bad("node.roles", "role %q twice", r))
		}
	}
	if p, err := c.Node.Price.Wei(); err != nil {
		add(bad("node.price", "%v", err))
	} else if p.Sign() < 0 || p.BitLen() > 128 {
		add(bad("node.price", "%s is out of range", c.Node.Price))
	}
	if _, err := c.policy(); err != nil {
		add(bad("node.exit_policy", "%v", err))
	}
	if c.Payments.CreditBytes <= 0 {
		add(bad("payments.credit_bytes", "%d is not positive", c.Payments.CreditBytes))
	}
	if c.Payments.DebtFactor < 1 {
		add(bad("payments.debt_factor", "%d is below 1", c.Payments.DebtFactor))
	}
	if c.Payments.MinFaceFactor < 1 {
		add(bad("payments.min_face_factor", "%d is below 1", c.Payments.MinFaceFactor))
	}
	add(checkDuration("payments.grace", c.Payments.Grace, false))
	add(checkDuration("redeem.interval", c.Redeem.Interval, true))
	add(checkDuration("redeem.max_wait", c.Redeem.MaxWait, true))
	add(checkDuration("redeem.final_claim_timeout", c.Redeem.FinalClaimTimeout, false))
	if c.Redeem.BatchSize < 1 || c.Redeem.BatchSize > 256 {
		add(bad("redeem.batch_size", "%d is not in 1..256", c.Redeem.BatchSize))
	}
	for key, v := range map[string]int{"limits.max_circuits": c.Limits.MaxCircuits, "limits.max_streams_per_circuit": c.Limits.MaxStreamsPerCircuit,
		"limits.offer_burst": c.Limits.OfferBurst, "limits.source_offer_burst": c.Limits.SourceOfferBurst,
		"limits.max_handshakes":       c.Limits.MaxHandshakes,
		"limits.max_pending_per_link": c.Limits.MaxPendingPerLink, "limits.max_channels_per_link": c.Limits.MaxChannelsPerLink,
		"limits.max_links_per_peer": c.Limits.MaxLinksPerPeer, "limits.max_out_links": c.Limits.MaxOutLinks} {
		if v < 0 {
			add(bad(key, "%d is negative", v))
		}
	}
	for key, v := range map[string]float64{"limits.offers_per_second": c.Limits.OffersPerSecond,
		"limits.source_offers_per_second": c.Limits.SourceOffersPerSecond} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			add(bad(key, "%v is not a rate", v))
		}
	}
	add(checkDuration("limits.first_cell_timeout", c.Limits.FirstCellTimeout, false))
	add(checkDuration("limits.out_link_idle", c.Limits.OutLinkIdle, false))
	add(checkDuration("shutdown.drain_timeout", c.Shutdown.DrainTimeout, false))
	if a, err := c.Stake.Amount.Wei(); err != nil {
		add(bad("stake.amount", "%v", err))
	} else if cmd == "stake" && a.Sign() <= 0 {
		add(bad("stake.amount", "%s is not positive", c.Stake.Amount))
	}
	add(checkDuration("stake.delay", c.Stake.Delay, false))

	if cmd != "config" && c.DataDir == "" {
		add(bad("datadir", "not set"))
	}
	switch cmd {
	case "register":
		if c.Node.PublicURL == "" {
			add(bad("node.public_url", "not set (register publishes it)"))
		}
		if p, err := c.policy(); err == nil && len(p.String()) > registryMaxPolicy {
			add(bad("node.exit_policy", "%d bytes in canonical form; the registry holds %d", len(p.String()), registryMaxPolicy))
		}
		fallthrough
	case "stake", "earnings":
		if c.Network == "" {
			add(bad("network", "not set"))
		}
	}
	return errors.Join(errs...)
}

func checkAddr(key, addr string, emptyOK bool) error {
	if addr == "" && emptyOK {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return bad(key, "%q is not host:port", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return bad(key, "%q: bad port", addr)
	}
	return nil
}

func checkDuration(key string, d time.Duration, positive bool) error {
	if d < 0 || (positive && d == 0) {
		return bad(key, "%v is not a positive duration", d)
	}
	return nil
}

func isUpperAlpha(s string) bool {
	for _, c := range []byte(s) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// policy returns the exit policy the node enforces and publishes.
func (c *Config) policy() (*relay.ExitPolicy, error) {
	if strings.TrimSpace(c.Node.ExitPolicy) == "" {
		return relay.DefaultExitPolicy(), nil
	}
	return relay.ParseExitPolicy(c.Node.ExitPolicy)
}

func (c *Config) hasRole(r string) bool { return slices.Contains(c.Node.Roles, r) }

func (c *Config) logLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// write prints the configuration as TOML, without a private key.
func (c Config) write(w io.Writer) error {
	if c.Key != "" && !strings.HasPrefix(c.Key, "devnet:") {
		c.Key = "(hidden)"
	}
	if c.Node.ExitPolicy == "" {
		if p, err := c.policy(); err == nil {
			c.Node.ExitPolicy = p.String()
		}
	}
	return toml.NewEncoder(w).Encode(c)
}

// The flags. Each binds to a Config field, so its default is the file's
// value and setting it overrides the file.

// flagKeys maps flag names to the keys they set, for error messages.
var flagKeys = map[string]string{
	"network": "network", "datadir": "datadir", "key": "key", "key-file": "key_file", "log-level": "log_level",
	"keystore": "keystore", "account": "account", "passphrase-file": "passphrase_file",
	"listen": "node.listen", "udp": "node.udp", "url": "node.public_url", "country": "node.country", "exit": "node.roles",
	"price": "node.price", "policy": "node.exit_policy", "dns-server": "node.dns_server", "credit-bytes": "payments.credit_bytes",
	"metrics": "metrics.listen", "drain-timeout": "shutdown.drain_timeout", "max-circuits": "limits.max_circuits",
	"amount": "stake.amount", "delay": "stake.delay",
}

func globalFlags(fs *flag.FlagSet, c *Config, configPath *string) {
	fs.StringVar(configPath, "config", defaultConfigPath, "configuration file (TOML); read if it exists unless set; \"\" for none")
	fs.StringVar(&c.Network, "network", c.Network, "network file (chain ID, RPC URL, contracts)")
	fs.StringVar(&c.DataDir, "datadir", c.DataDir, "directory for the node's handshake key, TLS certificate and ticket store")
	fs.StringVar(&c.Keystore, "keystore", c.Keystore, "encrypted keystore of the node account (default DATADIR/keystore)")
	fs.StringVar(&c.Account, "account", c.Account, "node account in the keystore: a label or its 0x address")
	fs.StringVar(&c.PassphraseFile, "passphrase-file", c.PassphraseFile, "file holding the keystore passphrase, readable by its owner only (default: systemd credential "+keys.CredentialName+")")
	fs.StringVar(&c.Key, "key", c.Key, "development key instead of the keystore: devnet:ROLE, or hex on a development chain")
	fs.StringVar(&c.KeyFile, "key-file", c.KeyFile, "file holding a development key in hex (development chains only)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
}

// commandFlags binds the flags of command (all of them for "config").
func commandFlags(fs *flag.FlagSet, c *Config, command string) {
	all := command == "config"
	if all || command == "run" {
		fs.StringVar(&c.Node.Listen, "listen", c.Node.Listen, "HTTPS signaling address")
		fs.StringVar(&c.Node.UDP, "udp", c.Node.UDP, "UDP address of the node's WebRTC socket")
		fs.Int64Var(&c.Payments.CreditBytes, "credit-bytes", c.Payments.CreditBytes, "traffic a client may be behind before it is throttled")
		fs.StringVar(&c.Node.DNSServer, "dns-server", c.Node.DNSServer, "resolver (host:port) for the exit's dns streams")
		fs.StringVar(&c.Metrics.Listen, "metrics", c.Metrics.Listen, "Prometheus metrics address; \"\" for none")
		fs.DurationVar(&c.Shutdown.DrainTimeout, "drain-timeout", c.Shutdown.DrainTimeout, "time open streams get to finish at shutdown")
		fs.IntVar(&c.Limits.MaxCircuits, "max-circuits", c.Limits.MaxCircuits, "most circuits open at once (0: the default, 2048)")
	}
	if all || command == "register" {
		fs.StringVar(&c.Node.PublicURL, "url", c.Node.PublicURL, "public signaling URL (https://host:port/)")
		fs.StringVar(&c.Node.Country, "country", c.Node.Country, "ISO 3166-1 alpha-2 country code")
	}
	if all || command == "run" || command == "register" {
		fs.Var((*amountFlag)(&c.Node.Price), "price", "price per GB in whole tokens; 0 serves for free")
		fs.Var(exitFlag{&c.Node.Roles}, "exit", "offer the exit role (-exit=false: relay only)")
		fs.StringVar(&c.Node.ExitPolicy, "policy", c.Node.ExitPolicy, "exit policy (docs/PROTOCOL.md); empty for the default")
	}
	if command == "init" {
		fs.StringVar(&c.ImportKey, "import", "", "file holding a hex private key to import into the keystore instead of creating a new key")
	}
	if all || command == "stake" {
		fs.Var((*amountFlag)(&c.Stake.Amount), "amount", "tokens to stake on this node")
		fs.DurationVar(&c.Stake.Delay, "delay", c.Stake.Delay, "withdrawal delay (can only grow)")
	}
}

type amountFlag Amount

func (a *amountFlag) String() string     { return string(*a) }
func (a *amountFlag) Set(s string) error { *a = amountFlag(s); return nil }

// exitFlag adds or removes the exit role.
type exitFlag struct{ roles *[]string }

func (f exitFlag) IsBoolFlag() bool { return true }
func (f exitFlag) String() string {
	if f.roles == nil {
		return "false"
	}
	return strconv.FormatBool(slices.Contains(*f.roles, "exit"))
}
func (f exitFlag) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	rs := slices.DeleteFunc(slices.Clone(*f.roles), func(r string) bool { return r == "exit" })
	if on {
		rs = append(rs, "exit")
	}
	if len(rs) == 0 {
		rs = []string{"relay"}
	}
	*f.roles = rs
	return nil
}

// describe rewrites check's errors to say where each bad value came from:
// the flag that set it, or the file and line.
func describe(err error, src *fileSource, set map[string]bool) error {
	var out []string
	for _, e := range unjoin(err) {
		var ke *keyError
		if !errors.As(e, &ke) {
			out = append(out, e.Error())
			continue
		}
		path := strings.Split(ke.key, ".")
		flagName := ""
		for f, k := range flagKeys {
			if k == ke.key && f != "exit" {
				flagName = f
			}
		}
		switch {
		case flagName != "" && set[flagName]:
			out = append(out, fmt.Sprintf("flag -%s: %v", flagName, ke))
		case src != nil && src.md.IsDefined(path...):
			out = append(out, fmt.Sprintf("%s line %d: %v", src.path, src.line(toml.Key(path)), ke))
		case flagName != "":
			out = append(out, fmt.Sprintf("%v (set -%s or %s in the config file)", ke, flagName, ke.key))
		default:
			out = append(out, fmt.Sprintf("%v (set %s in the config file)", ke, ke.key))
		}
	}
	return errors.New("config: " + strings.Join(out, "; "))
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// keySource is where the node account's key comes from.
func (c *Config) keySource() keys.Source {
	if c.Key != "" || c.KeyFile != "" {
		return keys.Source{Key: c.Key, KeyFile: c.KeyFile}
	}
	ks := c.Keystore
	if ks == "" && c.DataDir != "" {
		ks = filepath.Join(c.DataDir, "keystore")
	}
	return keys.Source{Keystore: ks, Account: c.Account, PassphraseFile: c.PassphraseFile}
}
