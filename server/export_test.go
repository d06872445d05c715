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
