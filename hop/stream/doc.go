// Package stream multiplexes byte streams and datagram flows over one
// circuit, independently of the circuit's crypto and transport.
//
// The circuit is seen as a reliable, ordered message pipe. A [Mux] is given a
// send function that carries one frame (at most Config.MaxFrame bytes, the
// circuit's cell payload size) to the other end, and is fed the frames that
// arrive from the other end with [Mux.Deliver]. Both ends of a circuit run a
// Mux: the client (RoleClient) opens streams with [Mux.Dial]; the exit
// (RoleServer) receives them with [Mux.Accept], dials the real destination,
// and answers with [Request.Accept] or [Request.Refuse].
//
// # Stream kinds
//
//   - "tcp": a reliable byte stream with half-close ([Stream.CloseWrite]),
//     abort ([Stream.Reset]) and deadlines; a [net.Conn].
//   - "udp": a datagram flow to one destination, returned as a [net.Conn]
//     with connected-UDP semantics: every Write is one datagram (at most
//     MaxFrame-5 bytes, else [ErrDatagramTooLarge]) and every Read returns
//     one datagram (truncated if the buffer is too small, like a UDP
//     socket). Datagrams are not flow controlled: each direction has a
//     bounded queue per flow (Config.DatagramQueue datagrams and
//     Config.DatagramQueueBytes bytes) inside a bound for all flows
//     (Config.DatagramBytes), and a datagram that does not fit is dropped
//     and counted in [Stats] and in the flow's [FlowStats]. When the bound
//     for all flows is reached, the flow holding the most bytes loses its
//     oldest datagram, so a flood never pushes out another flow's
//     datagrams. Write never blocks.
//   - "dns": a byte stream like "tcp", for name resolution at the exit. The
//     mux does not interpret its content; the intended use is DNS messages
//     in RFC 1035 §4.2.2 TCP framing (2-byte length prefix), answered by the
//     exit's own resolver. The address names the resolver the client aimed
//     at ("host:53") and is advisory.
//   - "icmp": an ICMP echo ("ping") flow to one IP address, carried like a
//     "udp" flow (every frame a DATAGRAM, same queues and limits; "udp
//     flow" below covers it). The address is the destination IP alone
//     ("192.0.2.1", "2001:db8::1"), never a name. Each datagram is
//     sequence(2) ‖ echo data: client→exit one echo request, exit→client
//     the data of one echo reply from that address with its sequence
//     number. The exit sends the requests from an unprivileged ping socket
//     of its own, whose kernel picks the identifier; the client keeps the
//     app's identifier and restores it in the replies, so the exit learns
//     the destination, the sequence numbers, the echo data and the timing
//     (what the destination itself sees), and nothing of the app's
//     identifier.
//
// # Stream IDs
//
// Only the client opens streams. Stream IDs are 32-bit, odd, and strictly
// increasing (1, 3, 5, ...); even IDs are reserved for a future
// server-opened direction. ID 0 addresses the circuit itself (circuit-level
// WINDOW). An ID is never reused: a frame for an ID that was opened and is
// now closed is ignored (it may have crossed a RST or FIN on the wire), a
// frame for an ID that was never opened is a protocol violation.
//
// # Frame layout
//
// All integers are big-endian. Every frame starts with a 5-byte header, and
// each type has an exact length (DATA and DATAGRAM run to the end of the
// frame, which the circuit delimits):
//
//	offset 0   type       1 byte
//	offset 1   stream ID  4 bytes
//	offset 5   body
//
//	type          body                                             frame length
//	0x01 OPEN     kind(1) window(4) addrlen(1) addr(addrlen)       11+addrlen, addrlen 1..255
//	0x02 OPENED   window(4)                                        9
//	0x03 REFUSED  reason(1)                                        6
//	0x04 DATA     payload                                          6..MaxFrame
//	0x05 FIN      -                                                5
//	0x06 RST      reason(1)                                        6
//	0x07 WINDOW   increment(4), > 0                                9
//	0x08 DATAGRAM payload (may be empty)                           5..MaxFrame
//	0x09 ICMP     type(1) seq(2) mtu(4)                            12
//	0x0a DROPPED  down(8) up(8)                                    21
//	0x0b DATAGRAMS entries: id(4) len(2) datagram(len), stream 0   11..MaxFrame
//
// kind: 1 = tcp, 2 = udp, 3 = dns, 4 = icmp. An unknown kind is refused with
// [ReasonUnsupported], not treated as malformed. addr is "host:port"
// (UTF-8, no terminator). window in OPEN and OPENED is the sender's initial
// per-stream receive window: the peer may send that many DATA bytes on the
// stream before the first WINDOW. reason is a [Reason]; unknown values are
// accepted and reported as numbers.
//
// OPEN flows client→server; OPENED, REFUSED, ICMP and DROPPED
// server→client; every other type flows both ways. ICMP and DROPPED belong
// to udp and icmp flows only.
//
// ICMP reports an ICMP error the exit's network sent for a datagram flow
// without ending it: type is an [icmperr.Type] (1 packet too big, with mtu the
// largest IP packet the exit's path carries; 2 network, 3 host
// unreachable; 4 administratively prohibited), seq the sequence number of
// the echo request it is about (icmp flows; 0 on udp flows). Unknown types
// are passed on. The client's Read returns each once as an [*icmperr.Error]
// that matches the errno a connected UDP socket would return.
//
// DROPPED carries the exit's counts of the flow's datagrams it dropped so
// far: down, towards the client (its send queue was full); up, from the
// client (the exit's side of the flow was behind). The exit sends one at
// most every 250 ms while it drops, and one after the last drop; the
// client shows them in [FlowStats].
//
// DATAGRAMS carries several datagrams, of one flow or several, in one
// frame; each entry is processed as a DATAGRAM frame for its stream. A Mux
// sends them only with [Config.PackDatagrams] (see pack.go).
//
// FIN ends one direction of a tcp/dns stream (the other
// keeps flowing); on a udp flow it closes the whole flow. RST aborts a
// stream in both directions; data not yet read is discarded. A frame longer
// than MaxFrame, shorter than its type's length, with trailing bytes, of an
// unknown type, with a wrong direction or in a wrong stream state is a
// protocol violation: Deliver returns an error wrapping [ErrProtocol] and
// closes the Mux (the caller should then tear the circuit down).
//
// # Flow control
//
// DATA is flow controlled at two levels, each a credit window owned by the
// receiver:
//
//   - per stream: the window announced in OPEN/OPENED (Config.StreamWindow,
//     default 256 KiB), so a stream's unread data never exceeds it;
//   - per circuit: every DATA byte on any stream also spends circuit credit.
//     Each side starts with InitialCircuitWindow (64 KiB) of credit for the
//     peer and, as its first frame, sends WINDOW(0) raising that to
//     Config.CircuitWindow (default 2 MiB).
//
// Credit is returned only when the application consumes data (Read, or
// Close/Reset discarding it), in batches: a WINDOW frame is queued when half
// of the respective window has been consumed. A writer without credit blocks
// (respecting its write deadline); DATA beyond the granted credit is a
// protocol violation, so memory per circuit is bounded by CircuitWindow (and
// per stream by StreamWindow) whatever the peer does. Because one stream can
// hold at most StreamWindow of the CircuitWindow, a reader that stops
// reading stalls only its own stream while CircuitWindow/StreamWindow - 1
// such streams leave room for others.
//
// # Sending and fairness
//
// Each Mux owns one sending goroutine, the only caller of send. It sends
// control frames (OPEN, OPENED, REFUSED, RST, WINDOW) first, then
// round-robins one frame at a time over the streams that have data,
// datagrams or a FIN ready, so a bulk stream cannot starve an interactive
// one: a newly ready stream waits for at most one frame of every other
// active stream. A frame travels in one cell, the circuit's unit of cost,
// so this is deficit round robin with one cell as the quantum: a udp flood
// gets one cell per round like every other flow, and the excess waits in
// its own queue or is dropped there. The ready streams form two classes,
// each with its own round robin: reliable streams (tcp, dns) and datagram
// flows (udp, icmp). While both have a frame that can go, the datagram
// flows get one frame in ReliablePerDatagram+1 (a third); a class alone
// gets every frame, and a stream waiting for credit holds nothing back. A
// tcp stream is congestion controlled end to end and a flood usually is
// not, so equal turns would leave a download less the more flows a flood
// opens. DATA frames that arrive count as the reliable class's frames too
// (see DataHold): a cell costs the circuit's relays the same whichever way
// it goes, so a flood going up competes with a download coming down. Write hands its buffer
// to that goroutine and returns once every byte has been framed; no data is
// copied into intermediate buffers. Because send is called synchronously,
// a slow circuit backs up into the scheduler, where fairness applies,
// rather than into a FIFO below it. With Config.Gate set (the circuit's
// send window), the goroutine takes no stream's frame while the gate is
// closed, but still sends control frames: the streams' credit and answers
// overtake the data held back.
//
// With Config.Flush set, send may hold frames back and pass them on
// together (a circuit packs the cells that carry them into one message):
// the sending goroutine calls Flush whenever it has nothing more to send at
// once, so frames are grouped only while a backlog lasts and a lone frame
// is not delayed. What send holds is bounded by the caller (one message on
// a circuit), so fairness is kept to within that.
//
// # Closing
//
// [Stream.Close] behaves like closing a TCP socket: it sends FIN, and if the
// peer had sent data that was never read, or sends more after the close, the
// stream is reset with [ReasonClosed]. [Mux.Close] fails every stream, Dial,
// Accept and pending Request with an error wrapping [ErrCircuitClosed];
// nothing blocks past it. The sending goroutine exits as soon as its current
// call to send returns.
package stream
