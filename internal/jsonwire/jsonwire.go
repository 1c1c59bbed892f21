// Package jsonwire encodes echows' JSON the way upstream's JSON.stringify
// does (strings escaped alike, no HTML escaping), so Go and upstream
// produce the same bytes. It is shared by the server (package websocket),
// the wire format (package wire) and the emitter, and is no part of their
// API.
package jsonwire

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// AppendMessage appends the JSON frame {"event":event,"data":data} to dst.
// data must be valid JSON; nil data is omitted, as upstream omits undefined.
func AppendMessage(dst []byte, event string, data json.RawMessage) []byte {
	dst = append(dst, `{"event":`...)
	dst = AppendString(dst, event)
	if data != nil {
		dst = append(dst, `,"data":`...)
		dst = append(dst, data...)
	}
	return append(dst, '}')
}

// AppendString appends s to dst as a JSON string, escaped as JavaScript's
// JSON.stringify escapes it: quotes, backslashes and control characters
// only, so that Go and upstream produce the same bytes. Each byte of invalid
// UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\ufffd"...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Marshal encodes v as JSON without encoding/json's HTML escaping of <, >
// and &, as JavaScript's JSON.stringify does not escape them either.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ErrorData returns the data of an error event: {"message": text}.
func ErrorData(text string) json.RawMessage {
	return append(AppendString([]byte(`{"message":`), text), '}')
}
