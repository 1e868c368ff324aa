package daemon

import (
	"context"
	"net"

	"github.com/pexia-network/pexia/netstack"
)

// The router is the netstack's Handler: every flow the stack terminates
// becomes a stream on the circuit (or a direct marked connection for an
// excluded destination), and every DNS query is answered at the exit.
var _ netstack.Handler = (*router)(nil)

func (r *router) DialTCP(ctx context.Context, f netstack.Flow) (net.Conn, error) {
	return r.dial(ctx, "tcp", f.Dst)
}

func (r *router) DialUDP(ctx context.Context, f netstack.Flow) (net.Conn, error) {
	return r.dial(ctx, "udp", f.Dst)
}

func (r *router) ResolveDNS(ctx context.Context, _ netstack.Flow, query []byte) ([]byte, error) {
	return r.resolve(ctx, query)
}
