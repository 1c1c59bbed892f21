package websocket

import (
	"math/rand/v2"
	"testing"
)

// TestMemberSet adds and removes members of one room in random order and
// checks after each step that the list holds exactly the members, each at
// the position the set records, and that an empty room is deleted.
func TestMemberSet(t *testing.T) {
	rooms := make(map[string]*memberSet)
	clients := make([]*Client, 300)
	for i := range clients {
		clients[i] = &Client{}
	}
	in := make(map[*Client]bool)
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 5000 {
		c := clients[rng.IntN(len(clients))]
		if in[c] {
			removeMember(rooms, "r", c)
			delete(in, c)
		} else {
			addMember(rooms, "r", c)
			in[c] = true
		}
		set := rooms["r"]
		if len(in) == 0 {
			if set != nil {
				t.Fatalf("step %d: an empty room is still indexed", step)
			}
			continue
		}
		if len(set.list) != len(in) || len(set.pos) != len(in) {
			t.Fatalf("step %d: list %d, positions %d, members %d", step, len(set.list), len(set.pos), len(in))
		}
		for i, m := range set.list {
			if !in[m] || set.pos[m] != i {
				t.Fatalf("step %d: list[%d] is not a member at its recorded position (%d)", step, i, set.pos[m])
			}
		}
	}
	for c := range in {
		removeMember(rooms, "r", c)
	}
	if len(rooms) != 0 {
		t.Fatalf("rooms left: %d", len(rooms))
	}
	removeMember(rooms, "r", clients[0]) // of no room: nothing happens
}
