package sfu

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
)

// udpMux is the shared UDP port: one socket per local address, all on one port,
// shared by every peer connection through Pion's ICE UDP mux. The sockets
// batch their writes (see sendGroup).
type udpMux struct {
	mux   *ice.MultiUDPMuxDefault
	group *sendGroup
}

// socketBuffer is the receive and send buffer asked for on each shared socket: all
// media of the server goes through it, where a connection's own socket would carry
// one stream. The kernel caps it at net.core.rmem_max and wmem_max; raise those to
// get all of it.
const socketBuffer = 4 << 20

// portAttempts bounds the tries at a port free on every address when the system
// picks it: the port free on the first address may be taken on another.
const portAttempts = 20

// listenUDPMux opens the shared sockets on port (0: a free port,
// then the same port on every address) on the addresses of the host's interfaces
// that are up, loopback ones only when loopback is set.
func listenUDPMux(port uint16, loopback bool, log logging.LeveledLogger) (*udpMux, error) {
	addrs, err := hostAddrs(loopback)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, errors.New("sfu: no address to listen on for media")
	}
	for range portAttempts {
		m, err := listenUDPMuxOn(addrs, port, log)
		if port != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			return m, err
		}
	}
	return nil, fmt.Errorf("sfu: media port: no port free on all of %v", addrs)
}

// listenUDPMuxOn is listenUDPMux on addrs.
func listenUDPMuxOn(addrs []netip.Addr, port uint16, log logging.LeveledLogger) (*udpMux, error) {
	group := &sendGroup{}
	var muxes []ice.UDPMux
	closeAll := func() {
		for _, m := range muxes {
			_ = m.Close()
		}
	}
	for _, a := range addrs {
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, port)))
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("sfu: media port: %w", err)
		}
		port = uint16(conn.LocalAddr().(*net.UDPAddr).Port)
		// Best effort: a smaller buffer still works, and drops show in the stats.
		_ = conn.SetReadBuffer(socketBuffer)
		_ = conn.SetWriteBuffer(socketBuffer)
		bc := newBatchConn(conn, group)
		group.conns = append(group.conns, bc)
		muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: log, UDPConn: bc}))
	}
	return &udpMux{mux: ice.NewMultiUDPMuxDefault(muxes...), group: group}, nil
}

// hostAddrs are the addresses of the interfaces that are up, without IPv6
// link-local ones (they need a zone, and browsers do not offer them).
func hostAddrs(loopback bool) ([]netip.Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("sfu: list interfaces: %w", err)
	}
	var out []netip.Addr
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || (!loopback && iface.Flags&net.FlagLoopback != 0) {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipnet.IP)
			if !ok || ip.IsLinkLocalUnicast() || ip.IsMulticast() {
				continue
			}
			out = append(out, ip.Unmap())
		}
	}
	return out, nil
}

// Port is the UDP port every connection uses.
func (m *udpMux) Port() int {
	addrs := m.mux.GetListenAddresses()
	if len(addrs) == 0 {
		return 0
	}
	return addrs[0].(*net.UDPAddr).Port
}

// Close closes the mux and its sockets.
func (m *udpMux) Close() error { return m.mux.Close() }

// Addrs are the addresses the shared sockets listen on.
func (m *udpMux) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, a := range m.mux.GetListenAddresses() {
		if u, ok := a.(*net.UDPAddr); ok {
			out = append(out, u.AddrPort().Addr().Unmap())
		}
	}
	return out
}
