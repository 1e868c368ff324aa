// Package netstack owns the userspace TCP/IP stack (gVisor) that terminates
// every flow read from the TUN device: the link endpoint, the TCP and UDP
// forwarders, the flow table, DNS interception and the lookup of the process
// that owns a flow.
package netstack
