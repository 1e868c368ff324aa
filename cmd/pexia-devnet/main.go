// Command pexia-devnet runs Pexia's local development chain: a go-ethereum
// node in this process with the Pexia contracts deployed and funded test
// accounts, kept in a data directory across restarts. It writes the network
// file (network.json in the data directory) that the other Pexia binaries
// take with -network, prints the RPC URL and the network file's path, and
// runs until interrupted.
//
// Usage:
//
//	pexia-devnet [-datadir dir] [-rpc-port 8545] [-block-period 1s]
//	             [-clients 2] [-nodes 5] [-lottery-delay 24h] [-log-index] [-v]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/log"

	"github.com/pexia-network/pexia/devnet"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pexia-devnet:", err)
		os.Exit(1)
	}
}

func run() error {
	datadir := flag.String("datadir", defaultDataDir(), "data directory of the chain and the network file")
	port := flag.Int("rpc-port", 8545, "HTTP JSON-RPC port (0 picks a free one)")
	host := flag.String("rpc-host", "127.0.0.1", "HTTP JSON-RPC listen address")
	period := flag.Duration("block-period", devnet.DefaultBlockPeriod, "time between blocks, at least 1s; 0 seals a block for every transaction")
	clients := flag.Int("clients", devnet.DefaultClients, "number of funded client test accounts")
	nodes := flag.Int("nodes", devnet.DefaultNodes, "number of funded node test accounts")
	delay := flag.Duration("lottery-delay", devnet.DefaultLotteryDelay, "Lottery delay between warn and withdraw (set when the contracts are deployed, on the first start)")
	logIndex := flag.Bool("log-index", false, "keep a log index so that eth_getLogs over long ranges is fast")
	verbose := flag.Bool("v", false, "show go-ethereum's info logs, not only its warnings")
	web := flag.String("web", "", "also serve a test web site on this address (the demo's stand-in for the internet)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if *datadir == "" {
		return errors.New("no home directory: give -datadir")
	}
	if *clients < 1 || *nodes < 1 {
		return errors.New("-clients and -nodes must be at least 1")
	}
	if *delay < time.Second {
		return errors.New("-lottery-delay must be at least 1s")
	}
	switch {
	case *period == 0:
		*period = devnet.MineOnTransaction
	case *period < time.Second:
		return errors.New("-block-period must be 0 or at least 1s")
	}

	logger := slog.New(newHandler(slog.LevelInfo))
	gethLevel := slog.LevelWarn
	if *verbose {
		gethLevel = slog.LevelInfo
	}
	log.SetDefault(log.NewLogger(newHandler(gethLevel)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := devnet.Start(ctx, devnet.Config{
		DataDir:      *datadir,
		RPCPort:      *port,
		RPCHost:      *host,
		BlockPeriod:  *period,
		Clients:      *clients,
		Nodes:        *nodes,
		LotteryDelay: *delay,
		LogIndex:     *logIndex,
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	fmt.Printf("rpc:     %s\nnetwork: %s\n", d.RPC(), d.NetworkFile())
	if *web != "" {
		ln, err := net.Listen("tcp", *web)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: testSite(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Printf("web:     http://%s/\n", ln.Addr())
	}
	<-ctx.Done()
	stop() // a second signal kills
	logger.Info("shutting down")
	return d.Close()
}

// defaultDataDir is $XDG_DATA_HOME/pexia/devnet, or
// ~/.local/share/pexia/devnet without it.
func defaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "pexia", "devnet")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".local", "share", "pexia", "devnet")
}

// noise are go-ethereum warnings that mean nothing on a devnet.
var noise = map[string]bool{
	"P2P server will be useless, neither dialing nor listening": true,
	"Head block is not reachable":                               true, // on a new chain
}

// quiet drops the noise.
type quiet struct{ slog.Handler }

func (q quiet) Handle(ctx context.Context, r slog.Record) error {
	if noise[r.Message] {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

func (q quiet) WithAttrs(as []slog.Attr) slog.Handler { return quiet{q.Handler.WithAttrs(as)} }
func (q quiet) WithGroup(name string) slog.Handler    { return quiet{q.Handler.WithGroup(name)} }

// newHandler logs short text lines to stderr.
func newHandler(level slog.Level) slog.Handler {
	return quiet{slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
				return slog.String(slog.TimeKey, a.Value.Time().Format(time.TimeOnly))
			}
			return a
		},
	})}
}

// testSite is a small web site: / says who asked (the address a client
// behind a circuit shows to the internet, the exit's), /bytes/N sends N
// bytes.
func testSite() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pexia devnet test site; you are %s\n", r.RemoteAddr)
	})
	mux.HandleFunc("/bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
		if err != nil || n < 0 || n > 1<<30 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		buf := make([]byte, 32<<10)
		for n > 0 {
			k := min(n, int64(len(buf)))
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	return mux
}
