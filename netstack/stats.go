package netstack

import "sync/atomic"

// Stats is a snapshot of a Stack's counters. Totals count since New.
type Stats struct {
	TCPActive int // TCP flows being spliced (DNS over TCP included)
	UDPActive int // UDP flows open (DNS flows included)

	TCPTotal   uint64 // TCP flows accepted
	UDPTotal   uint64 // UDP flows opened
	DNSQueries uint64 // queries passed to Handler.ResolveDNS
	DialErrors uint64 // DialTCP, DialUDP and DialEcho failures

	EchoTotal    uint64 // echo flows opened
	EchoRequests uint64 // ICMP echo requests read from the TUN
	EchoReplies  uint64 // echo replies written to the TUN
	ICMPErrors   uint64 // ICMP errors written to the TUN (unreachable, too big) for UDP, echo and TCP flows

	BytesUp   uint64 // payload bytes from apps to upstream connections
	BytesDown uint64 // payload bytes from upstream connections to apps

	PacketsIn  uint64 // packets read from the TUN (a TSO superpacket counts once)
	PacketsOut uint64 // packets written to the TUN (likewise)
	// Drops counts packets and datagrams discarded: unreadable or unknown
	// packets, failed TUN writes, malformed DNS queries, UDP flows over
	// MaxUDPFlows, echo requests over MaxEchoFlows or a flow's queue, and
	// packets gVisor dropped (bad headers, no handler).
	Drops uint64
}

// counters are the live values behind Stats.
type counters struct {
	tcpActive, udpActive           atomic.Int64
	tcpTotal, udpTotal, dnsQueries atomic.Uint64
	dialErrors                     atomic.Uint64
	echoTotal, echoRequests        atomic.Uint64
	echoReplies, icmpErrors        atomic.Uint64
	bytesUp, bytesDown             atomic.Uint64
	packetsIn, packetsOut          atomic.Uint64
	drops                          atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		TCPActive:    int(c.tcpActive.Load()),
		UDPActive:    int(c.udpActive.Load()),
		TCPTotal:     c.tcpTotal.Load(),
		UDPTotal:     c.udpTotal.Load(),
		DNSQueries:   c.dnsQueries.Load(),
		DialErrors:   c.dialErrors.Load(),
		EchoTotal:    c.echoTotal.Load(),
		EchoRequests: c.echoRequests.Load(),
		EchoReplies:  c.echoReplies.Load(),
		ICMPErrors:   c.icmpErrors.Load(),
		BytesUp:      c.bytesUp.Load(),
		BytesDown:    c.bytesDown.Load(),
		PacketsIn:    c.packetsIn.Load(),
		PacketsOut:   c.packetsOut.Load(),
		Drops:        c.drops.Load(),
	}
}
