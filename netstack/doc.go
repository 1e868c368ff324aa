// Package netstack terminates every TCP and UDP flow read from the TUN device
// in a userspace TCP/IP stack (gVisor) and hands each flow to a Handler, which
// returns the upstream connection (in the product, a stream on a circuit).
// The stack then splices the two until either side ends.
//
// # Data path
//
//	apps ─► kernel ─► TUN ─► link reader ─► gVisor ─► forwarders ─► Handler
//	apps ◄─ kernel ◄─ TUN ◄─ link writer ◄─ gVisor ◄─ splice ◄─ upstream
//
// Only the link endpoint (link.go, vnet.go) sees every packet, so that is
// where the per-packet cost is cut. It has two paths over the same
// tun.Device:
//
// Offload path (Linux, the device is the wireguard TUN with the virtio-net
// header on, as tun.CreateTUN opens it): the link reads and writes the
// device file itself and keeps the kernel's segmentation offload end to
// end. A TSO superpacket from an app (up to 64 KiB of one TCP flow) enters
// gVisor as one segment; gVisor's large outbound TCP segments (host GSO)
// leave as one GSO packet with a partial checksum that the kernel
// completes. One system call moves up to 64 KiB each way, and no packet is
// split, checksummed or merged in user space. UDP segmentation offload is
// switched off on the device so inbound packets are only ever plain or TCP.
//
// A wrapper around the wireguard TUN keeps the offload path if it has a
// method Unwrap() tun.Device and leaves Read and Write to the wrapped
// device; MTU, Events and Close still go through the wrapper.
//
// Generic path (any other tun.Device): packets are read
// BatchSize at a time and TCP segments of one flow are merged with gVisor's
// GRO before they enter the stack; outbound, gVisor cuts its 64 KiB
// segments into MTU-sized packets itself (software GSO) and the writer
// hands everything queued to one Write call, where the wireguard TUN merges
// them back per flow.
//
// Both paths queue outbound packets for a single writer goroutine, so the
// TCP processors never wait on a system call. The queue is bounded and
// applies backpressure instead of dropping: the path to the app is local
// and lossless, and a drop here would only trigger gVisor's loss recovery.
//
// Checksums: received packets are not verified again (the kernel built
// them on this machine). Outbound, only the offload path leaves the TCP
// checksum to the kernel; the generic path sends complete checksums, which
// the wireguard TUN validates before merging and the kernel does not
// compute for a TUN.
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
// connection that accepts and then dies (or, when the upstream could not
// reach the host, ErrHostUnreachable, with ICMP host unreachable for the
// SYN, so connect fails with "no route to host" as on a plain network).
// Data is copied both ways; a FIN from
// either side becomes CloseWrite on the other (if the upstream implements
// interface{ CloseWrite() error }; otherwise the app's FIN goes no further
// and the flow ends when the upstream closes), a RST or error on either side
// resets the other, and the flow ends when both directions have ended. Each
// direction copies through a 512-byte buffer and borrows a pooled 64 KiB one
// only while data streams, so idle connections stay cheap: a flow has one
// goroutine, waiting for its upstream, and the app → upstream direction
// runs a goroutine (with a pooled buffer) only while the stack says the
// app's side is readable.
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
// ICMP echo: if the Handler implements EchoDialer, the link reader takes
// ICMP and ICMPv6 echo requests before gVisor sees them (a request that
// comes in IP fragments, larger than the TUN's MTU, is put together first,
// and a reply larger than the MTU is written in fragments); each
// (source, destination, identifier) is an echo flow with its own upstream
// connection from DialEcho (ended after UDPIdleTimeout without a request
// or reply), and each reply read from it is written to the TUN as the
// destination's echo reply, with the app's identifier and the reply's
// sequence number and data. Nothing is answered locally, so ping reports
// the real round trip (the first request of a flow also waits for the
// dial). Without EchoDialer gVisor drops echo requests. Other ICMP from
// apps is dropped by gVisor.
//
// ICMP errors: when a UDP flow's upstream fails with ErrPortUnreachable or
// ErrHostUnreachable (or ECONNREFUSED, EHOSTUNREACH, ENETUNREACH), the app
// gets the ICMP destination unreachable its network would have sent,
// quoting the flow's headers, and the flow ends. An upstream UDP or echo
// connection whose Read or Write returns an *icmperr.Error (packet too big with
// the MTU, unreachable for one echo request) gets the app that ICMP error
// and the flow goes on (icmperr.go).
//
// CloseFlows resets every flow at once (the daemon calls it when the circuit
// under them dies), so apps see resets rather than hangs; new flows are
// dialled afresh.
//
// # Ownership
//
// New takes ownership of the tun.Device: the Stack reads, writes and
// consumes its Events (an MTU change is followed), and may change its
// offload settings. Close resets all flows, flushes the queued packets,
// closes the device (the only way to end a blocked Read) and waits for
// every goroutine the Stack started, which requires the Handler to return
// when its context is canceled. The process that owns a flow is not looked
// up here.
package netstack
