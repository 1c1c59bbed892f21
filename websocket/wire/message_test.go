package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// decodeMessageCases are the notable frames of DecodeMessage: the common
// shapes its fast path decodes, and those it leaves to encoding/json. They
// also seed FuzzDecodeMessageMatchesStdlib.
var decodeMessageCases = []struct {
	name string
	in   string
	want Message
	err  error // sentinel, or nil
	fast bool  // decodeMessageFast decodes it
}{
	{"common", `{"event":"flood","data":{"x":1}}`, Message{Event: "flood", Data: raw(`{"x":1}`)}, nil, true},
	{"with id", `{"id":"7","event":"e","data":1}`, Message{Event: "e", Data: raw(`1`), ID: "7"}, nil, true},
	{"no data", `{"event":"heartbeat"}`, Message{Event: "heartbeat"}, nil, true},
	{"whitespace", " \t\r\n{ \"event\" :\n\"e\" , \"data\" : [ 1 , { } ] , \"id\" : \"i\" }\n ", Message{Event: "e", Data: raw(`[ 1 , { } ]`), ID: "i"}, nil, true},
	{"nested data", `{"data":{"a":"}]\"{[","b":[[{}],{"c":[]}]},"event":"e"}`, Message{Event: "e", Data: raw(`{"a":"}]\"{[","b":[[{}],{"c":[]}]}`)}, nil, true},
	{"escaped data", `{"event":"e","data":"a\"b\\\u00e9"}`, Message{Event: "e", Data: raw(`"a\"b\\\u00e9"`)}, nil, true},
	{"invalid utf-8 data", "{\"event\":\"e\",\"data\":\"\xff\"}", Message{Event: "e", Data: raw("\"\xff\"")}, nil, true},
	{"null data", `{"event":"e","data":null}`, Message{Event: "e", Data: raw(`null`)}, nil, true},
	{"number data", `{"event":"e","data":-1.5e3}`, Message{Event: "e", Data: raw(`-1.5e3`)}, nil, true},
	{"bool data", `{"event":"e","data":true}`, Message{Event: "e", Data: raw(`true`)}, nil, true},
	{"string data", `{"event":"e","data":"s"}`, Message{Event: "e", Data: raw(`"s"`)}, nil, true},
	{"unicode event", `{"event":"héllo ☃ 🎉"}`, Message{Event: "héllo ☃ 🎉"}, nil, true},
	{"other keys", `{"x":{"event":"no"},"event":"e","y":[null],"Z":0}`, Message{Event: "e"}, nil, true},
	{"duplicate event", `{"event":"a","event":"b"}`, Message{Event: "b"}, nil, true},
	{"duplicate data", `{"data":[1],"event":"e","data":{}}`, Message{Event: "e", Data: raw(`{}`)}, nil, true},
	{"deep data", `{"event":"e","data":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`, Message{Event: "e", Data: raw(strings.Repeat("[", 1000) + strings.Repeat("]", 1000))}, nil, true},
	{"empty object", `{}`, Message{}, ErrNoEvent, true},
	{"no event", `{"data":1}`, Message{}, ErrNoEvent, true},
	{"empty event", `{"event":"","data":1}`, Message{}, ErrNoEvent, true},

	{"escaped event", `{"event":"a\nb\u00e9"}`, Message{Event: "a\nb\u00e9"}, nil, false},
	{"invalid utf-8 event", "{\"event\":\"a\xffb\"}", Message{Event: "a\uFFFDb"}, nil, false},
	{"escaped key", `{"\u0065vent":"e"}`, Message{Event: "e"}, nil, false},
	{"upper-case keys", `{"EVENT":"e","Data":1,"iD":"i"}`, Message{Event: "e", Data: raw(`1`), ID: "i"}, nil, false},
	{"upper-case event", `{"Event":"e"}`, Message{Event: "e"}, nil, false},
	{"upper-case data", `{"event":"e","DATA":[]}`, Message{Event: "e", Data: raw(`[]`)}, nil, false},
	{"upper-case id", `{"event":"e","ID":"i"}`, Message{Event: "e", ID: "i"}, nil, false},
	{"exact then upper-case", `{"event":"a","EVENT":"b","data":1,"Data":2}`, Message{Event: "b", Data: raw(`2`)}, nil, false},
	{"non-ASCII keys", `{"event":"e","ıd":"i","Key":1}`, Message{Event: "e"}, nil, false},
	{"null event", `{"event":null}`, Message{}, ErrNoEvent, false},
	{"null after event", `{"event":"a","event":null}`, Message{Event: "a"}, nil, false},
	{"number event", `{"event":5}`, Message{}, ErrMalformed, false},
	{"number id", `{"event":"e","id":3}`, Message{}, ErrMalformed, false},
	{"number then event", `{"event":1,"event":"b"}`, Message{}, ErrMalformed, false},
	{"top-level array", `[{"event":"e"}]`, Message{}, ErrNoEvent, false},
	{"top-level null", `null`, Message{}, ErrNoEvent, false},
	{"top-level string", `"event"`, Message{}, ErrNoEvent, false},
	{"top-level number", `1`, Message{}, ErrNoEvent, false},
	{"empty", ``, Message{}, ErrMalformed, false},
	{"truncated", `{"event":"e","data":{"x":1}`, Message{}, ErrMalformed, false},
	{"trailing garbage", `{"event":"e"}x`, Message{}, ErrMalformed, false},
	{"too deep", `{"event":"e","data":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, Message{}, ErrMalformed, false},
}

// raw returns s as data.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestDecodeMessage(t *testing.T) {
	for _, tc := range decodeMessageCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeMessage([]byte(tc.in))
			if diff := diffResults(got, nil, tc.want, nil); diff != "" {
				t.Error(diff)
			}
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
			want, wantErr := decodeMessageStd([]byte(tc.in))
			if diff := diffResults(got, err, want, wantErr); diff != "" {
				t.Errorf("differs from encoding/json: %s", diff)
			}
			if _, fast := decodeMessageFast([]byte(tc.in)); fast != tc.fast {
				t.Errorf("fast path taken: %v, want %v", fast, tc.fast)
			}
		})
	}
}

// benchFrames are the frames BenchmarkDecodeMessage decodes: the common
// 32-byte flood frame and a ~300-byte frame with nested data and an id.
var benchFrames = []struct {
	name  string
	frame []byte
}{
	{"small", []byte(`{"event":"flood","data":{"x":1}}`)},
	{"nested", []byte(`{"event":"chat:message","id":"9f1c2a7e-41d2-4c1b-9d3e-5a6b7c8d9e0f","data":{"room":"lobby","text":"hello there, this is a somewhat longer chat message with \"quotes\" in it","meta":{"ts":1712345678901,"tags":["a","b","c"],"reply":{"to":"u-42","depth":2}},"flags":[true,false,null],"score":3.25e2}}`)},
}

// BenchmarkDecodeMessage measures the per-frame cost of inbound decoding.
func BenchmarkDecodeMessage(b *testing.B) {
	for _, bf := range benchFrames {
		b.Run(bf.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bf.frame)))
			for b.Loop() {
				if _, err := DecodeMessage(bf.frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
