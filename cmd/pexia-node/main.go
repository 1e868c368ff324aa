// Command pexia-node sells bandwidth: it relays circuits and, as an exit,
// connects their streams to the internet.
//
//	pexia-node [-config FILE] [global flags] init
//	pexia-node ... register [-url https://host:port/ -price 0.01 -country DE -exit -policy POLICY]
//	pexia-node ... stake [-amount 1000 -delay 2160h]
//	pexia-node ... run [-listen :8443 -udp :8443 -exit -metrics 127.0.0.1:9478 ...]
//	pexia-node ... earnings
//	pexia-node ... revenue
//	pexia-node ... config [any command's flags]
//
// init creates the node's handshake key and TLS certificate in the data
// directory (kept across restarts: the registry publishes them); register
// checks the exit policy and publishes it with the signaling URL, price and
// roles; stake locks tokens on the node in the directory; run serves until
// SIGINT or SIGTERM and then shuts down gracefully (a second signal exits
// at once); earnings prints what the node's claims earned on chain;
// revenue prints the running node's revenue report from its metrics (the
// bytes it metered × its price against the value of the tickets it
// accepted and of its winners, with the spread the lottery predicts);
// config prints the effective configuration.
//
// Settings come from a TOML file (-config, default /etc/pexia/node.toml if
// it exists; see packaging/node.example.toml) and flags override it.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/directory"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/contracts/registry"
	"github.com/pexia-network/pexia/contracts/testtoken"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/atomicfile"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/keys"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "pexia-node:", err)
		os.Exit(1)
	}
}

const commands = "init, register, stake, run, earnings, revenue or config"

func run(args []string, stdout, stderr io.Writer) error {
	cfg, cmd, err := setup(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel()}))
	switch cmd {
	case "init":
		id, err := loadIdentity(cfg.DataDir, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "handshake key %x\ntls pin       %s\n", id.noise.Public, id.pin)
		return initAccount(cfg, stdout)
	case "register":
		return register(cfg, logger)
	case "stake":
		return stake(cfg, logger)
	case "run":
		return serve(cfg, logger)
	case "config":
		return cfg.write(stdout)
	case "revenue":
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return revenue(ctx, cfg, stdout)
	case "earnings":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		n, c, key, err := dialChain(ctx, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		me := crypto.PubkeyToAddress(key.PublicKey)
		out, err := c.CallContract(ctx, ethereum.CallMsg{To: &n.Addresses.Lottery, Data: lottery.NewLottery().PackEarnings(common.Address{}, me)}, nil)
		if err != nil {
			return err
		}
		e, err := lottery.NewLottery().UnpackEarnings(out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s earned %s tokens (claimed on chain, not yet collected)\n", me, new(big.Rat).SetFrac(e, contracts.Ether(1)).FloatString(6))
		return nil
	}
	return fmt.Errorf("unknown command %q (want %s)", cmd, commands)
}

// setup reads the configuration: defaults, then the file, then the global
// flags, then the command's flags; and checks it for the command.
func setup(args []string, stderr io.Writer) (*Config, string, error) {
	// First pass: where the file is, and where the command starts.
	probe := flag.NewFlagSet("pexia-node", flag.ContinueOnError)
	probe.SetOutput(stderr)
	var scratch Config
	var path string
	globalFlags(probe, &scratch, &path)
	probe.Usage = func() {
		fmt.Fprintf(stderr, "usage: pexia-node [flags] %s [command flags]\n", strings.ReplaceAll(commands, ", ", "|"))
		probe.PrintDefaults()
	}
	if err := probe.Parse(args); err != nil {
		return nil, "", err
	}
	set := map[string]bool{}
	probe.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if probe.NArg() == 0 {
		return nil, "", fmt.Errorf("missing command: %s", commands)
	}
	cmd := probe.Arg(0)
	switch cmd {
	case "init", "register", "stake", "run", "earnings", "revenue", "config":
	default:
		return nil, "", fmt.Errorf("unknown command %q (want %s)", cmd, commands)
	}
	cfg := defaultConfig()
	src, err := loadFile(&cfg, path, set["config"])
	if err != nil {
		return nil, "", err
	}
	// Second pass: the global flags over the file.
	global := flag.NewFlagSet("pexia-node", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	globalFlags(global, &cfg, &path)
	if err := global.Parse(args[:len(args)-probe.NArg()]); err != nil {
		return nil, "", err
	}
	sub := flag.NewFlagSet("pexia-node "+cmd, flag.ContinueOnError)
	sub.SetOutput(stderr)
	commandFlags(sub, &cfg, cmd)
	if err := sub.Parse(probe.Args()[1:]); err != nil {
		return nil, "", err
	}
	if sub.NArg() > 0 {
		return nil, "", fmt.Errorf("unexpected arguments after %s: %q", cmd, sub.Args())
	}
	sub.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// A key given by flag replaces the file's, however the file gave it.
	if set["key"] && !set["key-file"] {
		cfg.KeyFile = ""
	}
	if set["key-file"] && !set["key"] {
		cfg.Key = ""
	}
	if set["key"] || set["key-file"] {
		cfg.Keystore, cfg.PassphraseFile = "", ""
	}
	if (set["keystore"] || set["passphrase-file"]) && !set["key"] && !set["key-file"] {
		cfg.Key, cfg.KeyFile = "", ""
	}
	if err := cfg.check(cmd); err != nil {
		return nil, "", describe(err, src, set)
	}
	return &cfg, cmd, nil
}

// identity is what the registry publishes about the node.
type identity struct {
	noise onion.KeyPair
	cert  tls.Certificate
	pin   link.Pin
}

func loadIdentity(dir string, create bool) (*identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	keyPath, certPath, tlsKeyPath := filepath.Join(dir, "handshake.key"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	id := &identity{}
	b, err := os.ReadFile(keyPath)
	switch {
	case errors.Is(err, os.ErrNotExist) && create:
		if id.noise, err = onion.GenerateKeyPair(rand.Reader); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(keyPath, []byte(hex.EncodeToString(id.noise.Private[:])+"\n"), 0o600); err != nil {
			return nil, err
		}
		cert, _, err := link.NewCertificate()
		if err != nil {
			return nil, err
		}
		certPEM, keyPEM, err := encodeCert(cert)
		if err != nil {
			return nil, err
		}
		if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(tlsKeyPath, keyPEM, 0o600); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("node identity: %w (run init first)", err)
	default:
		raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("node identity: %s is not a 32-byte hex key", keyPath)
		}
		var priv [32]byte
		copy(priv[:], raw)
		if id.noise, err = onion.KeyPairFromPrivate(priv); err != nil {
			return nil, err
		}
	}
	if id.cert, err = tls.LoadX509KeyPair(certPath, tlsKeyPath); err != nil {
		return nil, fmt.Errorf("node identity: %w", err)
	}
	if id.pin, err = link.PinOf(id.cert); err != nil {
		return nil, err
	}
	return id, nil
}

// initAccount creates the node account in the keystore (or imports it),
// unless a development key is configured.
func initAccount(cfg *Config, stdout io.Writer) error {
	src := cfg.keySource()
	if src.Plain() {
		if cfg.ImportKey != "" {
			return errors.New("init -import: a development key (key, key_file) is configured; -import fills the keystore")
		}
		return nil
	}
	if cfg.Network == "" && cfg.PassphraseFile == "" && cfg.ImportKey == "" && os.Getenv("CREDENTIALS_DIRECTORY") == "" {
		// A free node without a chain needs no account.
		fmt.Fprintln(stdout, "account       none (no network; init with -passphrase-file FILE to create one)")
		return nil
	}
	e, created, err := src.Init(keys.RoleRecipient, cfg.ImportKey)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	fmt.Fprintf(stdout, "account       %s (%s in %s)\n", e.Address, e.Label, src.Keystore)
	switch {
	case created && cfg.ImportKey != "":
		fmt.Fprintf(stdout, "imported; delete the plain-text %s now\n", cfg.ImportKey)
	case created:
		fmt.Fprintln(stdout, "created; back up the keystore and the passphrase")
	}
	return nil
}

// loadKey returns the node account's key: from the keystore, or a
// development key (key or key_file) on a development chain.
func loadKey(cfg *Config, n *contracts.Network) (*ecdsa.PrivateKey, error) {
	k, err := cfg.keySource().Load(n)
	if err != nil {
		return nil, fmt.Errorf("node account: %w", err)
	}
	return k, nil
}

func dialChain(ctx context.Context, cfg *Config) (*contracts.Network, *ethclient.Client, *ecdsa.PrivateKey, error) {
	if cfg.Network == "" {
		return nil, nil, nil, errors.New("no network file (network)")
	}
	n, err := contracts.LoadNetwork(cfg.Network)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := loadKey(cfg, n)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := ethclient.DialContext(ctx, n.RPC)
	if err != nil {
		return nil, nil, nil, err
	}
	return n, c, key, nil
}

func send(ctx context.Context, c *ethclient.Client, n *contracts.Network, key *ecdsa.PrivateKey, to common.Address, data []byte) error {
	opts := bind.NewKeyedTransactor(key, n.ChainID)
	opts.Context = ctx
	tx, err := bind.NewBoundContract(to, registry.NewRegistry().GetABI(), c, c, c).RawTransact(opts, data)
	if err != nil {
		return err
	}
	_, err = contracts.WaitOK(ctx, c, tx)
	return err
}

func register(cfg *Config, log *slog.Logger) error {
	policy, err := cfg.policy()
	if err != nil {
		return err // check has reported it already
	}
	id, err := loadIdentity(cfg.DataDir, false)
	if err != nil {
		return err
	}
	p, err := cfg.Node.Price.Wei()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, c, key, err := dialChain(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	roles := uint8(0)
	if cfg.hasRole("relay") {
		roles |= dir.RoleRelay
	}
	if cfg.hasRole("exit") {
		roles |= dir.RoleExit
	}
	cc := cfg.Node.Country
	data := registry.NewRegistry().PackSet(cfg.Node.PublicURL, id.noise.Public, id.pin, common.Address{}, p, [2]byte{cc[0], cc[1]}, roles, policy.String())
	if err := send(ctx, c, n, key, n.Addresses.Registry, data); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	log.Info("registered", "node", crypto.PubkeyToAddress(key.PublicKey), "url", cfg.Node.PublicURL, "roles", cfg.Node.Roles,
		"price_per_gb", string(cfg.Node.Price), "exit_policy", policy.String())
	return nil
}

func stake(cfg *Config, log *slog.Logger) error {
	a, err := cfg.Stake.Amount.Wei()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, c, key, err := dialChain(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	me := crypto.PubkeyToAddress(key.PublicKey)
	if err := send(ctx, c, n, key, n.Addresses.Token, testtoken.NewTestToken().PackApprove(n.Addresses.Directory, a)); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if err := send(ctx, c, n, key, n.Addresses.Directory, directory.NewDirectory().PackPush(me, a, uint64(cfg.Stake.Delay.Seconds()))); err != nil {
		return fmt.Errorf("stake: %w", err)
	}
	log.Info("staked", "node", me, "tokens", string(cfg.Stake.Amount), "delay", cfg.Stake.Delay)
	return nil
}
