// Package proxy serves a local SOCKS5 and HTTP proxy that sends every
// connection through a [Dialer]. It is the client's userspace mode: where
// pexiad can't create a TUN device (no root), applications are pointed at a
// proxy on 127.0.0.1 instead, and the Dialer opens streams on the same
// circuits the TUN path uses.
//
// # Protocols
//
//   - SOCKS5 (RFC 1928) with "no authentication" or username/password
//     (RFC 1929). CONNECT and UDP ASSOCIATE are served; BIND is answered
//     "command not supported" (0x07), because a circuit can't accept inbound
//     connections at the exit.
//   - HTTP/1.1 proxying (RFC 9110 §9.3.6, RFC 9112 §3.2.2): CONNECT tunnels,
//     and absolute-URI requests ("GET http://host/path") forwarded through a
//     [net/http.Transport] whose only dialer is the Dialer. Hop-by-hop
//     headers, Proxy-Authorization and Proxy-Connection among them, are
//     removed; nothing identifying the proxy (Via, X-Forwarded-For) is added;
//     responses are passed through undecoded. Client and upstream
//     connections are kept alive.
//
// One port can serve both ([Server.Serve]): the first byte of a connection
// decides. 0x05 is the SOCKS version and can't start an HTTP request line;
// everything else goes to the HTTP server. [Server.ServeSOCKS] and
// [Server.ServeHTTP] serve one protocol on a listener of their own.
//
// # Names are resolved at the exit
//
// Domain names (SOCKS5 DOMAINNAME addresses, CONNECT authorities, URL hosts)
// are handed to the Dialer exactly as the client wrote them. The proxy never
// resolves a name itself, so no DNS query leaves the machine outside the
// circuit. Clients have to ask for this: curl's --socks5-hostname rather
// than --socks5, a browser's "proxy DNS when using SOCKS v5".
//
// # Errors
//
// Dial errors are sorted into a few kinds and answered with the SOCKS reply
// code or HTTP status a client can act on:
//
//	kind                                       SOCKS5                    HTTP
//	ErrNotAllowed, exit policy, EACCES/EPERM   0x02 not allowed          403
//	ENETUNREACH, ENETDOWN                      0x03 network unreachable  502
//	EHOSTUNREACH, name did not resolve         0x04 host unreachable     502
//	ECONNREFUSED, refused or reset at the exit 0x05 connection refused   502
//	timeouts (dial, ETIMEDOUT, at the exit)    0x06 TTL expired          504
//	anything else                              0x01 general failure      502
//
// Circuit stream refusals (any [reason.Refusal] in the error chain, such as
// hop/stream's RefusedError) carry the exit's reason and are sorted the same
// way. A bad SOCKS address type is answered 0x08,
// an unknown command 0x07.
//
// # UDP
//
// Each UDP ASSOCIATE gets its own UDP socket on the local address the
// client reached the proxy on (127.0.0.1 or ::1). Datagrams are accepted
// only from the client's IP, and only from one port: the one named in the
// request, or else the first one seen, so another local program can't
// inject into the association. Each destination gets one Dialer("udp")
// connection, dialled on its first datagram and closed after
// Config.UDPIdleTimeout without traffic; at most 256 destinations per
// association. Replies are wrapped in a SOCKS UDP header that names the
// destination exactly as the client addressed it (a name stays a name), so
// a client can match replies to requests. Fragments (FRAG ≠ 0) are
// dropped, as RFC 1928 allows. The association ends, and all of its flows
// with it, when its TCP control connection closes.
//
// # Lifecycle and limits
//
// A client has Config.ReadHeaderTimeout to send its SOCKS handshake and
// request or its HTTP request header; headers are bounded (SOCKS by the
// protocol, HTTP at 64 KiB). A relayed connection is closed after
// Config.IdleTimeout with no data in either direction; an idle keep-alive
// HTTP connection after two minutes. Half-closes are passed on (CloseWrite)
// in both directions, so request/response protocols that signal the end of
// a request with a FIN work. At most Config.MaxConns client connections are
// served at once; connections beyond the limit are closed right after
// accept, which a client sees at once, rather than queued where it would
// wait without knowing why.
//
// [Server.Close] stops every listener, cancels dials in progress, closes
// every client and upstream connection and UDP association, and waits for
// the goroutines it started.
//
// # Logging
//
// Config.Logf gets server-level lines ("proxy: ..."). Lines about a single
// connection name its destination and start with "[v1]", so a daemon can
// keep users' destinations out of its default log. Credentials are never
// logged.
package proxy
