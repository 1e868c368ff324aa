// Package netstack terminates every TCP and UDP flow read from the TUN device
// in a userspace TCP/IP stack (gVisor) and hands each flow to a Handler, which
// returns the upstream connection (in the product, a stream on a circuit).
// The stack then splices the two until either side ends.
//
// # Data path
//
//	apps ─► kernel ─► TUN ─► link (batched Read, GRO) ─► gVisor ─► forwarders ─► Handler
//	apps ◄─ kernel ◄─ TUN ◄─ link (write queue, batched Write) ◄─ gVisor ◄─ splice ◄─ upstream
//
// The link endpoint (link.go) is the only hot part. It reads packet batches
// from the tun.Device (BatchSize packets per call; with the virtio-net header
// that golang.zx2c4.com/wireguard/tun enables on Linux, one call returns the
// segments of a whole TSO superpacket) and coalesces TCP segments of the same
// flow with gVisor's GRO before they enter the stack, so the stack sees a few
// large segments instead of many small ones. Outbound, the gVisor TCP sender
// builds segments of up to 64 KiB and cuts them into MSS-sized packets itself
// (gVisor "software GSO"); packets are queued and a single writer goroutine
// hands everything queued to one tun.Device.Write call, where the wireguard TUN
// merges them back into one superpacket per flow for the kernel. The queue is
// bounded and applies backpressure instead of dropping: the path to the app is
// local and lossless, and a drop here would only trigger gVisor's loss
// recovery.
//
// Checksums: received packets are not checksummed again (the kernel built
// them on this machine, and the wireguard TUN completes partial checksums);
// outbound packets carry full checksums because the wireguard TUN validates
// them before coalescing and the kernel does not compute them for a TUN.
//
// # Stack settings
//
// The stack accepts every destination (promiscuous mode) and answers from any
// address (spoofing), with default routes for IPv4 and IPv6 through the one
// NIC. TCP uses SACK, RACK loss detection, receive buffer auto-tuning (start
// 1 MiB, up to 8 MiB) and send buffers up to 6 MiB; Nagle is off. The app side
// of every flow is a lossless local hop, so congestion control stays Reno:
// wide-area congestion is the circuit's job. TIME-WAIT is short (5 s) because
// old duplicates cannot reach a TUN, and keepalive (60 s idle, 30 s interval,
// 9 probes) finds apps that vanished without a RST.
//
// # Flows
//
// TCP: when a SYN arrives the stack calls Handler.DialTCP first and completes
// the handshake only once the upstream connection exists; a dial error is
// answered with a RST, so the app sees "connection refused" rather than a
// connection that accepts and then dies. Data is copied both ways; a FIN from
// either side becomes CloseWrite on the other (if the upstream implements
// interface{ CloseWrite() error }), a RST or error on either side resets the
// other, and the flow ends when both directions have ended.
//
// UDP: each (source, destination) pair is one flow with its own upstream
// datagram connection from Handler.DialUDP; it ends after UDPIdleTimeout
// without a datagram in either direction.
//
// DNS: every flow to port 53, UDP or TCP, any address, IPv4 or IPv6, is
// answered by Handler.ResolveDNS and never dialled. Over TCP, length-prefixed
// messages are read and answered one by one (answers may be pipelined).
// Queries that do not parse are dropped; a failing resolver is answered with
// SERVFAIL; answers too large for the client's UDP size are truncated with
// the TC bit so the client retries over TCP. The A and AAAA answers, with the
// CNAME chain that led to them, are remembered in Names for their TTL (at
// least NamesMinTTL, at most NamesMaxTTL), so domain rules can map a flow's
// destination back to names.
//
// ICMP: echo requests are not answered and no ICMP is relayed; gVisor drops
// them. An app's ping therefore times out while the tunnel is up.
//
// CloseFlows resets every flow at once (the daemon calls it when the circuit
// under them dies), so apps see resets rather than hangs; new flows are
// dialled afresh.
//
// # Ownership
//
// New takes ownership of the tun.Device: Close resets all flows, flushes
// the queued packets, closes the device (the only way to end a blocked
// Read) and waits for every goroutine the Stack started. Events from the
// device are not consumed. The process that owns a flow is not looked up
// here.
package netstack
