package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxResponseBytes bounds a response body the Client reads.
const maxResponseBytes = 16 << 20

// Client talks to pexiad's local API. Its methods are safe for concurrent
// use; each takes a ctx for its deadline (a Client sets none of its own,
// so a Connect may take as long as the daemon needs).
type Client struct {
	path string
	tr   *http.Transport
	hc   *http.Client
}

// NewClient returns a Client for the daemon listening at socketPath
// (DefaultSocketPath if empty). It does not connect until the first call.
func NewClient(socketPath string) *Client {
	if socketPath == "" {
		socketPath = DefaultSocketPath
	}
	c := &Client{path: socketPath}
	c.tr = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.dial(ctx)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	c.hc = &http.Client{Transport: c.tr}
	return c
}

// SocketPath returns the socket the Client talks to.
func (c *Client) SocketPath() string { return c.path }

// Close releases idle connections. The Client stays usable.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// dialError carries a dial failure already phrased for the user, so do
// can return it without net/http's wrapping.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	switch {
	case err == nil:
		return conn, nil
	case errors.Is(err, syscall.ENOENT):
		err = fmt.Errorf("%w (no socket at %s)", ErrNotRunning, c.path)
	case errors.Is(err, syscall.ECONNREFUSED):
		err = fmt.Errorf("%w (stale socket at %s: nothing listens on it)", ErrNotRunning, c.path)
	case errors.Is(err, syscall.EACCES):
		err = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "permission denied on " + c.path + ": " + whoMay(c.path)}
	default:
		err = fmt.Errorf("connect to pexiad at %s: %w", c.path, err)
	}
	return nil, &dialError{err}
}

// transportError unwraps net/http's errors into what the user needs.
func (c *Client) transportError(ctx context.Context, method, path string, err error) error {
	var de *dialError
	if errors.As(err, &de) {
		return de.err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s %s: %w", method, path, ctxErr)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}

func (c *Client) request(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://pexiad"+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.request(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// readError turns a failed response into an *Error.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb errorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
		return &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error}
	}
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = resp.Status
	}
	return &Error{Status: resp.StatusCode, Code: "internal", Message: "pexiad: " + msg}
}

// Status returns the daemon's state.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Connect asks the daemon to bring the tunnel up and returns at once; the
// state is usually connecting. Follow Events to see it connect.
func (c *Client) Connect(ctx context.Context, req ConnectRequest) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodPost, "/v1/connect", req, &st)
	return st, err
}

// Disconnect takes the tunnel down.
func (c *Client) Disconnect(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodPost, "/v1/disconnect", nil, &st)
	return st, err
}

// Circuit returns the circuit in use; ErrNotConnected if there is none.
func (c *Client) Circuit(ctx context.Context) (Circuit, error) {
	var ci Circuit
	err := c.do(ctx, http.MethodGet, "/v1/circuit", nil, &ci)
	return ci, err
}

// Settings returns the daemon's settings.
func (c *Client) Settings(ctx context.Context) (Settings, error) {
	var s Settings
	err := c.do(ctx, http.MethodGet, "/v1/settings", nil, &s)
	return s, err
}

// SetSettings replaces the settings and returns those now in effect.
// Invalid settings fail with ErrInvalid and leave the daemon's unchanged.
func (c *Client) SetSettings(ctx context.Context, s Settings) (Settings, error) {
	var out Settings
	err := c.do(ctx, http.MethodPut, "/v1/settings", s, &out)
	return out, err
}

// Budget returns the current budget period's state.
func (c *Client) Budget(ctx context.Context) (Budget, error) {
	var b Budget
	err := c.do(ctx, http.MethodGet, "/v1/budget", nil, &b)
	return b, err
}

// SetBudget sets the monthly budget (in smallest units).
func (c *Client) SetBudget(ctx context.Context, monthly Amount) (Budget, error) {
	var b Budget
	err := c.do(ctx, http.MethodPut, "/v1/budget", BudgetRequest{Monthly: monthly}, &b)
	return b, err
}

// Wallet returns the funder's accounts.
func (c *Client) Wallet(ctx context.Context) (Wallet, error) {
	var w Wallet
	err := c.do(ctx, http.MethodGet, "/v1/wallet", nil, &w)
	return w, err
}

// Runtime returns the daemon process's Go runtime figures (admin only:
// ErrForbidden for a member).
func (c *Client) Runtime(ctx context.Context) (Runtime, error) {
	var rt Runtime
	err := c.do(ctx, http.MethodGet, "/v1/debug/runtime", nil, &rt)
	return rt, err
}

// Events opens the event stream. The first event is the current state.
// The channel is closed when the stream ends: ctx done, the daemon gone
// or shutting down, or this client too slow to keep up; cancel ctx to stop
// reading and release the connection.
func (c *Client) Events(ctx context.Context) (<-chan Event, error) {
	resp, err := c.request(ctx, http.MethodGet, "/v1/events", nil)
	if err != nil {
		return nil, err
	}
	ch := make(chan Event, 16)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		for {
			var ev Event
			if err := dec.Decode(&ev); err != nil {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// whoMay says who may use the socket at path: the members of the group
// the daemon gave it (the daemon's configuration may name another than
// DefaultGroup), or only root.
func whoMay(path string) string {
	fi, err := os.Stat(path)
	st, ok := sysStat(fi)
	if err != nil || !ok {
		// The directory cannot be searched: the group is unknown here.
		return fmt.Sprintf("only root and members of the socket's group (by default %q) may use pexiad; ask the administrator which group that is", DefaultGroup)
	}
	if st.gid == 0 {
		return "only root may use pexiad: the daemon gives its socket to no group"
	}
	group := strconv.FormatUint(uint64(st.gid), 10)
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	return fmt.Sprintf("only root and members of group %q may use pexiad; add your user to it (sudo usermod -aG %s $USER) and log in again", group, group)
}
