package wire

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/echows/echows/internal/jsonwire"
)

// FuzzDecodeMessage feeds arbitrary client frames to the inbound parser and
// the join/leave payload parser. Properties: no panic; an error is one of
// the documented sentinels; a decoded message has an event; decoded rooms
// are strings taken from the payload.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"event":"authenticate","data":{"type":"Bearer","token":"t"}}`,
		`{"event":"join","data":{"rooms":["a","b"]}}`,
		`{"event":"leave","data":{"rooms":[1,null,"a",{"x":1}]}}`,
		`{"event":"heartbeat"}`,
		`{"event":5}`,
		`{"data":1}`,
		`{"event":"x","id":3}`,
		`[]`, `null`, `"str"`, `{`, ``,
		`{"event":"join","data":{"rooms":"notarray"}}`,
		`{"event":"encrypted","data":"AAAA"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoEvent) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if m.Event == "" {
			t.Fatal("decoded a message without event")
		}
		if m.Data != nil && !json.Valid(m.Data) {
			t.Fatalf("data %q is not JSON", m.Data)
		}
		rooms, err := DecodeRooms(m.Data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		for _, r := range rooms {
			if !utf8.ValidString(r) && utf8.Valid(b) {
				t.Fatalf("room %q is not valid UTF-8", r)
			}
		}
		// a frame built from the decoded parts decodes to the same event
		again, err := DecodeMessage(jsonwire.AppendMessage(nil, m.Event, m.Data))
		if err != nil || again.Event != m.Event {
			t.Fatalf("re-encoded %q: %v", m.Event, err)
		}
	})
}
