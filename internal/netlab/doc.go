// Package netlab builds small networks out of Linux network namespaces on
// one machine, for Pexia's end-to-end tests and benchmarks: a client
// namespace (TUN and pexiad), relay and exit namespaces (pexia-node), an
// "internet" namespace with HTTP(S) (HTTP/1.1, HTTP/2 and HTTP/3), DNS and
// UDP echo servers, and whatever else a test needs, all on one virtual LAN.
// Nothing it creates is visible from, or changes, the machine's own
// network: it needs root, and nothing leaves the machine.
//
// # Topology
//
// New creates a hub namespace holding a bridge (br0) with the router
// addresses 10.77.0.1/24 and fd77::1/64. Lab.Host creates one namespace per
// host, named "<lab>-<host>", and joins it to the bridge with a veth pair
// created inside the hub whose far end appears in the host as eth0, with
// 10.77.0.N/24 and fd77::N/64 (N = 2, 3, … in creation order) and default
// routes for both families via the router. Because every interface lives
// inside a namespace the lab owns, no name or address can collide with the
// machine's or with another lab's, and deleting the namespaces deletes
// everything.
//
// The hub forwards between hosts and is the only router, so traffic to an
// arbitrary address (203.0.113.7, 2001:db8::7) leaves a host through its
// default route and lands somewhere a test can see. Host.Announce makes a
// host own a whole public-looking prefix (an AnyIP local route, like
// "ip route add local P dev lo") and has the hub route that prefix to it: a
// server listening on the wildcard address in that host then answers on every
// address of the prefix, which is how the internet host stands in for "the
// rest of the world". Unannounced destinations get an ICMP unreachable from
// the hub. Lab.Route and Host.Route add plain routes for tunnel address
// ranges behind a host (the wireguard-go baseline uses them). Lab.LimitMTU
// puts a smaller link behind the hub for one prefix: the hub answers larger
// packets with ICMP fragmentation needed (ICMPv6 packet too big).
//
// Hosts do no duplicate address detection and send no router solicitations,
// and neither hosts nor the hub use ICMP redirects, so addresses work the
// moment Host returns and the packets a test captures are the packets its
// own code caused (plus ARP, neighbour discovery and MLD, which
// Packet.LinkControl identifies).
//
// # Names and cleanup
//
// A lab is named "<prefix>-<pid>-<random>", so parallel test binaries and
// parallel tests in one binary never collide. Close deletes the lab's
// namespaces after killing any process still running in them, and the
// /etc/netns/<namespace> files "ip netns exec" shows such processes as /etc
// (a host's own resolv.conf, say). Cleanup(prefix)
// deletes the namespaces of labs whose owning process is gone (a crashed
// run) and leaves running labs alone, so every test binary can call it first.
// Named namespaces are bind mounts under /run/netns, made a shared mount the
// way ip-netns(8) does so that deleting a namespace also reaches the mount
// namespaces of processes started with "ip netns exec".
//
// # Running code in a host
//
// Host.Do runs a function with the calling goroutine's OS thread switched
// into the host's namespace. A socket belongs to the namespace it was
// created in, for its whole life, so listeners and connections made inside
// Do work from any goroutine afterwards; Host.Listen, Host.ListenPacket and
// Host.Dialer wrap exactly that. Goroutines started inside Do run in the
// machine's namespace, not the host's. Host.Command runs a program in the
// host through "ip netns exec".
//
// # Measuring
//
// Bulk and PingPong are the one TCP throughput and round-trip method every
// Pexia number is compared with: the bare veth and wireguard-go baselines and
// the tunnel through pexiad use the same functions between the same hosts.
// Capture records the packets crossing one interface of a host through an
// AF_PACKET socket opened inside its namespace, which is how a test proves
// that nothing but the expected traffic left the client.
package netlab
