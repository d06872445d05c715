package roster

// Mode is how a room carries media. A room's mode is fixed when it is created, by
// the directory its name is claimed from.
type Mode string

// The modes.
const (
	// SFU: every participant sends its media to the server, which forwards it.
	SFU Mode = "sfu"
	// Mesh: the server relays signaling only; media flows between the peers.
	Mesh Mode = "mesh"
	// Auto: a mesh room that becomes an SFU room when it grows, and a mesh room
	// again when it shrinks (package auto). Its name is held in this mode; its two
	// sides are rooms of the other two.
	Auto Mode = "auto"
)

// ParseMode reports the Mode named by s, and whether s names one.
func ParseMode(s string) (Mode, bool) {
	switch m := Mode(s); m {
	case SFU, Mesh, Auto:
		return m, true
	}
	return "", false
}
