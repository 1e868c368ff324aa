package main

import (
	"io"
	"testing"
	"time"

	"github.com/pexia-network/pexia/api"
	"github.com/pexia-network/pexia/api/apitest"
)

func TestRenderApps(t *testing.T) {
	a := api.Apps{
		PeriodStart: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		Apps: []api.App{
			{UID: 1000, HasUID: true, Path: "/usr/bin/firefox", Rule: "tunnel (default)", Action: "tunnel", Flows: 120,
				BytesUp: 3 << 20, BytesDown: 250 << 20, Spend: apitest.Tokens("0.4"), Tickets: 80},
			{UID: 1000, HasUID: true, Path: "/usr/bin/bank", Rule: `direct (rule 1 "bank")`, Action: "direct", Flows: 4,
				BytesUp: 2048, BytesDown: 10240, Spend: api.AmountOf(0)},
			{Path: "(unknown)", Rule: `block (rule 2 "torrent")`, Action: "block", Blocked: 7, Spend: api.AmountOf(0)},
		},
		Issued: apitest.Tokens("0.5"), Unattributed: apitest.Tokens("0.1"), Currency: apitest.Currency,
	}
	want := `period  2026-03-01 to 2026-03-31

APP               UID   RULE                      FLOWS           UP       DOWN       SPEND
/usr/bin/firefox  1000  tunnel (default)          120             3.0 MiB  250.0 MiB  0.4 PEX
/usr/bin/bank     1000  direct (rule 1 "bank")    4               2.0 KiB  10.0 KiB   0 PEX
(unknown)         ?     block (rule 2 "torrent")  0 (+7 blocked)  0 B      0 B        0 PEX

prepaid  0.1 PEX for circuits no application has used yet
issued   0.5 PEX this period
`
	if got := render(func(w io.Writer) { fixed.apps(w, a) }); got != want {
		t.Errorf("apps:\n%s\nwant:\n%s", got, want)
	}
}
