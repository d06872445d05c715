package mesh

// Census counts the members of the rooms in rs now, by transport
// (JoinOptions.Transport, "other" when empty).
func (rs *Rooms) Census() map[string]int {
	out := map[string]int{}
	for _, r := range rs.List() {
		r.mu.Lock()
		for m := range r.members.All() {
			t := m.transport
			if t == "" {
				t = "other"
			}
			out[t]++
		}
		r.mu.Unlock()
	}
	return out
}
