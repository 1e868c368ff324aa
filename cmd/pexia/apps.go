package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/pexia-network/pexia/api"
)

func init() {
	commandHelp["apps"] = "Shows the applications seen this budget period: the rule and action that decided\n" +
		"their latest flow, flows opened (and refused), bytes each way and spend.\n\n" +
		"An application is its owner's uid and executable. Its spend is its share of the\n" +
		"expected value of the tickets of the circuits it used, by the bytes it carried in\n" +
		"each ticket's window; direct and blocked flows cost nothing. Group members see\n" +
		"only their own applications; root and pexiad's own user see all, and the spend\n" +
		"of circuits no application has used yet.\n"
}

func runApps(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("apps"), args)
	if err != nil {
		return err
	}
	if err := noArgs("apps", pos); err != nil {
		return err
	}
	cl := c.client()
	defer cl.Close()
	a, err := cl.Apps(ctx)
	if err != nil {
		return err
	}
	return c.print(a, func(w io.Writer) { c.render.apps(w, a) })
}

// apps renders the applications as a table, followed by the period's
// issued total.
func (r renderer) apps(w io.Writer, a api.Apps) {
	fmt.Fprintf(w, "period\t%s to %s\n", a.PeriodStart.In(r.loc).Format("2006-01-02"), a.PeriodEnd.Add(-1).In(r.loc).Format("2006-01-02"))
	if len(a.Apps) == 0 {
		fmt.Fprintf(w, "no application seen this period\n")
	} else {
		fmt.Fprintf(w, "\nAPP\tUID\tRULE\tFLOWS\tUP\tDOWN\tSPEND\n")
		for _, app := range a.Apps {
			uid := "?"
			if app.HasUID {
				uid = strconv.FormatUint(uint64(app.UID), 10)
			}
			flows := strconv.FormatUint(app.Flows, 10)
			if app.Blocked > 0 {
				flows += fmt.Sprintf(" (+%d blocked)", app.Blocked)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", app.Path, uid, orDash(app.Rule), flows,
				formatBytes(app.BytesUp), formatBytes(app.BytesDown), tokens(app.Spend, a.Currency))
		}
	}
	if !a.Unattributed.IsZero() {
		fmt.Fprintf(w, "\nprepaid\t%s for circuits no application has used yet\n", tokens(a.Unattributed, a.Currency))
	}
	fmt.Fprintf(w, "issued\t%s this period\n", tokens(a.Issued, a.Currency))
}
