package websocket

import (
	"encoding/json"

	"github.com/echows/echows/internal/jsonwire"
	"github.com/echows/echows/websocket/wire"
)

// Where a message came from, for the log of invalid UTF-8 (see
// messageFrame); envelopes from other instances are "server <id>".
const (
	sourceLocal       = "this server"
	sourceTransformer = "TransformOutbound"
)

// maxUTF8Sources bounds the sources of invalid UTF-8 logged once each.
const maxUTF8Sources = 64

// newMessage builds the outbound message for one send: its frame is
// encoded once, whatever the number of recipients.
func (s *Server) newMessage(event string, data json.RawMessage, source string) *outbound {
	o, repaired := s.buildMessage(event, data)
	if repaired {
		s.invalidUTF8(source)
	}
	return o
}

// buildMessage is newMessage without the log line for invalid UTF-8, for a
// caller under a lock: it reports repaired, and the caller calls
// invalidUTF8 once it released the lock (the logger is the app's).
func (s *Server) buildMessage(event string, data json.RawMessage) (o *outbound, repaired bool) {
	frame, repaired := messageFrame(event, data)
	var sem chan struct{}
	if s.cfg.TransformOutbound != nil {
		sem = make(chan struct{}, s.cfg.EncryptedBatchLimit)
	}
	o = &outbound{event: event, data: data, frame: frame, sem: sem}
	s.m.numbered(o)
	return o, repaired
}

// errorMessage builds an error event with text.
func errorMessage(text string) *outbound {
	data := jsonwire.ErrorData(text)
	frame, _ := messageFrame(wire.EventError, data) // the texts are constants
	return &outbound{event: wire.EventError, data: data, frame: frame}
}

// invalidUTF8 counts a message repaired by messageFrame and logs it once
// per source.
func (s *Server) invalidUTF8(source string) {
	s.repaired.Add(1)
	s.utf8Mu.Lock()
	_, seen := s.utf8Sources[source]
	full := len(s.utf8Sources) >= maxUTF8Sources
	if !seen && !full {
		if s.utf8Sources == nil {
			s.utf8Sources = make(map[string]struct{})
		}
		s.utf8Sources[source] = struct{}{}
	}
	s.utf8Mu.Unlock()
	if !seen && !full {
		s.log.Warn("websocket: message data is not valid UTF-8; invalid bytes sent as U+FFFD (logged once per source)",
			"source", source)
	}
}

func (s *Server) toClient(clientID, event string, data json.RawMessage, source string) bool {
	c := s.index.getAuthed(clientID)
	if c == nil {
		return false
	}
	c.deliver(s.newMessage(event, data, source))
	return true
}

func (s *Server) toUser(userID, event string, data json.RawMessage, source string) bool {
	return s.fanOut(audience{audienceUser, userID}, event, data, nil, source)
}

func (s *Server) toRoom(room, event string, data json.RawMessage, exclude []string, source string) bool {
	return s.fanOut(audience{audienceRoom, room}, event, data, exclude, source)
}

func (s *Server) toAll(event string, data json.RawMessage, exclude []string, source string) bool {
	return s.fanOut(audience{kind: audienceAll}, event, data, exclude, source)
}

// fanOut queues one message, encoded once, for every client of to but the
// excluded ones, and reports whether to has any client (excluded ones
// included). Under the index's read lock it only collects the members;
// queueing, writing and logging happen after.
//
// Who queues and writes for the members depends on the traffic
// (flusher.sparse). In steady traffic the sender's call writes each member
// right after queueing for it, as uWebSockets' publish writes from the
// publishing call: one pass over the members' memory, and no flush
// goroutine to start. With more than one processor the flush goroutines
// take all but the last flushChunk members, so a large room is written in
// parallel. Messages that come close together, each to the audience of the
// one before, are batched (see coalescer): up to batchLen of them are
// queued for each member in one go, and written in one call per member.
// Other messages in a burst (its first, one with exclusions, senders that
// alternate audiences) are queued message by message, and written by the
// flush goroutines.
func (s *Server) fanOut(to audience, event string, data json.RawMessage, exclude []string, source string) bool {
	inline := s.flush.sparse()
	defer s.flush.fanOutDone(inline)
	if !inline && len(exclude) == 0 && s.batch.repeats(to) {
		return s.batch.add(to, event, data, source)
	}
	s.batch.flush()
	membersBuf := getClients()
	defer putClients(membersBuf)
	members, _ := s.index.audience(to, *membersBuf)
	*membersBuf = members
	if len(members) == 0 {
		return false
	}
	o := s.newMessage(event, data, source)
	f := &fan{s: s, o: o}
	if len(exclude) > 0 {
		f.skip = excluder(exclude)
	}
	scheduled := members // left to the flush goroutines; the rest written here
	if inline {
		scheduled = members[:len(members)-min(len(members), s.flush.inlineMembers())]
	}
	startBuf := getClients()
	defer putClients(startBuf)
	f.starts = *startBuf
	for _, c := range scheduled {
		f.queue(c)
	}
	s.flush.add(f.starts...)
	*startBuf = f.starts
	for _, c := range members[len(scheduled):] {
		f.write(c)
	}
	s.m.deliveries.Add(uint64(f.queued))
	return true
}

// fan is one fan-out in progress.
type fan struct {
	s      *Server
	o      *outbound
	skip   func(id string) bool
	starts []*Client // scheduled, not yet handed to the flush goroutines
	queued int
}

// queue queues the message for c and leaves the writing to the flush
// goroutines, handing them members flushChunk at a time.
func (f *fan) queue(c *Client) {
	if st := f.push(c); st != startFlush {
		c.kick(st)
		return
	}
	f.schedule(c)
}

// schedule hands c, whose write token was just taken (startFlush), to the
// flush goroutines, flushChunk clients at a time; the caller adds the
// rest (f.starts) when done.
func (f *fan) schedule(c *Client) {
	if f.starts = append(f.starts, c); len(f.starts) == flushChunk {
		f.s.flush.add(f.starts...)
		f.starts = f.starts[:0]
	}
}

// write queues the message for c and, when that made c due for a flush,
// writes it at once, as a flush goroutine would.
func (f *fan) write(c *Client) {
	st := f.push(c)
	if st == startFlush {
		st = startInline
	}
	c.kick(st)
}

// push queues the message for c, unless c is excluded, and says who must
// write it.
func (f *fan) push(c *Client) start {
	if f.skip != nil && f.skip(c.id) {
		return startNone
	}
	res, st := c.push(f.o)
	if res == pushQueued {
		f.queued++
	} else {
		c.afterPush(res)
	}
	return st
}

// excluder returns a membership test for exclude: a scan for a few ids, a
// set for many, so a fan-out stays linear in its audience.
func excluder(exclude []string) func(id string) bool {
	if len(exclude) <= 8 {
		return func(id string) bool { return contains(exclude, id) }
	}
	set := make(map[string]struct{}, len(exclude))
	for _, id := range exclude {
		set[id] = struct{}{}
	}
	return func(id string) bool { _, ok := set[id]; return ok }
}
