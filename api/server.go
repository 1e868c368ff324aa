package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pexia-network/pexia/internal/logger"
)

// MaxBodyBytes is the largest request body the server reads.
const MaxBodyBytes = 64 << 10

// Event stream defaults; see ServerConfig.
const (
	DefaultEventBuffer       = 256
	DefaultEventWriteTimeout = 10 * time.Second
)

// ServerConfig configures Listen and NewServer. The zero value is usable.
type ServerConfig struct {
	// Group's members may use the API, besides root and the daemon's own
	// user; Listen gives the socket this group. Empty allows no group
	// (pexiad passes DefaultGroup unless configured otherwise).
	Group string
	// Mode is the socket's permission bits; DefaultSocketMode if zero.
	Mode os.FileMode
	// Logf receives the server's log lines (refused peers, backend
	// failures, dropped event streams), without a prefix: wrap it to add
	// one. Nil discards them.
	Logf logger.Logf
	// EventBuffer is how many events a stream may fall behind before the
	// server drops it; DefaultEventBuffer if zero.
	EventBuffer int
	// EventWriteTimeout is how long writing one event to a stream may
	// block before the server drops it; DefaultEventWriteTimeout if zero.
	EventWriteTimeout time.Duration
}

// Server serves the API for a Backend. Create it with NewServer, run it
// with Serve on a listener from Listen, and stop it with Shutdown.
type Server struct {
	b      Backend
	cfg    ServerConfig
	access accessPolicy
	hs     *http.Server
	routes map[string]map[string]http.HandlerFunc // path → method → handler

	stopOnce sync.Once
	stop     chan struct{} // closed by Shutdown: event streams end
}

// NewServer returns a Server answering from b.
func NewServer(b Backend, cfg ServerConfig) *Server {
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = DefaultEventBuffer
	}
	if cfg.EventWriteTimeout <= 0 {
		cfg.EventWriteTimeout = DefaultEventWriteTimeout
	}
	s := &Server{
		b:      b,
		cfg:    cfg,
		access: newAccessPolicy(uint32(os.Getuid()), cfg.Group),
		stop:   make(chan struct{}),
	}
	s.routes = map[string]map[string]http.HandlerFunc{
		"/v1/status":        {http.MethodGet: s.handleStatus},
		"/v1/connect":       {http.MethodPost: s.handleConnect},
		"/v1/disconnect":    {http.MethodPost: s.handleDisconnect},
		"/v1/circuit":       {http.MethodGet: s.handleCircuit},
		"/v1/settings":      {http.MethodGet: s.handleSettings, http.MethodPut: s.handleSetSettings},
		"/v1/budget":        {http.MethodGet: s.handleBudget, http.MethodPut: s.handleSetBudget},
		"/v1/wallet":        {http.MethodGet: s.handleWallet},
		"/v1/events":        {http.MethodGet: s.handleEvents},
		"/v1/debug/runtime": {http.MethodGet: s.handleRuntime},
	}
	s.rulesRoutes()
	s.appsRoutes()
	s.excludeRoutes()
	s.hs = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          logger.StdLogger(cfg.Logf),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			p := &peer{}
			p.cred, p.err = readPeerCred(c)
			return context.WithValue(ctx, peerKey{}, p)
		},
	}
	return s
}

// Serve answers connections on l until Shutdown; it then returns nil. l
// should come from Listen: every request on a connection whose peer
// credentials cannot be read (not a unix socket, or not Linux) is refused.
func (s *Server) Serve(l net.Listener) error {
	err := s.hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, ends every event stream, and waits
// for the other requests to finish or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	return s.hs.Shutdown(ctx)
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// peer is a connection's credentials and, once decided, whether they may
// use the API.
type peer struct {
	cred peerCred
	err  error // reading cred failed

	once   sync.Once
	denied error
	access Access
}

type peerKey struct{}

// authorize decides once per connection whether its peer may use the API
// and what it may do.
func (s *Server) authorize(r *http.Request) (Caller, error) {
	p, _ := r.Context().Value(peerKey{}).(*peer)
	if p == nil {
		return Caller{}, errors.New("no peer credentials for this connection")
	}
	p.once.Do(func() {
		if p.err != nil {
			p.denied = fmt.Errorf("cannot identify the caller: %v", p.err)
			return
		}
		p.access, p.denied = s.access.check(p.cred)
	})
	return Caller{PID: p.cred.pid, UID: p.cred.uid, GID: p.cred.gid, Access: p.access}, p.denied
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	caller, err := s.authorize(r)
	if err != nil {
		if p, _ := r.Context().Value(peerKey{}).(*peer); p != nil {
			s.logf("refused %s %s from pid %d uid %d: %v", r.Method, r.URL.Path, p.cred.pid, p.cred.uid, err)
		}
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
		return
	}
	r = r.WithContext(WithCaller(r.Context(), caller))
	methods, ok := s.routes[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s", r.URL.Path))
		return
	}
	h, ok := methods[r.Method]
	if !ok {
		allowed := make([]string, 0, len(methods))
		for m := range methods {
			allowed = append(allowed, m)
		}
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s does not allow %s; use %s", r.URL.Path, r.Method, strings.Join(allowed, " or ")))
		return
	}
	h(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "encode response: " + err.Error(), Code: "internal"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// optionalBackend returns the Server's Backend as the optional interface
// T, or writes 404 with msg (what this pexiad lacks) when it does not
// implement T.
func optionalBackend[T any](s *Server, w http.ResponseWriter, msg string) (T, bool) {
	b, ok := s.b.(T)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", msg)
	}
	return b, ok
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Code: code})
}

// reply writes v, or err as an error body.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		status, code := classify(err)
		if status >= 500 {
			s.logf("%s %s: %v", r.Method, r.URL.Path, err)
		}
		writeError(w, status, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// decode reads r's JSON body into v strictly: at most MaxBodyBytes, no
// unknown fields, nothing after the value. An empty body leaves v as is if
// allowEmpty. On failure it has written the error and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("unexpected data after the JSON value")
		}
	} else if errors.Is(err, io.EOF) {
		if allowEmpty {
			return true
		}
		err = errors.New("empty body; send a JSON object")
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes))
		return false
	}
	writeError(w, http.StatusBadRequest, "invalid", "invalid request body: "+strings.TrimPrefix(err.Error(), "json: "))
	return false
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context())
	s.reply(w, r, st, err)
}

func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	var req ConnectRequest
	if !decode(w, r, &req, true) {
		return
	}
	if err := req.Validate(); err != nil {
		s.reply(w, r, nil, err)
		return
	}
	st, err := s.b.Connect(r.Context(), req)
	s.reply(w, r, st, err)
}

func (s *Server) handleDisconnect(w http.ResponseWriter, r *http.Request) {
	var none struct{}
	if !decode(w, r, &none, true) {
		return
	}
	st, err := s.b.Disconnect(r.Context())
	s.reply(w, r, st, err)
}

func (s *Server) handleCircuit(w http.ResponseWriter, r *http.Request) {
	c, err := s.b.Circuit(r.Context())
	s.reply(w, r, c, err)
}

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Settings(r.Context())
	s.reply(w, r, st, err)
}

func (s *Server) handleSetSettings(w http.ResponseWriter, r *http.Request) {
	var in Settings
	if !decode(w, r, &in, false) {
		return
	}
	if err := in.Validate(); err != nil {
		s.reply(w, r, nil, err)
		return
	}
	in.ClearReadOnly()
	// The Backend checks again, atomically with the change; checking here
	// too keeps a Backend that forgets from letting a member through.
	cur, err := s.b.Settings(r.Context())
	if err == nil {
		err = CheckChange(CallerFrom(r.Context()), cur, in)
	}
	if err != nil {
		s.reply(w, r, nil, err)
		return
	}
	out, err := s.b.SetSettings(r.Context(), in)
	s.reply(w, r, out, err)
}

func (s *Server) handleBudget(w http.ResponseWriter, r *http.Request) {
	b, err := s.b.Budget(r.Context())
	s.reply(w, r, b, err)
}

func (s *Server) handleSetBudget(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Monthly *Amount `json:"monthly"`
	}
	if !decode(w, r, &in, false) {
		return
	}
	if in.Monthly == nil {
		s.reply(w, r, nil, fmt.Errorf("%w request body: monthly is required", ErrInvalid))
		return
	}
	cur, err := s.b.Settings(r.Context())
	if err == nil {
		err = CheckBudget(CallerFrom(r.Context()), cur, *in.Monthly)
	}
	if err != nil {
		s.reply(w, r, nil, err)
		return
	}
	b, err := s.b.SetBudget(r.Context(), *in.Monthly)
	s.reply(w, r, b, err)
}

// handleRuntime answers an admin with the daemon process's Go runtime
// figures; members get 403. They tell an operator (and the soak test)
// whether goroutines or the heap grow over time, and say nothing about
// the user's traffic.
func (s *Server) handleRuntime(w http.ResponseWriter, r *http.Request) {
	if !CallerFrom(r.Context()).Admin() {
		s.reply(w, r, nil, fmt.Errorf("%w: /v1/debug/runtime is for root and the daemon's own user", ErrForbidden))
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.reply(w, r, Runtime{
		Goroutines: runtime.NumGoroutine(),
		HeapAlloc:  ms.HeapAlloc,
		HeapInuse:  ms.HeapInuse,
		Sys:        ms.Sys,
		NumGC:      ms.NumGC,
	}, nil)
}

func (s *Server) handleWallet(w http.ResponseWriter, r *http.Request) {
	wl, err := s.b.Wallet(r.Context())
	s.reply(w, r, wl, err)
}
