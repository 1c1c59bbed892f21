package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"

	"github.com/echows/echows/websocket/wire"
)

// EventHandler handles one custom event: every message with that event from
// an authenticated client goes to Func instead of the OnMessage hook. Build
// one with Handle or HandleAs, and give a server any number of them in
// Config.Handlers (with fx, each module provides its own: see package
// component).
//
// Func runs as OnMessage does: on the client's read goroutine, in the order
// the client sent its messages, with a context that ends when the client
// starts closing. Its error is logged.
type EventHandler struct {
	// Event is the event handled. Required. It may not be a system event
	// (authenticate, connected, disconnect, join, leave, error, heartbeat,
	// encrypted): those are the protocol's own.
	Event string
	// Func handles each message with Event. Required.
	Func MessageFunc
	// Source says where the handler was defined, for the error New returns
	// when two handlers claim one event. Optional. Handle and HandleAs set
	// it to their caller ("chat.NewHandlers (handlers.go:31)"); when empty
	// the name and position of Func are used.
	Source string
}

// Handle returns the handler of event that calls fn with the whole message.
// Its Source is the function that called Handle.
func Handle(event string, fn MessageFunc) EventHandler {
	return EventHandler{Event: event, Func: fn, Source: callerSource(1)}
}

// HandleAs returns the handler of event that calls fn with the message's
// data decoded into the app's own type T, as AuthenticateAs does for
// credentials. A message without data (or with null) gives fn the zero T.
// Data that does not decode into T is answered with the error event
// "Invalid message format", as a malformed join is, and fn is not called.
// Its Source is the function that called HandleAs.
func HandleAs[T any](event string, fn func(ctx context.Context, c *Client, data T) error) EventHandler {
	return EventHandler{Event: event, Source: callerSource(1), Func: func(ctx context.Context, c *Client, msg Message) error {
		var data T
		if len(msg.Data) > 0 {
			if err := json.Unmarshal(msg.Data, &data); err != nil {
				c.server.log.Debug("websocket: event data does not decode", "client", c.id, "event", msg.Event, "err", err)
				c.sendError(wire.ErrTextInvalidFormat)
				return nil
			}
		}
		return fn(ctx, c, data)
	}}
}

// source returns h.Source, or the name and position of h.Func.
func (h EventHandler) source() string {
	if h.Source != "" {
		return h.Source
	}
	if h.Func == nil {
		return "a handler without Func"
	}
	fn := runtime.FuncForPC(reflect.ValueOf(h.Func).Pointer())
	if fn == nil {
		return "an unnamed function"
	}
	file, line := fn.FileLine(fn.Entry())
	return describe(fn.Name(), file, line)
}

// callerSource describes the function skip frames above callerSource's
// caller.
func callerSource(skip int) string {
	pc, file, line, ok := runtime.Caller(skip + 1)
	if !ok {
		return ""
	}
	name := ""
	if fn := runtime.FuncForPC(pc); fn != nil {
		name = fn.Name()
	}
	return describe(name, file, line)
}

// describe reads "chat.NewHandlers (handlers.go:31)": the function's name
// without its import path, and its file without directories.
func describe(name, file string, line int) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return fmt.Sprintf("%s (%s:%d)", name, filepath.Base(file), line)
}

// boundHandler is an EventHandler as the read loop calls it.
type boundHandler struct {
	fn   MessageFunc
	name string // for the hook-failure log: "handler chat"
}

// indexHandlers checks handlers and returns them by event, or an error
// wrapping ErrInvalidConfig (ErrDuplicateHandler, ErrReservedEvent).
func indexHandlers(handlers []EventHandler) (map[string]boundHandler, error) {
	if len(handlers) == 0 {
		return nil, nil
	}
	byEvent := make(map[string]boundHandler, len(handlers))
	first := make(map[string]EventHandler, len(handlers))
	for _, h := range handlers {
		switch {
		case h.Event == "":
			return nil, fmt.Errorf("%w: an event handler from %s names no event", ErrInvalidConfig, h.source())
		case h.Func == nil:
			return nil, fmt.Errorf("%w: the handler of %q from %s has no Func", ErrInvalidConfig, h.Event, h.source())
		case systemEvent(h.Event):
			return nil, fmt.Errorf("%w: %q, handled by %s", ErrReservedEvent, h.Event, h.source())
		}
		if prev, ok := first[h.Event]; ok {
			return nil, fmt.Errorf("%w: %q is handled by %s and by %s", ErrDuplicateHandler, h.Event, prev.source(), h.source())
		}
		first[h.Event] = h
		byEvent[h.Event] = boundHandler{fn: h.Func, name: handlerHookPrefix + h.Event}
	}
	return byEvent, nil
}

// systemEvent reports whether event is one of the protocol's own, which no
// handler may claim.
func systemEvent(event string) bool {
	switch event {
	case wire.EventAuthenticate, wire.EventConnected, wire.EventDisconnect, wire.EventJoin,
		wire.EventLeave, wire.EventError, wire.EventHeartbeat, wire.EventEncrypted:
		return true
	}
	return false
}
