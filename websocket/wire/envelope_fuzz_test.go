package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/echows/echows/internal/jsonwire"
)

// FuzzDecodeEnvelope feeds arbitrary bytes, as read from a Redis channel
// anyone with access can publish on, to the envelope decoder. Properties: it
// never panics; an error is ErrMalformed; a decoded envelope is one the
// server can route; and Encode then DecodeEnvelope gives the same envelope
// back, with Encode's output a fixed point. The seed corpus is in
// testdata/fuzz/FuzzDecodeEnvelope: valid envelopes of each type, missing
// and mistyped fields, a huge exclude, and bytes that are not JSON.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := DecodeEnvelope(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if env.ServerID == "" || env.Event == "" || !env.Type.Valid() ||
			(env.Type != TypeBroadcast && env.Target == "") || env.Channel() == "" {
			t.Fatalf("decoded an envelope that cannot be routed: %+v", env)
		}

		enc, err := env.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded envelope: %v", err)
		}
		again, err := DecodeEnvelope(enc)
		if err != nil {
			t.Fatalf("DecodeEnvelope of %s: %v", enc, err)
		}
		if !sameEnvelope(env, again) {
			t.Fatalf("round trip changed the envelope:\n%+v\n%+v", env, again)
		}
		enc2, err := again.Encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("Encode is not a fixed point:\n%s\n%s (%v)", enc, enc2, err)
		}
	})
}

// sameEnvelope compares envelopes as the server uses them: Data by its JSON
// value's encoding (Encode compacts it, and writes absent data as null), and
// an empty exclude as none (Encode omits it).
func sameEnvelope(a, b Envelope) bool {
	return a.ServerID == b.ServerID && a.Type == b.Type && a.Target == b.Target &&
		a.Event == b.Event && slices.Equal(a.Exclude, b.Exclude) &&
		bytes.Equal(canonicalData(a.Data), canonicalData(b.Data))
}

func canonicalData(d json.RawMessage) []byte {
	if d == nil {
		return []byte("null")
	}
	b, err := jsonwire.Marshal(d) // compacts and escapes as Encode does
	if err != nil {
		return nil
	}
	return b
}

// benchEnvelope is a typical room message: a small object, two exclusions.
var benchEnvelope = Envelope{
	ServerID: "6f1d0c1e-9f5a-4b8e-a1f2-3c4d5e6f7a8b",
	Type:     TypeRoom,
	Target:   "lobby",
	Event:    "chat.message",
	Data:     json.RawMessage(`{"from":"alice","text":"Hello, everyone in the lobby!","at":"2026-11-28T13:37:00.000Z"}`),
	Exclude:  []string{"0b8e7c52-6a4f-4d1e-9b3a-2f5c8d7e6a10", "1c9f8d63-7b5a-4e2f-8c4b-3a6d9e8f7b21"},
}

func BenchmarkEnvelopeEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := benchEnvelope.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnvelopeDecode(b *testing.B) {
	enc, err := benchEnvelope.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEnvelope(enc); err != nil {
			b.Fatal(err)
		}
	}
}
