// Command pexia-node sells bandwidth: it relays circuits and, with -exit,
// connects their streams to the internet.
//
//	pexia-node -network N -datadir D -key HEX|devnet:ROLE init
//	pexia-node ... register -url https://host:port/ -price 0.01 -country DE -exit
//	pexia-node ... stake -amount 1000 -delay 2160h
//	pexia-node ... run -listen :8443 -udp :8443 -exit
//
// init creates the node's handshake key and TLS certificate in the data
// directory (kept across restarts: the registry publishes them); register
// publishes them with the signaling URL, price and roles; stake locks tokens
// on the node in the directory.
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
	"log"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
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
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/hop/link"
	"github.com/pexia-network/pexia/hop/onion"
	"github.com/pexia-network/pexia/internal/atomicfile"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/ticket"
)

func main() {
	log.SetFlags(log.Ltime)
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pexia-node:", err)
		os.Exit(1)
	}
}

type global struct {
	network, datadir, key string
}

func run(args []string) error {
	fs := flag.NewFlagSet("pexia-node", flag.ContinueOnError)
	var g global
	fs.StringVar(&g.network, "network", "", "network file (chain ID, RPC URL, contracts)")
	fs.StringVar(&g.datadir, "datadir", "", "directory for the node's handshake key and TLS certificate")
	fs.StringVar(&g.key, "key", "", "node account: hex private key, or devnet:ROLE for a devnet test key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("missing command: init, register, stake, run or earnings")
	}
	if g.datadir == "" {
		return errors.New("-datadir is required")
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "init":
		id, err := loadIdentity(g.datadir, true)
		if err != nil {
			return err
		}
		fmt.Printf("handshake key %x\ntls pin       %s\n", id.noise.Public, id.pin)
		return nil
	case "register":
		return register(g, rest)
	case "stake":
		return stake(g, rest)
	case "run":
		return serve(g, rest)
	case "earnings":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		n, c, key, err := dialChain(ctx, g)
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
		fmt.Printf("%s earned %s tokens (claimed on chain, not yet collected)\n", me, new(big.Rat).SetFrac(e, contracts.Ether(1)).FloatString(6))
		return nil
	}
	return fmt.Errorf("unknown command %q", cmd)
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

func loadKey(g global, n *contracts.Network) (*ecdsa.PrivateKey, error) {
	if g.key == "" {
		return nil, errors.New("-key is required")
	}
	return contracts.ParseKey(n, g.key)
}

func dialChain(ctx context.Context, g global) (*contracts.Network, *ethclient.Client, *ecdsa.PrivateKey, error) {
	if g.network == "" {
		return nil, nil, nil, errors.New("-network is required")
	}
	n, err := contracts.LoadNetwork(g.network)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := loadKey(g, n)
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

func register(g global, args []string) error {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	url := fs.String("url", "", "public signaling URL (https://host:port/)")
	price := fs.String("price", "0.01", "price per GB in whole tokens")
	country := fs.String("country", "ZZ", "ISO 3166-1 alpha-2 country code")
	exit := fs.Bool("exit", false, "offer the exit role")
	policy := fs.String("policy", "accept *:*", "exit policy summary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || len(*country) != 2 {
		return errors.New("register needs -url and a two-letter -country")
	}
	id, err := loadIdentity(g.datadir, false)
	if err != nil {
		return err
	}
	p, err := contracts.ParseAmount(*price)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, c, key, err := dialChain(ctx, g)
	if err != nil {
		return err
	}
	defer c.Close()
	roles := dir.RoleRelay
	if *exit {
		roles |= dir.RoleExit
	}
	cc := strings.ToUpper(*country)
	data := registry.NewRegistry().PackSet(*url, id.noise.Public, id.pin, common.Address{}, p, [2]byte{cc[0], cc[1]}, roles, *policy)
	if err := send(ctx, c, n, key, n.Addresses.Registry, data); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	log.Printf("registered %s at %s (roles %d, %s tokens/GB)", crypto.PubkeyToAddress(key.PublicKey), *url, roles, *price)
	return nil
}

func stake(g global, args []string) error {
	fs := flag.NewFlagSet("stake", flag.ContinueOnError)
	amount := fs.String("amount", "1000", "tokens to stake on this node")
	delay := fs.Duration("delay", 90*24*time.Hour, "withdrawal delay (can only grow)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := contracts.ParseAmount(*amount)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, c, key, err := dialChain(ctx, g)
	if err != nil {
		return err
	}
	defer c.Close()
	me := crypto.PubkeyToAddress(key.PublicKey)
	if err := send(ctx, c, n, key, n.Addresses.Token, testtoken.NewTestToken().PackApprove(n.Addresses.Directory, a)); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if err := send(ctx, c, n, key, n.Addresses.Directory, directory.NewDirectory().PackPush(me, a, uint64(delay.Seconds()))); err != nil {
		return fmt.Errorf("stake: %w", err)
	}
	log.Printf("staked %s tokens on %s with a %v delay", *amount, me, *delay)
	return nil
}

func serve(g global, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8443", "HTTPS signaling address")
	udp := fs.String("udp", "127.0.0.1:0", "UDP address of the node's WebRTC socket")
	exit := fs.Bool("exit", false, "serve streams as an exit")
	price := fs.String("price", "0.01", "price per GB in whole tokens (as registered); 0 serves for free")
	window := fs.Int64("credit-bytes", 4<<20, "traffic a client may be behind before it is throttled (dropped at 4x)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := loadIdentity(g.datadir, false)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var addr onion.Address
	var payee func() hop.PayeeSession
	if g.network != "" {
		n, err := contracts.LoadNetwork(g.network)
		if err != nil {
			return err
		}
		key, err := loadKey(g, n)
		if err != nil {
			return err
		}
		addr = onion.Address(crypto.PubkeyToAddress(key.PublicKey))
		p, err := contracts.ParseAmount(*price)
		if err != nil {
			return err
		}
		if p.Sign() > 0 {
			if payee, err = startPayments(ctx, g, n, key, p, *window); err != nil {
				return err
			}
		}
	}
	l, err := link.NewListener(link.ListenConfig{UDPAddr: *udp, Certificate: id.cert, Logf: log.Printf})
	if err != nil {
		return err
	}
	tl, err := net.Listen("tcp", *listen)
	if err != nil {
		l.Close()
		return err
	}
	node := hop.NewNode(hop.NodeConfig{Address: addr, Key: id.noise, Exit: *exit, Payee: payee, Logf: log.Printf})
	go l.Serve(tl)
	go node.Serve(ctx, l)
	log.Printf("node %s serving signaling on https://%s/ (udp %s, exit %v)", common.Address(addr), tl.Addr(), l.UDPAddr(), *exit)
	<-ctx.Done()
	log.Printf("shutting down")
	node.Close()
	return l.Close()
}

// startPayments opens the node's ticket store, verifies payments against
// the chain, and redeems winners in the background.
func startPayments(ctx context.Context, g global, n *contracts.Network, key *ecdsa.PrivateKey, price *big.Int, windowBytes int64) (func() hop.PayeeSession, error) {
	cl, err := chain.Dial(ctx, n, chain.Options{Logf: log.Printf})
	if err != nil {
		return nil, err
	}
	go cl.Run(ctx)
	store, err := ticket.OpenStore(filepath.Join(g.datadir, "tickets.db"))
	if err != nil {
		return nil, err
	}
	go func() { <-ctx.Done(); store.Close() }()
	cost, err := cl.ClaimCost(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim cost: %w", err)
	}
	me := crypto.PubkeyToAddress(key.PublicKey)
	recv, err := ticket.NewReceiver(ticket.ReceiverConfig{
		Lottery:   ticket.Lottery{ChainID: n.ChainID, Address: n.Addresses.Lottery},
		Recipient: me, Accounts: ticket.ChainAccounts{Client: cl}, Store: store,
		MinFace:   new(big.Int).Mul(cost, big.NewInt(20)),
		ClaimCost: func() *big.Int { return cost },
		Grace:     2 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	red := ticket.NewRedeemer(ticket.RedeemerConfig{Store: store, Receiver: recv, Claimer: ticket.ChainClaimer{Client: cl, Key: key},
		ClaimCost: func() *big.Int { return cost }, MaxWait: 5 * time.Second, Interval: time.Second, Logf: log.Printf})
	go red.Run(ctx)
	w := payhop.BytesWorth(windowBytes, price)
	log.Printf("charging %v per GB; claim cost %v, minimum face %v", price, cost, new(big.Int).Mul(cost, big.NewInt(20)))
	return payhop.Payee(recv, payhop.NodeTerms{PricePerGB: price, ClaimCost: cost, Window: w, DebtLimit: new(big.Int).Mul(w, big.NewInt(4))}), nil
}
