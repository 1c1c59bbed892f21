package wsframe

import "unicode/utf8"

// UTF8 validates a text message whose bytes arrive in pieces (fragments, or
// reads of one frame), failing at the first piece that makes the text
// invalid, as RFC 6455 §8.1 asks ("fail fast"): a code point split between
// two pieces is fine, a byte that can start or continue no valid one is
// not. The zero value is ready for a new message.
type UTF8 struct {
	tail [utf8.UTFMax]byte // the start of a code point the last piece cut
	n    int
}

// Write adds the next piece of the message and reports whether the text is
// still valid UTF-8 so far (it may end inside a code point).
func (u *UTF8) Write(p []byte) bool {
	if u.n > 0 {
		// Complete the code point the last piece cut, byte by byte.
		for len(p) > 0 && u.n < len(u.tail) {
			u.tail[u.n] = p[0]
			u.n++
			p = p[1:]
			if utf8.FullRune(u.tail[:u.n]) {
				break
			}
		}
		if !utf8.FullRune(u.tail[:u.n]) {
			return true // still incomplete, and a valid prefix so far
		}
		if r, size := utf8.DecodeRune(u.tail[:u.n]); r == utf8.RuneError && size <= 1 {
			return false
		}
		u.n = 0
	}
	// Keep an incomplete code point at the end for the next piece.
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-(utf8.UTFMax-1); i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(p[:cut]) {
		return false
	}
	u.n = copy(u.tail[:], p[cut:])
	return true
}

// End reports whether the message ended on a complete code point, and
// resets u for the next message.
func (u *UTF8) End() bool {
	ok := u.n == 0
	u.n = 0
	return ok
}
