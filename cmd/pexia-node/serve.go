package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/hop/wire"
	"github.com/pexia-network/pexia/internal/cpuprof"
	"github.com/pexia-network/pexia/internal/logger"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/relay"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/ticket"
)

// The run command.
//
// Shutdown order, on the first SIGINT or SIGTERM: stop answering offers
// (close the signaling socket); drain the node (relay.Node.Shutdown: new
// circuits and streams are refused, idle circuits are destroyed at once,
// busy ones get the drain time, then DESTROY); close the links; stop the
// redeemer; write the ticket receiver's pending marks; let the redeemer
// make one last claim within its own deadline; close the ticket store and
// the chain client; stop the metrics server last, so the drain can be
// watched. A second signal exits at once with status 1; the ticket store
// is a bbolt database, which a killed process leaves consistent.

// logf adapts a logger to the printf-style Logf of relay, link, chain and
// ticket, at one level.
func logf(l *slog.Logger, level slog.Level) logger.Logf {
	return func(format string, args ...any) {
		if l.Enabled(context.Background(), level) {
			l.Log(context.Background(), level, fmt.Sprintf(format, args...))
		}
	}
}

func serve(cfg *Config, log *slog.Logger) error {
	id, err := loadIdentity(cfg.DataDir, false)
	if err != nil {
		return err
	}
	policy, err := cfg.policy()
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	// PEXIA_CPUPROFILE=DIR: SIGUSR2 starts and ends a CPU profile.
	defer cpuprof.Listen(logf(log, slog.LevelInfo))()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	stats := new(relay.NodeStats)
	var addr onion.Address
	var pay *payments
	var lookup func(context.Context, onion.Address) (wire.HopInfo, bool, error)
	closeRegistry := func() {}
	if cfg.Network != "" {
		n, err := contracts.LoadNetwork(cfg.Network)
		if err != nil {
			return err
		}
		key, err := loadKey(cfg, n)
		if err != nil {
			return err
		}
		addr = onion.Address(crypto.PubkeyToAddress(key.PublicKey))
		log.Info("node account", "address", common.Address(addr), "from", cfg.keySource().String())
		price, err := cfg.Node.Price.Wei()
		if err != nil {
			return err
		}
		if price.Sign() > 0 {
			if pay, err = startPayments(ctx, cfg, n, key, price, log); err != nil {
				return err
			}
			pay.checkRegistration(ctx, cfg, n, policy, log)
		}
		// The registry next hops are checked against: through the
		// payments' chain client, or one of its own for a free node.
		var cl *chain.Client
		if pay != nil {
			cl = pay.cl
		} else if cl, err = chain.Dial(ctx, n, chain.Options{Logf: logf(log, slog.LevelInfo)}); err != nil {
			return err
		} else {
			closeRegistry = cl.Close
		}
		lookup = newRegistryLookup(dir.New(cl, n.Addresses)).lookup
	} else if cfg.hasRole("relay") {
		log.Warn("no network: this relay extends no circuit, since it has no registry to check next hops against")
	}
	closePay := func() error {
		defer closeRegistry()
		if pay == nil {
			return nil
		}
		return pay.close(cfg.Redeem.FinalClaimTimeout, log)
	}

	var msrv *http.Server
	if cfg.Metrics.Listen != "" {
		c := newCollector(stats, nil, nil)
		if pay != nil {
			c.tickets, c.claims, c.price = pay.tickets, pay.claims, pay.price
		}
		ml, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			return errors.Join(fmt.Errorf("metrics: %w", err), closePay())
		}
		msrv = metricsServer(newRegistry(c), ml)
		log.Info("serving metrics", "url", "http://"+ml.Addr().String()+"/metrics")
	}
	stopMetrics := func() {
		if msrv != nil {
			msrv.Close()
		}
	}

	l, err := link.NewListener(link.ListenConfig{UDPAddr: cfg.Node.UDP, Certificate: id.cert, Logf: logf(log, slog.LevelDebug),
		OffersPerSecond: cfg.Limits.OffersPerSecond, OfferBurst: cfg.Limits.OfferBurst,
		SourceOffersPerSecond: cfg.Limits.SourceOffersPerSecond, SourceOfferBurst: cfg.Limits.SourceOfferBurst,
		MaxHandshakes: cfg.Limits.MaxHandshakes})
	if err != nil {
		stopMetrics()
		return errors.Join(err, closePay())
	}
	tl, err := net.Listen("tcp", cfg.Node.Listen)
	if err != nil {
		l.Close()
		stopMetrics()
		return errors.Join(err, closePay())
	}
	ncfg := relay.NodeConfig{Address: addr, Key: id.noise, Exit: cfg.hasRole("exit"), Policy: policy, OwnAddrs: cfg.ownAddrs(ctx, log), DNSServer: cfg.Node.DNSServer,
		Stats: stats, MaxCircuits: cfg.Limits.MaxCircuits, MaxStreams: cfg.Limits.MaxStreamsPerCircuit, Logf: logf(log, slog.LevelDebug),
		FirstCellTimeout: cfg.Limits.FirstCellTimeout, MaxPendingPerLink: cfg.Limits.MaxPendingPerLink,
		MaxChannelsPerLink: cfg.Limits.MaxChannelsPerLink, MaxLinksPerPeer: cfg.Limits.MaxLinksPerPeer,
		MaxOutLinks: cfg.Limits.MaxOutLinks, OutLinkIdle: cfg.Limits.OutLinkIdle, LookupNode: lookup}
	if pay != nil {
		ncfg.Payee = pay.payee
	}
	node := relay.NewNode(ncfg)
	signaling := make(chan error, 1)
	go func() { signaling <- l.Serve(tl) }()
	go node.Serve(ctx, l)
	log.Info("node serving", "address", common.Address(addr), "signaling", "https://"+tl.Addr().String()+"/",
		"udp", l.UDPAddr().String(), "roles", cfg.Node.Roles, "exit_policy", policy.String())

	var cause error
	select {
	case sig := <-sigs:
		log.Info("shutting down; signal again to exit at once", "signal", sig.String(), "drain_timeout", cfg.Shutdown.DrainTimeout)
	case err := <-signaling:
		cause = fmt.Errorf("signaling: %w", err)
		log.Error("signaling failed; shutting down", "err", err)
	}
	go func() {
		sig := <-sigs
		log.Error("second signal: exiting now", "signal", sig.String())
		os.Exit(1)
	}()

	start := time.Now()
	tl.Close()
	dctx, dcancel := context.WithTimeout(ctx, cfg.Shutdown.DrainTimeout)
	if err := node.Shutdown(dctx); err != nil {
		log.Warn("drain incomplete", "err", err)
	}
	dcancel()
	l.Close()
	cancel()
	err = closePay()
	s := stats.Snapshot()
	log.Info("node stopped", "took", time.Since(start).Round(time.Millisecond), "circuits_created", s.CircuitsCreated,
		"streams", s.StreamsTotal, "bytes_in", s.BytesIn, "bytes_out", s.BytesOut)
	stopMetrics()
	return errors.Join(cause, err)
}

// payments is the node's side of the lottery: the chain client, the
// ticket store, the receiver that verifies tickets and the redeemer that
// claims winners.
type payments struct {
	cl      *chain.Client
	key     *ecdsa.PrivateKey
	store   *ticket.Store
	recv    *ticket.Receiver
	red     *ticket.Redeemer
	payee   func() relay.PayeeSession
	tickets *payhop.TicketStats
	claims  *claimStats
	price   *big.Int // per 10^9 bytes

	cost atomic.Pointer[big.Int] // claim cost at the current gas price

	stopRedeem context.CancelFunc
	redeeming  sync.WaitGroup
}

// startPayments opens the node's ticket store, verifies payments against
// the chain, and redeems winners in the background.
func startPayments(ctx context.Context, cfg *Config, n *contracts.Network, key *ecdsa.PrivateKey, price *big.Int, log *slog.Logger) (*payments, error) {
	cl, err := chain.Dial(ctx, n, chain.Options{Logf: logf(log, slog.LevelInfo)})
	if err != nil {
		return nil, err
	}
	cost, err := cl.ClaimCost(ctx)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("claim cost: %w", err)
	}
	store, err := ticket.OpenStore(filepath.Join(cfg.DataDir, "tickets.db"))
	if err != nil {
		cl.Close()
		return nil, err
	}
	p := &payments{cl: cl, key: key, store: store, tickets: new(payhop.TicketStats), claims: newClaimStats(), price: price}
	p.cost.Store(cost)
	go cl.Run(ctx)
	me := crypto.PubkeyToAddress(key.PublicKey)
	minFace := new(big.Int).Mul(cost, big.NewInt(cfg.Payments.MinFaceFactor))
	p.recv, err = ticket.NewReceiver(ticket.ReceiverConfig{
		Lottery:   ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery},
		Recipient: me, Accounts: ticket.ChainAccounts{Client: cl}, Store: store,
		MinFace: minFace,
		MinFaceNow: func() *big.Int {
			return new(big.Int).Mul(p.claimCost(), big.NewInt(cfg.Payments.MinFaceFactor))
		},
		ClaimCost: p.claimCost,
		Grace:     cfg.Payments.Grace,
	})
	if err != nil {
		store.Close()
		cl.Close()
		return nil, err
	}
	cm := claimer{cl: cl, key: key, stats: p.claims, logf: logf(log, slog.LevelWarn)}
	cm.refreshEarnings(ctx)
	p.red = ticket.NewRedeemer(ticket.RedeemerConfig{Store: store, Receiver: p.recv, Claimer: cm,
		ClaimCost: p.claimCost, BatchSize: cfg.Redeem.BatchSize, MaxWait: cfg.Redeem.MaxWait,
		Interval: cfg.Redeem.Interval, Logf: logf(log, slog.LevelInfo)})
	rctx, stop := context.WithCancel(ctx)
	p.stopRedeem = stop
	p.redeeming.Add(1)
	go func() {
		defer p.redeeming.Done()
		p.red.Run(rctx)
	}()
	p.redeeming.Add(1)
	go func() {
		defer p.redeeming.Done()
		p.followClaimCost(rctx, log)
	}()
	w := payhop.BytesWorth(cfg.Payments.CreditBytes, price)
	p.payee = payhop.Payee(p.recv, payhop.NodeTerms{PricePerGB: price, ClaimCost: cost, ClaimCostNow: p.claimCost, Window: w,
		DebtLimit: new(big.Int).Mul(w, big.NewInt(cfg.Payments.DebtFactor)), Stats: p.tickets})
	log.Info("charging", "price_per_gb", price, "claim_cost", cost, "min_face", minFace)
	return p, nil
}

// claimCostEvery is how often a node reads the chain's gas price again for
// the claim cost it announces: clients refuse a claim cost above what the
// chain's recent gas price justifies (internal/payhop.ClaimCostLimit).
const claimCostEvery = time.Minute

func (p *payments) claimCost() *big.Int { return p.cost.Load() }

// followClaimCost keeps the claim cost at the chain's gas price until ctx
// ends; a failed read keeps the last figure.
func (p *payments) followClaimCost(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(claimCostEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cost, err := p.cl.ClaimCost(cctx)
		cancel()
		if err != nil {
			log.Warn("claim cost: keeping the last one", "err", err)
			continue
		}
		p.cost.Store(cost)
	}
}

// checkRegistration warns when the registry publishes another exit policy
// than the one the node enforces: clients choose exits by what is
// published.
func (p *payments) checkRegistration(ctx context.Context, cfg *Config, n *contracts.Network, policy *relay.ExitPolicy, log *slog.Logger) {
	if !cfg.hasRole("exit") {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	node, ok, err := dir.New(p.cl, n.Addresses).Lookup(rctx, crypto.PubkeyToAddress(p.key.PublicKey))
	switch {
	case err != nil:
		log.Warn("could not read the node's registry entry", "err", err)
	case !ok:
		log.Warn("node is not registered; run register")
	default:
		if reg, err := relay.ParseExitPolicy(node.ExitPolicy); err != nil || reg.String() != policy.String() {
			log.Warn("registered exit policy differs from the one enforced; run register again", "registered", node.ExitPolicy, "enforced", policy.String())
		}
	}
}

// close stops the redeemer, writes what the receiver holds in memory, makes
// a last claim within timeout, and closes the store and the chain client.
func (p *payments) close(timeout time.Duration, log *slog.Logger) error {
	p.stopRedeem()
	p.redeeming.Wait()
	var errs []error
	if err := p.recv.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("flush ticket marks: %w", err))
	}
	if timeout > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		paid, err := p.red.RedeemOnce(ctx, true)
		cancel()
		if err != nil {
			log.Warn("last claim failed; winners stay in the store for the next start", "err", err)
		} else if paid.Sign() > 0 {
			log.Info("last claim", "paid", paid)
		}
	}
	if err := p.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close ticket store: %w", err))
	}
	p.cl.Close()
	return errors.Join(errs...)
}

// ownAddrs returns the node's addresses that need not be on its
// interfaces (those on them the exit finds itself): the hosts of the
// published URL and of the listen addresses. The exit refuses streams to
// them unless its policy names them.
func (c *Config) ownAddrs(ctx context.Context, log *slog.Logger) []netip.Addr {
	var hosts []string
	if u, err := url.Parse(c.Node.PublicURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	for _, hp := range []string{c.Node.Listen, c.Node.UDP} {
		if h, _, err := net.SplitHostPort(hp); err == nil && h != "" {
			hosts = append(hosts, h)
		}
	}
	var out []netip.Addr
	for _, h := range hosts {
		if a, err := netip.ParseAddr(h); err == nil {
			if !a.IsUnspecified() {
				out = append(out, a.Unmap())
			}
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := net.DefaultResolver.LookupNetIP(rctx, "ip", h)
		cancel()
		if err != nil {
			log.Warn("could not resolve the node's own name; the exit refuses its interfaces' addresses only", "host", h, "err", err)
			continue
		}
		for _, a := range addrs {
			out = append(out, a.Unmap())
		}
	}
	return out
}
