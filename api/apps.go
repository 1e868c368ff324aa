package api

import (
	"context"
	"net/http"
	"time"
)

// AppsBackend is the optional part of a Backend that counts what each
// application does (GET /v1/apps; 404 for a Backend without it).
type AppsBackend interface {
	// Apps returns the applications seen this budget period; the Server
	// then keeps a member's own (VisibleApps).
	Apps(ctx context.Context) (Apps, error)
}

// Apps is what each application did this budget period.
type Apps struct {
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	Apps        []App     `json:"apps"`
	// Issued is the expected value of every ticket issued this period. An
	// application's Spend is its share of it, by the bytes it carried in
	// each ticket's window; Unattributed is what no application has
	// carried yet (a new circuit's prepayment). For an admin, the Apps'
	// Spend and Unattributed add up to Issued exactly; a member sees only
	// their own applications.
	Issued       Amount   `json:"issued"`
	Unattributed Amount   `json:"unattributed"`
	Currency     Currency `json:"currency"`
}

// App is one application: its owner's uid and executable.
type App struct {
	// UID is the user owning the application's sockets; HasUID is false
	// when it was not known.
	UID    uint32 `json:"uid"`
	HasUID bool   `json:"has_uid"`
	// Path is the executable's path; "[name]" with only the process name
	// known; "(unknown)" when the flow's owner was not found.
	Path string `json:"path"`
	// Rule and Action are what decided the application's latest flow.
	Rule   string `json:"rule"`
	Action string `json:"action"`
	// Flows opened (ping flows among them), and flows a block rule
	// refused. A DNS query is no flow.
	Flows   uint64 `json:"flows"`
	Blocked uint64 `json:"blocked"`
	// Bytes the application sent and received, through the tunnel or
	// direct: its flows', its pings' and its DNS queries and answers.
	BytesUp   uint64 `json:"bytes_up"`
	BytesDown uint64 `json:"bytes_down"`
	// Spend is the application's share of the expected value of the
	// tickets of the circuits it used; direct and blocked flows cost
	// nothing.
	Spend Amount `json:"spend"`
	// Tickets is the number of tickets that paid for some of its traffic.
	Tickets uint64 `json:"tickets"`
}

// VisibleApps keeps what caller c may see: an admin every application, a
// member only those of their own uid. Unattributed is an admin's only.
func VisibleApps(c Caller, a Apps) Apps {
	if c.Access == AccessAdmin {
		return a
	}
	out := a
	out.Apps = nil
	for _, app := range a.Apps {
		if app.HasUID && app.UID == c.UID {
			out.Apps = append(out.Apps, app)
		}
	}
	out.Unattributed = AmountOf(0)
	return out
}

func (s *Server) appsRoutes() {
	s.routes["/v1/apps"] = map[string]http.HandlerFunc{http.MethodGet: s.handleApps}
}

func (s *Server) handleApps(w http.ResponseWriter, r *http.Request) {
	ab, ok := optionalBackend[AppsBackend](s, w, "this pexiad counts no applications")
	if !ok {
		return
	}
	a, err := ab.Apps(r.Context())
	if err == nil {
		a = VisibleApps(CallerFrom(r.Context()), a)
	}
	s.reply(w, r, a, err)
}

// Apps returns the applications seen this budget period, with their
// flows, bytes and spend (a member's own only).
func (c *Client) Apps(ctx context.Context) (Apps, error) {
	var a Apps
	err := c.do(ctx, http.MethodGet, "/v1/apps", nil, &a)
	return a, err
}
