package wire

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// FuzzDecodeMessageMatchesStdlib checks that DecodeMessage, fast path and
// all, decodes every frame exactly as decodeMessageStd (encoding/json) does:
// the same event, id and data bytes (nil data where it has none) and the
// same error, sentinel and text. The result must not alias the frame.
func FuzzDecodeMessageMatchesStdlib(f *testing.F) {
	for _, tc := range decodeMessageCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		frame := bytes.Clone(b)
		got, gotErr := DecodeMessage(frame)
		clear(frame) // the result must not alias the frame
		want, wantErr := decodeMessageStd(b)
		if diff := diffResults(got, gotErr, want, wantErr); diff != "" {
			t.Fatalf("DecodeMessage(%q): %s", b, diff)
		}
	})
}

// diffResults describes how the result (got, gotErr) differs from (want,
// wantErr), or returns "" when they are the same: equal event, id and data
// bytes, data nil in both or neither, and equal errors (nil, or the same
// text, which for these decoders means the same sentinel too).
func diffResults(got Message, gotErr error, want Message, wantErr error) string {
	var diffs []string
	if got.Event != want.Event {
		diffs = append(diffs, fmt.Sprintf("event %q, want %q", got.Event, want.Event))
	}
	if got.ID != want.ID {
		diffs = append(diffs, fmt.Sprintf("id %q, want %q", got.ID, want.ID))
	}
	if !bytes.Equal(got.Data, want.Data) || (got.Data == nil) != (want.Data == nil) {
		diffs = append(diffs, fmt.Sprintf("data %s, want %s", showData(got.Data), showData(want.Data)))
	}
	if errText(gotErr) != errText(wantErr) {
		diffs = append(diffs, fmt.Sprintf("error %q, want %q", errText(gotErr), errText(wantErr)))
	}
	return strings.Join(diffs, "; ")
}

// errText returns the text of err, or "<nil>".
func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// showData quotes data, telling nil from empty.
func showData(data []byte) string {
	if data == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", data)
}
