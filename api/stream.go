package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// errSlowReader ends a stream whose client fell more than EventBuffer
// events behind.
var errSlowReader = errors.New("client fell behind")

// handleEvents streams events as NDJSON. Two goroutines per stream: the
// pump (started here, waited for before returning) moves events from the
// Backend's channel into a bounded queue and never blocks on the client;
// this handler's goroutine writes the queue to the connection, each write
// under EventWriteTimeout. A full queue means the client is not keeping
// up: the pump expires the write deadline so a blocked write returns at
// once, and the stream ends. The daemon never waits on the client.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	events, cancel := s.b.Subscribe()
	defer cancel()

	// The pump starts before anything else so that the Backend's channel
	// is drained from the moment of subscribing.
	queue := make(chan Event, s.cfg.EventBuffer)
	overflow := make(chan struct{})
	pumpDone := make(chan struct{})
	stopPump := make(chan struct{})
	defer func() {
		close(stopPump)
		<-pumpDone
	}()
	go func() {
		defer close(pumpDone)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					close(queue)
					return
				}
				select {
				case queue <- ev:
				default:
					close(overflow)
					rc.SetWriteDeadline(time.Now()) // unblock a write stuck on the client
					return
				}
			case <-stopPump:
				return
			}
		}
	}()

	// Subscribe first, then take the snapshot: nothing that happens in
	// between is lost. State events older than the snapshot are
	// superseded by it and skipped below.
	snapAt := time.Now()
	st, err := s.b.Status(ctx)
	if err != nil {
		s.reply(w, r, nil, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	write := func(ev Event) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := rc.SetWriteDeadline(time.Now().Add(s.cfg.EventWriteTimeout)); err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := write(Event{Type: EventState, Time: snapAt, State: &st}); err != nil {
		s.logf("event stream: %v", err)
		return
	}
	for {
		select {
		case ev, ok := <-queue:
			if !ok {
				return // the backend ended the stream
			}
			if ev.Time.IsZero() {
				ev.Time = time.Now()
			} else if ev.Type == EventState && ev.Time.Before(snapAt) {
				continue
			}
			if err := write(ev); err != nil {
				select {
				case <-overflow:
					err = errSlowReader
				default:
				}
				s.logf("event stream dropped: %v", err)
				return
			}
		case <-overflow:
			s.logf("event stream dropped: %v", errSlowReader)
			// Cut the connection rather than end the stream cleanly: the
			// final chunk's write fails at once and net/http closes it.
			rc.SetWriteDeadline(time.Now())
			return
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		}
	}
}
