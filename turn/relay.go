package turn

import (
	"errors"
	"net"
	"net/netip"

	pionturn "github.com/pion/turn/v5"
)

// relays opens UDP relays with Pion's static generator and holds each to the peer
// policy packet by packet: a TURN permission names an address, not a port, so a
// client allowed to reach the server's media port must not reach its other ports
// through the same permission. TCP relays (RFC 6062) are refused: browsers never
// ask for them, and each would be a TCP connection the server opens for a client.
type relays struct {
	*pionturn.RelayAddressGeneratorStatic
	allow func(netip.AddrPort) bool
}

var errNoTCPRelays = errors.New("turn: TCP relays are not offered")

func (r *relays) AllocatePacketConn(conf pionturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	conn, addr, err := r.RelayAddressGeneratorStatic.AllocatePacketConn(conf)
	if err != nil {
		return nil, nil, err
	}
	return &policedConn{PacketConn: conn, allow: r.allow}, addr, nil
}

func (r *relays) AllocateListener(pionturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errNoTCPRelays
}

func (r *relays) AllocateConn(pionturn.AllocateConnConfig) (net.Conn, error) {
	return nil, errNoTCPRelays
}

// policedConn is a relay that sends only to allowed peers.
type policedConn struct {
	net.PacketConn
	allow func(netip.AddrPort) bool
}

// errPeerNotAllowed is what a relay's write to a peer the policy refuses returns.
var errPeerNotAllowed = errors.New("turn: peer not allowed")

func (c *policedConn) WriteTo(b []byte, to net.Addr) (int, error) {
	u, ok := to.(*net.UDPAddr)
	if !ok {
		return 0, errPeerNotAllowed
	}
	ap := u.AddrPort()
	if !c.allow(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())) {
		return 0, errPeerNotAllowed
	}
	return c.PacketConn.WriteTo(b, to)
}
