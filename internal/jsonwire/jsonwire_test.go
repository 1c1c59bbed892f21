package jsonwire

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendMessageEscapesLikeJSONStringify(t *testing.T) {
	tests := []struct{ event, want string }{
		{"plain", `"plain"`},
		{`with "quotes" and \`, `"with \"quotes\" and \\"`},
		{"<html>&", `"<html>&"`},
		{"é\u2028", "\"é\u2028\""},
		{"tab\tnl\ncr\r\x01", `"tab\tnl\ncr\r\u0001"`},
		{"bad\xffutf8", "\"bad\ufffdutf8\""},
	}
	for _, tt := range tests {
		got := AppendMessage(nil, tt.event, json.RawMessage(`{"a":1}`))
		want := `{"event":` + tt.want + `,"data":{"a":1}}`
		if string(got) != want {
			t.Fatalf("AppendMessage(%q) = %s, want %s", tt.event, got, want)
		}
		var m struct{ Event string }
		if err := json.Unmarshal(got, &m); err != nil || (utf8.ValidString(tt.event) && m.Event != tt.event) {
			t.Fatalf("%s does not decode back to %q: %v", got, tt.event, err)
		}
	}
	if got := string(AppendMessage(nil, "e", nil)); got != `{"event":"e"}` {
		t.Fatalf("nil data: %s", got)
	}
	if got := string(ErrorData("Not authenticated")); got != `{"message":"Not authenticated"}` {
		t.Fatalf("ErrorData: %s", got)
	}
}
