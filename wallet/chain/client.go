// Package chain is the chain client that the wallet and nodes use to talk to
// the Pexia Lottery contract over JSON-RPC.
//
// Every RPC call runs with its own timeout and is retried with exponential
// backoff when the transport fails (connection refused, timeout, HTTP 5xx or
// 429). Answers from the chain, such as a revert, are never retried. After
// the last attempt the error wraps ErrUnavailable.
//
// Lottery accounts read with Account are cached. Run polls the Lottery's
// events (Update, Won, Burned) with eth_getLogs from the last block seen and
// applies them to the cache, so reads come from memory while the event
// follower keeps up. When the endpoint is down, Account keeps answering from
// the cache and says so in its Status, Health reports the outage, and the
// follower catches up from where it stopped once the endpoint answers
// again. Polling works over plain HTTP; no websocket is needed.
//
// Writes sign and send transactions with a given key, wait for the receipt,
// and decode the result: Claim reports for each ticket whether it was paid
// and, if not, why (contracts.Reason). Transactions from one key are
// serialized so concurrent sends never reuse a nonce.
package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/contracts/lottery"
	"github.com/pexia-network/pexia/contracts/testtoken"
	"github.com/pexia-network/pexia/internal/logger"
)

// Errors returned by Client methods, wrapped with context; test with
// errors.Is.
var (
	// ErrUnavailable means the RPC endpoint could not be reached (after the
	// retries). The error also wraps the last transport error.
	ErrUnavailable = errors.New("RPC endpoint unavailable")
	// ErrReverted means the chain refused a call or transaction; the error
	// is a *RevertError naming the contract's custom error when known.
	ErrReverted = errors.New("reverted")
	// ErrTxFailed means a transaction was mined but failed (status 0).
	ErrTxFailed = errors.New("transaction failed")
	// ErrNotMined means no receipt arrived within Options.ReceiptTimeout;
	// the transaction may still be mined later.
	ErrNotMined = errors.New("transaction not mined in time")
	// ErrWrongChain means the endpoint serves another chain than the
	// network file names.
	ErrWrongChain = errors.New("endpoint serves another chain")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("client closed")
	// ErrNotSent means the endpoint refused a signed transaction: it was
	// not sent and will not be mined.
	ErrNotSent = errors.New("transaction refused by the endpoint")
	// ErrInvalid is returned for malformed arguments.
	ErrInvalid = errors.New("invalid argument")
)

// Options configures a Client. Zero values take the defaults.
type Options struct {
	// CallTimeout bounds each RPC attempt (default 10 s). Dial's default
	// http.Client uses it as its timeout too.
	CallTimeout time.Duration
	// Retries is how many times a call is retried after a transport error
	// (default 3; negative means none).
	Retries int
	// Backoff is the wait before the first retry, doubling after each one up
	// to MaxBackoff (defaults 250 ms and 5 s).
	Backoff, MaxBackoff time.Duration

	// PollInterval is the period of the event follower (default 4 s).
	PollInterval time.Duration
	// FreshFor is how long after the follower's last successful poll cached
	// accounts count as fresh (default 3 × PollInterval). Past that, Account
	// reads from the chain again.
	FreshFor time.Duration
	// Confirmations: state is read, and events followed, this many blocks
	// behind the head (default 0).
	Confirmations uint64
	// MaxLogRange is the most blocks asked for in one eth_getLogs (default
	// 2000); it is halved when an endpoint refuses a range.
	MaxLogRange uint64
	// MaxAccounts bounds the account cache (default 4096); the least
	// recently used account is dropped first.
	MaxAccounts int

	// ReceiptTimeout bounds the wait for a sent transaction to be mined
	// (default 3 minutes) and ReceiptPoll is how often it asks (default 1 s).
	ReceiptTimeout, ReceiptPoll time.Duration
	// GasMargin is the percentage added to gas estimates (default 25).
	GasMargin uint64
	// ClaimGas is the gas one claimed ticket is budgeted at by ClaimCost
	// (default 50,000).
	ClaimGas uint64
	// ReplayLookback is how many blocks back Claim searches for the earlier
	// payment of a ticket the Lottery rejected as replayed (default 100,000;
	// negative disables the search).
	ReplayLookback int64

	// HTTPClient is used by Dial (default: a client with CallTimeout).
	HTTPClient *http.Client
	// Mine is called after each transaction is sent. Set it to the
	// simulated backend's Commit on chains that mine only on demand; nil
	// for real chains. The client never calls it concurrently (concurrent
	// Commits deadlock the simulated backend).
	Mine func()
	// Logf receives operational messages (nil is silent).
	Logf logger.Logf
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.CallTimeout, 10*time.Second)
	if o.Retries == 0 {
		o.Retries = 3
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	def(&o.Backoff, 250*time.Millisecond)
	def(&o.MaxBackoff, 5*time.Second)
	def(&o.PollInterval, 4*time.Second)
	def(&o.FreshFor, 3*o.PollInterval)
	if o.MaxLogRange == 0 {
		o.MaxLogRange = 2000
	}
	if o.MaxAccounts <= 0 {
		o.MaxAccounts = 4096
	}
	def(&o.ReceiptTimeout, 3*time.Minute)
	def(&o.ReceiptPoll, time.Second)
	if o.GasMargin == 0 {
		o.GasMargin = 25
	}
	if o.ClaimGas == 0 {
		o.ClaimGas = 50_000
	}
	if o.ReplayLookback == 0 {
		o.ReplayLookback = 100_000
	}
}

// Health is the state of the RPC endpoint as the client last saw it.
type Health struct {
	// OK is false while calls fail with transport errors.
	OK bool
	// Failures counts consecutive failed attempts.
	Failures int
	// LastOK is the time of the last call the endpoint answered.
	LastOK time.Time
	// LastError and LastErrorAt describe the last transport failure.
	LastError   error
	LastErrorAt time.Time
	// Synced is the block up to which the follower has applied events,
	// and LastPoll the time of its last successful poll (zero if Run or
	// Sync never succeeded).
	Synced   uint64
	LastPoll time.Time
}

// Client talks to the Lottery of one network. Its methods are safe for
// concurrent use.
type Client struct {
	b        contracts.Backend
	closeRPC func()
	net      contracts.Network
	chainID  *big.Int
	lotAddr  common.Address
	opts     Options
	signer   types.Signer
	lot      *lottery.Lottery
	lotABI   abi.ABI
	erc20    *testtoken.TestToken // only standard ERC20 methods are used
	tokABI   abi.ABI

	mineMu sync.Mutex // serializes Options.Mine

	closed    chan struct{}
	closeOnce sync.Once
	running   atomic.Bool

	chainMu sync.Mutex
	chainOK bool // the endpoint's chain ID was checked

	hmu    sync.Mutex
	health Health

	pollMu   sync.Mutex // serializes Sync
	mu       sync.Mutex // guards the cache and follower state below
	cache    map[common.Hash]*entry
	init     bool // synced is meaningful
	synced   uint64
	shash    common.Hash // hash of block synced, zero if unknown
	lastPoll time.Time
	useSeq   uint64

	smu     sync.Mutex
	senders map[common.Address]*sender
}

// Dial connects to the network's JSON-RPC endpoint. The endpoint does not
// have to be up: over HTTP no connection is made until the first call, and a
// client made while the endpoint is down reports it in Health and recovers
// when it comes back. A reachable endpoint serving another chain is an
// error (ErrWrongChain).
func Dial(ctx context.Context, n *contracts.Network, o Options) (*Client, error) {
	if n == nil {
		return nil, fmt.Errorf("chain: %w: no network", ErrInvalid)
	}
	if err := n.Check(); err != nil {
		return nil, fmt.Errorf("chain: network %q: %w", n.Name, err)
	}
	o.defaults()
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: o.CallTimeout}
	}
	rc, err := rpc.DialOptions(ctx, n.RPC, rpc.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("chain: dial %s: %w", n.RPC, err)
	}
	c, err := New(n, ethclient.NewClient(rc), o)
	if err != nil {
		rc.Close()
		return nil, err
	}
	c.closeRPC = rc.Close
	if err := c.checkChain(ctx, 1); err != nil {
		if !errors.Is(err, ErrUnavailable) {
			rc.Close()
			return nil, err
		}
		c.logf("chain: %s unreachable at start, will keep trying: %v", n.RPC, err)
	}
	return c, nil
}

// New returns a client over an existing backend, such as the simulated
// chain of contracts/chaintest. Only the network's chain ID and Lottery
// address are used.
func New(n *contracts.Network, b contracts.Backend, o Options) (*Client, error) {
	if n == nil || b == nil {
		return nil, fmt.Errorf("chain: %w: nil network or backend", ErrInvalid)
	}
	if n.ChainID == nil || n.ChainID.Sign() <= 0 {
		return nil, fmt.Errorf("chain: %w: network %q has no chain ID", ErrInvalid, n.Name)
	}
	if n.Addresses.Lottery == (common.Address{}) {
		return nil, fmt.Errorf("chain: %w: network %q has no lottery address", ErrInvalid, n.Name)
	}
	o.defaults()
	c := &Client{
		b:       b,
		net:     *n,
		chainID: new(big.Int).Set(n.ChainID),
		lotAddr: n.Addresses.Lottery,
		opts:    o,
		signer:  types.LatestSignerForChainID(n.ChainID),
		lot:     lottery.NewLottery(),
		erc20:   testtoken.NewTestToken(),
		closed:  make(chan struct{}),
		cache:   map[common.Hash]*entry{},
		senders: map[common.Address]*sender{},
	}
	c.lotABI = c.lot.GetABI()
	c.tokABI = c.erc20.GetABI()
	c.health.OK = true
	return c, nil
}

// Close stops Run and, for a client made by Dial, closes the connection.
// Calls after Close fail with ErrClosed.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		close(c.closed)
		if c.closeRPC != nil {
			c.closeRPC()
		}
	})
}

// Network is the network the client was made for.
func (c *Client) Network() contracts.Network { return c.net }

// Lottery is the address of the Lottery contract.
func (c *Client) Lottery() common.Address { return c.lotAddr }

// ChainID is the network's chain ID.
func (c *Client) ChainID() *big.Int { return new(big.Int).Set(c.chainID) }

// Health reports the endpoint's state.
func (c *Client) Health() Health {
	c.hmu.Lock()
	h := c.health
	c.hmu.Unlock()
	c.mu.Lock()
	h.Synced, h.LastPoll = c.synced, c.lastPoll
	c.mu.Unlock()
	return h
}

func (c *Client) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}

func (c *Client) noteOK() {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if !c.health.OK {
		if c.health.LastOK.IsZero() {
			c.logf("chain: endpoint answers after %d failed attempts", c.health.Failures)
		} else {
			c.logf("chain: endpoint answers again after %d failed attempts; down since %s", c.health.Failures, c.health.LastOK.Format(time.RFC3339))
		}
	}
	c.health.OK, c.health.Failures, c.health.LastOK = true, 0, time.Now()
}

func (c *Client) noteFail(err error) {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if c.health.OK {
		c.logf("chain: endpoint unreachable: %v", err)
	}
	c.health.OK = false
	c.health.Failures++
	c.health.LastError, c.health.LastErrorAt = err, time.Now()
}

// lastErr is the last transport failure.
func (c *Client) lastErr() error {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	return fmt.Errorf("chain: %w: %w", ErrUnavailable, c.health.LastError)
}

func (c *Client) down() bool {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	return !c.health.OK
}

// attempts is 1 + Retries, or 1 while the endpoint is known to be down so
// that callers with a cache to fall back on are not held up; the follower
// keeps probing in the background.
func (c *Client) attempts() int {
	if c.down() {
		return 1
	}
	return 1 + c.opts.Retries
}

// do runs f up to attempts times, each with CallTimeout, retrying transport
// errors with backoff.
func (c *Client) do(ctx context.Context, what string, attempts int, f func(ctx context.Context) error) error {
	wait := c.opts.Backoff
	var err error
	for i := 0; i < attempts; i++ {
		select {
		case <-c.closed:
			return fmt.Errorf("chain: %s: %w", what, ErrClosed)
		default:
		}
		if i > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("chain: %s: %w (last error: %v)", what, ctx.Err(), err)
			case <-c.closed:
				t.Stop()
				return fmt.Errorf("chain: %s: %w", what, ErrClosed)
			case <-t.C:
			}
			if wait *= 2; wait > c.opts.MaxBackoff {
				wait = c.opts.MaxBackoff
			}
		}
		cctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
		err = f(cctx)
		cancel()
		if err == nil {
			c.noteOK()
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("chain: %s: %w: %w", what, ctx.Err(), err)
		}
		if !Transient(err) {
			c.noteOK() // the endpoint answered
			return fmt.Errorf("chain: %s: %w", what, c.revert(err))
		}
		c.noteFail(err)
	}
	return fmt.Errorf("chain: %s: %w after %d attempts: %w", what, ErrUnavailable, attempts, err)
}

// Transient reports whether err is a transport failure worth retrying, as
// opposed to an answer from the chain (a revert, a nonce error, "not
// found").
func Transient(err error) bool {
	if err == nil || errors.Is(err, ethereum.NotFound) || errors.Is(err, ErrClosed) {
		return false
	}
	var he rpc.HTTPError
	if errors.As(err, &he) {
		return he.StatusCode == http.StatusRequestTimeout || he.StatusCode == http.StatusTooManyRequests || he.StatusCode >= 500
	}
	var re rpc.Error
	if errors.As(err, &re) {
		// -32005 is the common "limit exceeded" (rate limiting) code.
		return re.ErrorCode() == -32005
	}
	var de rpc.DataError
	if errors.As(err, &de) {
		return false
	}
	if strings.Contains(err.Error(), "execution reverted") {
		return false
	}
	// Connection refused or reset, timeouts, EOF, a garbled response.
	return true
}

// checkChain compares the endpoint's chain ID with the network's once.
func (c *Client) checkChain(ctx context.Context, attempts int) error {
	type chainIDReader interface {
		ChainID(ctx context.Context) (*big.Int, error)
	}
	r, ok := c.b.(chainIDReader)
	if !ok {
		return nil
	}
	c.chainMu.Lock()
	defer c.chainMu.Unlock()
	if c.chainOK {
		return nil
	}
	var id *big.Int
	if err := c.do(ctx, "chain ID", attempts, func(ctx context.Context) (err error) {
		id, err = r.ChainID(ctx)
		return err
	}); err != nil {
		return err
	}
	if id.Cmp(c.chainID) != 0 {
		return fmt.Errorf("chain: %w: network %q is chain %v, endpoint serves %v", ErrWrongChain, c.net.Name, c.chainID, id)
	}
	c.chainOK = true
	return nil
}

// confirmed is the block Confirmations behind the head h.
func (c *Client) confirmed(h *types.Header) uint64 {
	n := h.Number.Uint64()
	if n < c.opts.Confirmations {
		return 0
	}
	return n - c.opts.Confirmations
}

func (c *Client) header(ctx context.Context, what string, n *big.Int, attempts int) (*types.Header, error) {
	var h *types.Header
	err := c.do(ctx, what, attempts, func(ctx context.Context) (err error) {
		h, err = c.b.HeaderByNumber(ctx, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	if h == nil || h.Number == nil {
		return nil, fmt.Errorf("chain: %s: endpoint returned no header", what)
	}
	return h, nil
}

// HeadTime is the time of the newest block the endpoint serves: the
// chain's own clock, which decides when warned funds unlock.
func (c *Client) HeadTime(ctx context.Context) (time.Time, error) {
	h, err := c.header(ctx, "head", nil, c.attempts())
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(h.Time), 0), nil
}

// call runs a read-only call on contract to at block (nil: latest).
func (c *Client) call(ctx context.Context, what string, to common.Address, data []byte, block *big.Int) ([]byte, error) {
	var out []byte
	err := c.do(ctx, what, c.attempts(), func(ctx context.Context) (err error) {
		out, err = c.b.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, block)
		return err
	})
	return out, err
}

// Call runs a read-only contract call at the latest block, with the
// client's timeouts and retries.
func (c *Client) Call(ctx context.Context, to common.Address, data []byte) ([]byte, error) {
	return c.call(ctx, "call", to, data, nil)
}
