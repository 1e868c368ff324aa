package chain_test

import (
	"context"
	"errors"
	"math/big"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/rpc"
)

// ethShim serves the eth_ methods the chain client uses over a real
// JSON-RPC server, forwarding each to the simulated chain's client. (The
// simulated backend does not expose its node's HTTP server, and chaintest
// does not enable one.) Errors are returned unchanged, so revert data
// reaches the client as it would from a real node.
type ethShim struct{ c simulated.Client }

type callArgs struct {
	From                 *common.Address `json:"from"`
	To                   *common.Address `json:"to"`
	Gas                  *hexutil.Uint64 `json:"gas"`
	GasPrice             *hexutil.Big    `json:"gasPrice"`
	MaxFeePerGas         *hexutil.Big    `json:"maxFeePerGas"`
	MaxPriorityFeePerGas *hexutil.Big    `json:"maxPriorityFeePerGas"`
	Value                *hexutil.Big    `json:"value"`
	Data                 *hexutil.Bytes  `json:"data"`
	Input                *hexutil.Bytes  `json:"input"`
}

func (a callArgs) msg() ethereum.CallMsg {
	m := ethereum.CallMsg{To: a.To}
	if a.From != nil {
		m.From = *a.From
	}
	if a.Gas != nil {
		m.Gas = uint64(*a.Gas)
	}
	if a.Value != nil {
		m.Value = a.Value.ToInt()
	}
	if a.GasPrice != nil {
		m.GasPrice = a.GasPrice.ToInt()
	}
	if a.MaxFeePerGas != nil {
		m.GasFeeCap = a.MaxFeePerGas.ToInt()
	}
	if a.MaxPriorityFeePerGas != nil {
		m.GasTipCap = a.MaxPriorityFeePerGas.ToInt()
	}
	if a.Input != nil {
		m.Data = *a.Input
	} else if a.Data != nil {
		m.Data = *a.Data
	}
	return m
}

func blockArg(b *rpc.BlockNumberOrHash) *big.Int {
	if b == nil {
		return nil
	}
	if n, ok := b.Number(); ok && n >= 0 {
		return big.NewInt(int64(n))
	}
	return nil
}

func (s *ethShim) ChainId(ctx context.Context) (*hexutil.Big, error) {
	id, err := s.c.ChainID(ctx)
	return (*hexutil.Big)(id), err
}

func (s *ethShim) BlockNumber(ctx context.Context) (hexutil.Uint64, error) {
	n, err := s.c.BlockNumber(ctx)
	return hexutil.Uint64(n), err
}

func (s *ethShim) GetBlockByNumber(ctx context.Context, n rpc.BlockNumber, _ bool) (*types.Header, error) {
	var num *big.Int
	if n >= 0 {
		num = big.NewInt(int64(n))
	}
	h, err := s.c.HeaderByNumber(ctx, num)
	if errors.Is(err, ethereum.NotFound) {
		return nil, nil
	}
	return h, err
}

func (s *ethShim) Call(ctx context.Context, a callArgs, b *rpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	return s.c.CallContract(ctx, a.msg(), blockArg(b))
}

func (s *ethShim) EstimateGas(ctx context.Context, a callArgs, _ *rpc.BlockNumberOrHash) (hexutil.Uint64, error) {
	g, err := s.c.EstimateGas(ctx, a.msg())
	return hexutil.Uint64(g), err
}

func (s *ethShim) GasPrice(ctx context.Context) (*hexutil.Big, error) {
	p, err := s.c.SuggestGasPrice(ctx)
	return (*hexutil.Big)(p), err
}

func (s *ethShim) MaxPriorityFeePerGas(ctx context.Context) (*hexutil.Big, error) {
	p, err := s.c.SuggestGasTipCap(ctx)
	return (*hexutil.Big)(p), err
}

func (s *ethShim) GetTransactionCount(ctx context.Context, a common.Address, _ rpc.BlockNumberOrHash) (hexutil.Uint64, error) {
	n, err := s.c.PendingNonceAt(ctx, a)
	return hexutil.Uint64(n), err
}

func (s *ethShim) GetBalance(ctx context.Context, a common.Address, b *rpc.BlockNumberOrHash) (*hexutil.Big, error) {
	v, err := s.c.BalanceAt(ctx, a, blockArg(b))
	return (*hexutil.Big)(v), err
}

func (s *ethShim) SendRawTransaction(ctx context.Context, raw hexutil.Bytes) (common.Hash, error) {
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return common.Hash{}, err
	}
	return tx.Hash(), s.c.SendTransaction(ctx, tx)
}

func (s *ethShim) GetTransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	r, err := s.c.TransactionReceipt(ctx, h)
	if errors.Is(err, ethereum.NotFound) {
		return nil, nil
	}
	return r, err
}

type filterArgs struct {
	FromBlock *rpc.BlockNumber `json:"fromBlock"`
	ToBlock   *rpc.BlockNumber `json:"toBlock"`
	Addresses []common.Address `json:"address"`
	Topics    [][]common.Hash  `json:"topics"`
}

func (s *ethShim) GetLogs(ctx context.Context, f filterArgs) ([]types.Log, error) {
	q := ethereum.FilterQuery{Addresses: f.Addresses, Topics: f.Topics}
	if f.FromBlock != nil && *f.FromBlock >= 0 {
		q.FromBlock = big.NewInt(int64(*f.FromBlock))
	}
	if f.ToBlock != nil && *f.ToBlock >= 0 {
		q.ToBlock = big.NewInt(int64(*f.ToBlock))
	}
	logs, err := s.c.FilterLogs(ctx, q)
	if logs == nil {
		logs = []types.Log{}
	}
	return logs, err
}

// endpoint is a JSON-RPC HTTP server for the simulated chain that can be
// switched off (its listener closed: connection refused) and on again at
// the same address.
type endpoint struct {
	t    *testing.T
	addr string
	h    http.Handler

	mu  sync.Mutex
	srv *http.Server
}

func newEndpoint(t *testing.T, c simulated.Client) *endpoint {
	t.Helper()
	rs := rpc.NewServer()
	if err := rs.RegisterName("eth", &ethShim{c: c}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Stop)
	e := &endpoint{t: t, h: rs}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	e.serve(l)
	t.Cleanup(e.down)
	return e
}

func (e *endpoint) URL() string { return "http://" + e.addr }

func (e *endpoint) serve(l net.Listener) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.srv = &http.Server{Handler: e.h, ReadHeaderTimeout: 5 * time.Second}
	go e.srv.Serve(l)
}

// down closes the listener and every open connection.
func (e *endpoint) down() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
}

// up listens again on the same address.
func (e *endpoint) up() {
	e.t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", e.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		e.t.Fatalf("listen again on %s: %v", e.addr, err)
	}
	e.serve(l)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}
