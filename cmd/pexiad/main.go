// Command pexiad is Pexia's client daemon. As root it creates the pexia0
// TUN device, routes the machine's IPv4 and IPv6 traffic into a userspace
// TCP/IP stack and sends every flow through a paid multi-hop circuit, with
// DNS resolved at the exit and an optional kill switch. Without root (or
// with -mode proxy) it serves a local SOCKS5 and HTTP proxy instead. The
// pexia CLI and the desktop app drive it over the local API on a unix
// socket.
//
// The network the funder pays on is the admin's alone: flags, and the
// configuration file (see config.go) owned by root. Members of the API's
// group choose among the networks it lists, within its limits; see the
// privilege model in package api.
//
// In proxy mode the proxies listen on loopback only (unless
// -proxy-allow-remote) and every client must authenticate with the
// daemon's credentials: API users see them in 'pexia status', and the
// proxies' URLs with them are written to -proxy-credentials, readable by
// root and -group only.
//
//	pexiad -network /etc/pexia/network.json -passphrase-file /etc/pexia/funder.passphrase
//	pexiad -config /etc/pexia/pexiad.toml -passphrase-file /etc/pexia/funder.passphrase
//	pexiad -passphrase-file /etc/pexia/funder.passphrase init [-import FILE]
//	pexiad recover     undo routes and DNS left by a stopped run; the kill
//	                   switch stays if the user never disconnected
//	pexiad early-boot  install the kill switch at boot if the saved state asks
//	pexiad unblock     disconnect while pexiad is not running: lift the kill switch
//
// The funder key lives encrypted in a keystore (default STATE-DIR/keystore,
// account "funder"); init creates it (or imports a hex key file) and, if the
// passphrase file does not exist, first writes one with a random
// passphrase. The passphrase comes from -passphrase-file or, under systemd,
// from the credential keystore-passphrase (LoadCredential=), never from the
// command line. -key takes a development key only: devnet:ROLE, or hex (or
// file:PATH holding hex) on a development chain.
//
// Two flags exist for tests only and are never on by default: -face pays
// every hop a flat face value instead of the budget's plan, and
// -test-clock runs the budget's clock compressed, so that a whole month of
// budget passes in minutes against a real chain and real nodes. Its value
// is a schedule of segments TIME@SPEED: from each RFC 3339 instant on, the
// month's clock runs SPEED simulated seconds per real second; at a segment
// TIME@step it stands until pexiad receives SIGUSR1, which moves it to the
// next segment's instant; a last speed of 0 stops it there, for example
//
//	-test-clock 2026-03-01T00:00:00Z@12000,2026-03-31T18:00:00Z@200,2026-03-31T23:59:59Z@0
//	-test-clock 2026-03-01T00:00:00Z@step,2026-03-02T00:00:00Z@step,...,2026-03-31T23:59:59Z@0
//
// It starts at the first instant when pexiad starts (see daemon.BudgetClock). Only the budget
// engine reads it (the month, the throttle, the window in which winners
// are still expected, the horizon of the accounts' deposits); tickets,
// hop accounts and the chain keep real time. Only the admin, who starts
// pexiad, can set either.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/daemon"
	"github.com/pexia-network/pexia/internal/cpuprof"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/wallet/keys"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pexiad:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("pexiad", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "/var/lib/pexia", "settings, budget ledger and the record of network changes")
	socket := fs.String("socket", envOr("PEXIA_SOCKET", api.DefaultSocketPath), "local API socket")
	group := fs.String("group", api.DefaultGroup, "group whose members may use the local API (besides root)")
	config := fs.String("config", "", "the admin's configuration: networks members may choose, limits (default "+defaultConfigPath+" if it exists)")
	network := fs.String("network", "", "network file (chain, contracts): the default network, named \"default\"")
	maxBudget := fs.String("max-monthly-budget", "", "highest monthly budget in whole tokens that group members may set (default: the configuration's, else no limit)")
	keystore := fs.String("keystore", "", "keystore holding the funder key (default STATE-DIR/keystore)")
	account := fs.String("account", string(keys.RoleFunder), "funder account in the keystore: a label or its 0x address")
	passFile := fs.String("passphrase-file", "", "file holding the keystore passphrase, readable by its owner only (default: systemd credential "+keys.CredentialName+")")
	key := fs.String("key", "", "development funder key instead of the keystore: devnet:ROLE, or hex or file:PATH on a development chain")
	mode := fs.String("mode", "", "tun (whole machine; needs root) or proxy (local SOCKS5/HTTP proxy); default tun as root")
	proxyAddr := fs.String("proxy", "127.0.0.1:1080", "proxy mode: SOCKS5 and HTTP listen address, on loopback unless -proxy-allow-remote")
	proxyRemote := fs.Bool("proxy-allow-remote", false, "proxy mode: allow a listen address beyond loopback (clients still need the credentials)")
	proxyCreds := fs.String("proxy-credentials", "", "proxy mode: file the proxies' URLs with their credentials are written to, readable by root and -group (default: beside the socket)")
	tunName := fs.String("tun", "pexia0", "TUN device name")
	mtu := fs.Int("mtu", 1420, "TUN device MTU")
	mark := fs.Uint("mark", 0x5078, "firewall mark of the daemon's own sockets")
	table := fs.Int("table", 5078, "routing table of the tunnel's default routes")
	excludeCg := fs.String("exclude-cgroup", "pexia-exclude", "cgroup v2, relative to the hierarchy's root, of the programs that \"pexia exclude\" routes around the tunnel")
	faceStr := fs.String("face", "", "override: pay every hop tickets of this flat face value, in whole tokens, and keep the hop accounts at 100 faces (for tests; by default the budget plans each hop's face and the deposits)")
	testClock := fs.String("test-clock", "", "for tests only: run the budget's clock compressed on a schedule T0@SPEED0,T1@SPEED1,... (RFC 3339 instants, simulated seconds per real second; a last speed of 0 stops it); see package doc")
	connect := fs.Bool("connect", false, "connect at start with the saved settings")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: pexiad [flags]            run the daemon\n"+
			"       pexiad [flags] recover     undo what a stopped run left (routes, DNS) and exit;\n"+
			"                                  the kill switch stays until the user disconnects\n"+
			"       pexiad [flags] early-boot  block traffic from boot if lockdown is on or the\n"+
			"                                  user never disconnected (with the kill switch)\n"+
			"       pexiad [flags] unblock     disconnect while pexiad is not running\n"+
			"       pexiad [flags] init [-import FILE]  create (or import) the funder key in the keystore")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	logf := logger.Logf(log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds).Printf)
	// PEXIA_CPUPROFILE=DIR: SIGUSR2 starts and ends a CPU profile.
	defer cpuprof.Listen(logf)()

	m := api.Mode(*mode)
	if m == "" {
		m = api.ModeProxy
		if os.Geteuid() == 0 {
			m = api.ModeTUN
		}
	}
	var face *big.Int
	if *faceStr != "" {
		var err error
		if face, err = contracts.ParseAmount(*faceStr); err != nil || face.Sign() <= 0 {
			return fmt.Errorf("-face %q: want a positive amount", *faceStr)
		}
	}
	var clock *daemon.BudgetClock
	if *testClock != "" {
		var err error
		if clock, err = daemon.ParseBudgetClock(*testClock); err != nil {
			return fmt.Errorf("-test-clock: %w", err)
		}
	}
	src, err := keySource(*stateDir, *keystore, *account, *passFile, *key)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 && fs.Arg(0) == "init" {
		return initKey(src, fs.Args()[1:], os.Stdout)
	}
	cfg := daemon.Config{
		StateDir: *stateDir, Key: src, Face: face, BudgetClock: clock, Mode: m, ProxyAddr: *proxyAddr,
		TUN:  daemon.TUNConfig{Name: *tunName, MTU: *mtu, Mark: uint32(*mark), Table: *table, ExcludeCgroup: *excludeCg},
		Logf: logf,
	}
	if fs.NArg() == 1 {
		switch fs.Arg(0) {
		case "recover":
			return daemon.Recover(cfg)
		case "early-boot":
			on, err := daemon.EarlyBoot(cfg)
			if on {
				logf("kill switch installed: traffic is blocked until pexiad connects or the user disconnects")
			}
			return err
		case "unblock":
			lockdown, err := daemon.Unblock(cfg)
			if lockdown {
				logf("lockdown is on: the kill switch stays (turn lockdown off with 'pexia settings lockdown=off')")
			}
			return err
		}
	}
	cpath := *config
	if cpath == "" {
		cpath = defaultConfigPath
	}
	ac, err := loadAdminConfig(cpath, *config != "")
	if err != nil {
		return err
	}
	if err := ac.apply(&cfg, *network, *maxBudget); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if m == api.ModeTUN && os.Geteuid() != 0 {
		return errors.New("tun mode needs root (or run with -mode proxy)")
	}

	if *group != "" {
		if _, err := user.LookupGroup(*group); err != nil {
			logf("group %q does not exist; only root may use the local API", *group)
			*group = ""
		}
	}
	if m == api.ModeProxy {
		cfg.ProxyAllowRemote = *proxyRemote
		cfg.ProxyCredentialsFile, cfg.ProxyCredentialsGroup = *proxyCreds, *group
		if cfg.ProxyCredentialsFile == "" {
			cfg.ProxyCredentialsFile = filepath.Join(filepath.Dir(*socket), "proxy-credentials")
		}
	}
	d, err := daemon.New(cfg)
	if err != nil {
		return err
	}
	scfg := api.ServerConfig{Group: *group, Logf: logger.WithPrefix(logf, "api: ")}
	ln, err := api.Listen(*socket, scfg)
	if err != nil {
		d.Close()
		return err
	}
	srv := api.NewServer(d, scfg)
	go srv.Serve(ln)
	logf("pexiad %s mode, local API on %s", m, *socket)
	if *connect {
		if _, err := d.Connect(context.Background(), api.ConnectRequest{}); err != nil {
			logf("connect: %v", err)
		}
	}

	if clock != nil {
		// A stepped test clock moves on at each SIGUSR1.
		steps := make(chan os.Signal, 16)
		signal.Notify(steps, syscall.SIGUSR1)
		go func() {
			for range steps {
				now, ok := clock.Step()
				logf("test clock: %s (stepped: %v)", now.Format(time.RFC3339), ok)
			}
		}()
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	logf("%v: shutting down", s)
	go func() {
		<-sig
		logf("second signal: exiting at once")
		os.Exit(1)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	return d.Close()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// keySource turns the key flags into a key source: -key (a development
// key) or the keystore account.
func keySource(stateDir, keystore, account, passFile, key string) (keys.Source, error) {
	if key != "" {
		if keystore != "" || passFile != "" {
			return keys.Source{}, errors.New("-key is a development key; give it or -keystore/-passphrase-file, not both")
		}
		if p, ok := strings.CutPrefix(key, "file:"); ok {
			return keys.Source{KeyFile: p}, nil
		}
		return keys.Source{Key: key}, nil
	}
	if keystore == "" {
		keystore = filepath.Join(stateDir, "keystore")
	}
	return keys.Source{Keystore: keystore, Account: account, PassphraseFile: passFile}, nil
}

// initKey creates the funder account in the keystore, or imports one.
func initKey(src keys.Source, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pexiad init", flag.ContinueOnError)
	imp := fs.String("import", "", "file holding a hex private key to import instead of creating a new key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("init: unexpected arguments %q", fs.Args())
	}
	if src.Plain() {
		return errors.New("init: -key is a development key; init creates a keystore account (-keystore, -passphrase-file)")
	}
	e, created, err := src.Init(keys.RoleFunder, *imp)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	switch {
	case created && *imp != "":
		fmt.Fprintf(out, "imported funder %s into %s; delete the plain-text %s now\n", e.Address, src.Keystore, *imp)
	case created:
		fmt.Fprintf(out, "created funder %s in %s; fund it, and back up the keystore and the passphrase\n", e.Address, src.Keystore)
	default:
		fmt.Fprintf(out, "funder %s is in %s already\n", e.Address, src.Keystore)
	}
	return nil
}
