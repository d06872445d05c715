package server

// RouteForTest is a registered entry point, as the route table test sees it.
type RouteForTest struct {
	Pattern string
	Public  bool // admitted without any check
	Origin  bool // checks the Origin of browser pages
	Creates bool // counted against the client address's limits
	Token   bool // needs a token when the server has API keys
}

// RoutesForTest lists every route the server registered.
func (s *Server) RoutesForTest() []RouteForTest {
	out := make([]RouteForTest, 0, len(s.routes))
	for _, rt := range s.routes {
		out = append(out, RouteForTest{Pattern: rt.pattern, Public: rt.entry == public, Origin: rt.origin,
			Creates: rt.creates, Token: rt.entry != public && rt.entry != session})
	}
	return out
}

// TURNPortsForTest are the built-in TURN server's UDP/TCP and TLS ports.
func (s *Server) TURNPortsForTest() (port, tlsPort int) {
	if s.turn == nil {
		return 0, 0
	}
	return s.turn.UDPPort(), s.turn.TLSPort()
}
