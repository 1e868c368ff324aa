package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pexia-network/pexia/api"
)

// commandHelp is the extra text of 'pexia help COMMAND'.
var commandHelp = map[string]string{
	"connect": "Without -wait it returns as soon as pexiad starts connecting; with -wait it\n" +
		"follows the daemon's events until the tunnel is up, fails, or -timeout passes.\n",
	"budget": "AMOUNT is in whole tokens, e.g. 'pexia budget set 12.5'; 0 stops all spending.\n" +
		"'pexia budget limit' chooses what happens once the month's budget is spent:\n" +
		"  stop          hold the traffic (the kill switch keeps blocking) until the\n" +
		"                budget is raised or the month ends; the default\n" +
		"  throttle KBPS go on through the tunnel at KBPS kilobits per second, paid\n" +
		"                past the budget at that rate\n" +
		"  direct        send traffic outside the tunnel; refused while the kill switch\n" +
		"                is on, unless the admin set allow_direct_at_limit\n",
	"settings": "KEY is a field of the settings as 'pexia settings' shows it:\n" +
		"  hops=3                     circuit length, 1-5\n" +
		"  exit_countries=DE,NL       exit countries; 'any' or empty for all\n" +
		"  price_cap_per_gb=0.05      highest node price in whole tokens; 'none' for no cap\n" +
		"  kill_switch=on             block traffic outside the tunnel (on/off)\n" +
		"  lockdown=on                keep blocking while disconnected (needs kill_switch)\n" +
		"  allow_lan=on               let the networks this machine is on (and lan_cidrs)\n" +
		"                             bypass the kill switch; off by default. Other private\n" +
		"                             addresses, SSDP and DNS stay blocked; mDNS passes\n" +
		"  lan_cidrs=10.20.0.0/16     more prefixes allow_lan treats as local; 'none' to clear\n" +
		"  exclude_cidrs=10.0.0.0/8   prefixes routed outside the tunnel; 'none' to clear\n" +
		"  dns_mode=tunnel            'tunnel' (resolve at the exit) or 'system'\n" +
		"  excluded_dns=tunnel        admin only: where programs under 'pexia exclude' resolve:\n" +
		"                             'tunnel' (at the exit) or 'system' (the system's resolvers)\n" +
		"  monthly_budget=10          in whole tokens; members up to the admin's limit\n" +
		"  network=NAME               one of the networks the admin allows; 'default' for the admin's default\n" +
		"  network_file=PATH          admin only: a network file used instead of network\n" +
		"  rpc_url=URL                admin only: chain JSON-RPC endpoint instead of the network's\n" +
		"  fiat_rate='2500 USD'       admin only: fixed price of one token for fiat estimates; 'none' for none\n" +
		"  time_zone=Europe/Berlin    zone whose calendar months are the budget periods; 'local' for the system's\n" +
		"  at_limit=stop              once the budget is spent: stop, throttle (at floor_kbps) or direct\n" +
		"  floor_kbps=500             the rate at_limit=throttle keeps, paid past the budget\n" +
		"  allow_direct_at_limit=on   admin only: at_limit=direct may bypass the kill switch\n" +
		"All changes are checked together and applied at once. The networks and the\n" +
		"budget limit are set by the admin in pexiad's configuration (/etc/pexia/pexiad.toml);\n" +
		"only root and pexiad's own user may change the admin-only keys.\n",
	"events": "Prints one line per event until interrupted; with -json, one JSON object per line.\n",
}

// parse parses a command's flags, which may come before, between or after
// its positional arguments, and returns the positional ones. -h prints the
// command's help.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if len(args) > 0 && negativeNumber(args[0]) {
			// A value such as "-5" is an argument, not an unknown flag;
			// the command judges it.
			pos, args = append(pos, args[0]), args[1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help(c.stdout, []string{fs.Name()})
				fmt.Fprintln(c.stdout, "\noptions:")
				fs.SetOutput(c.stdout)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w; run 'pexia %s -h'", fs.Name(), err, fs.Name())
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// negativeNumber reports whether s reads as a negative decimal number,
// such as -5 or -0.25.
func negativeNumber(s string) bool {
	rest, ok := strings.CutPrefix(s, "-")
	if !ok || rest == "" {
		return false
	}
	digit := false
	for i, dots := 0, 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c == '.' && dots == 0:
			dots++
		default:
			return false
		}
	}
	return digit
}

// noArgs fails if a command that takes none got positional arguments.
func noArgs(name string, pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("%s: unexpected argument %q; run 'pexia %s -h'", name, pos[0], name)
	}
	return nil
}

// print writes v as indented JSON with -json, else as text through an
// aligning writer (cells separated by tabs).
func (c *cli) print(v any, text func(w io.Writer)) error {
	if c.json {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(append(b, '\n'))
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

func runConnect(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("connect")
	hops := fs.Int("hops", 0, "circuit length, 1-5 (default: the hops setting)")
	country := fs.String("country", "", "exit country, two letters such as DE (default: the exit_countries setting)")
	wait := fs.Bool("wait", false, "wait until the tunnel is up")
	timeout := fs.Duration("timeout", time.Minute, "with -wait, how long to wait")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("connect", pos); err != nil {
		return err
	}
	req := api.ConnectRequest{Hops: *hops, Country: strings.ToUpper(*country)}
	if err := req.Validate(); err != nil {
		return err
	}
	cl := c.client()
	defer cl.Close()
	var st api.Status
	if *wait {
		st, err = connectWait(ctx, cl, req, *timeout)
	} else {
		st, err = cl.Connect(ctx, req)
	}
	if err != nil {
		return err
	}
	return c.print(st, func(w io.Writer) { c.render.status(w, st) })
}

// connectWait connects and follows the event stream until the tunnel is
// up, fails, is disconnected, or timeout passes.
func connectWait(parent context.Context, cl *api.Client, req api.ConnectRequest, timeout time.Duration) (api.Status, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	// Subscribe before connecting so no state change is missed.
	events, err := cl.Events(ctx)
	if err != nil {
		return api.Status{}, err
	}
	if _, ok := <-events; !ok {
		return api.Status{}, errors.New("pexiad closed the event stream")
	}
	st, err := cl.Connect(ctx, req)
	if err != nil {
		return st, err
	}
	for {
		switch st.State {
		case api.StateConnected:
			return st, nil
		case api.StateError:
			return st, fmt.Errorf("connect failed: %s", st.Error)
		}
		ev, ok := <-events
		if !ok {
			switch {
			case parent.Err() != nil:
				return st, fmt.Errorf("interrupted while %s", st.State)
			case ctx.Err() != nil:
				return st, fmt.Errorf("not connected after %v (still %s)", timeout, st.State)
			default:
				return st, fmt.Errorf("pexiad closed the event stream while %s", st.State)
			}
		}
		if ev.Type != api.EventState || ev.State == nil {
			continue
		}
		st = *ev.State
		if st.State == api.StateDisconnected {
			return st, errors.New("connect cancelled: the tunnel was disconnected")
		}
	}
}

func runDisconnect(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("disconnect"), args)
	if err != nil {
		return err
	}
	if err := noArgs("disconnect", pos); err != nil {
		return err
	}
	cl := c.client()
	defer cl.Close()
	st, err := cl.Disconnect(ctx)
	if err != nil {
		return err
	}
	return c.print(st, func(w io.Writer) { c.render.status(w, st) })
}

func runStatus(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("status"), args)
	if err != nil {
		return err
	}
	if err := noArgs("status", pos); err != nil {
		return err
	}
	cl := c.client()
	defer cl.Close()
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	return c.print(st, func(w io.Writer) { c.render.status(w, st) })
}

func runCircuit(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("circuit"), args)
	if err != nil {
		return err
	}
	if err := noArgs("circuit", pos); err != nil {
		return err
	}
	cl := c.client()
	defer cl.Close()
	ci, err := cl.Circuit(ctx)
	if err != nil {
		return err
	}
	return c.print(ci, func(w io.Writer) { c.render.circuit(w, ci) })
}

func runBudget(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("budget"), args)
	if err != nil {
		return err
	}
	cl := c.client()
	defer cl.Close()
	var b api.Budget
	switch {
	case len(pos) == 0:
		b, err = cl.Budget(ctx)
	case len(pos) == 2 && pos[0] == "set":
		if strings.HasPrefix(strings.TrimSpace(pos[1]), "-") {
			// Refused before asking the daemon anything.
			_, perr := api.ParseAmount(pos[1], 0)
			return fmt.Errorf("budget set: %w", perr)
		}
		// The token's decimals come from the daemon.
		if b, err = cl.Budget(ctx); err != nil {
			return err
		}
		amt, perr := api.ParseAmount(pos[1], currencyOf(b.Currency).Decimals)
		if perr != nil {
			return fmt.Errorf("budget set: %w", perr)
		}
		b, err = cl.SetBudget(ctx, amt)
	case len(pos) >= 2 && pos[0] == "limit":
		if b, err = setLimit(ctx, cl, pos[1:]); err != nil {
			return fmt.Errorf("budget limit: %w", err)
		}
	default:
		return errors.New("usage: pexia budget [set AMOUNT | limit stop|throttle KBPS|direct]")
	}
	if err != nil {
		return err
	}
	return c.print(b, func(w io.Writer) { c.render.budget(w, b) })
}

// setLimit sets what happens at the budget's limit from 'stop',
// 'throttle KBPS' or 'direct', and returns the budget after it.
func setLimit(ctx context.Context, cl *api.Client, args []string) (api.Budget, error) {
	set, err := cl.Settings(ctx)
	if err != nil {
		return api.Budget{}, err
	}
	set.AtLimit = api.LimitAction(strings.ToLower(args[0]))
	switch {
	case set.AtLimit == api.LimitThrottle && len(args) == 2:
		if set.FloorKbps, err = strconv.Atoi(args[1]); err != nil {
			return api.Budget{}, fmt.Errorf("throttle: %q is not a whole number of kilobits per second", args[1])
		}
	case len(args) != 1:
		return api.Budget{}, errors.New("usage: pexia budget limit stop|throttle KBPS|direct")
	}
	if _, err := cl.SetSettings(ctx, set); err != nil {
		return api.Budget{}, err
	}
	return cl.Budget(ctx)
}

func runWallet(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("wallet"), args)
	if err != nil {
		return err
	}
	if err := noArgs("wallet", pos); err != nil {
		return err
	}
	cl := c.client()
	defer cl.Close()
	wl, err := cl.Wallet(ctx)
	if err != nil {
		return err
	}
	return c.print(wl, func(w io.Writer) { c.render.wallet(w, wl) })
}

func runSettings(ctx context.Context, c *cli, args []string) error {
	pos, err := c.parse(c.flags("settings"), args)
	if err != nil {
		return err
	}
	cl := c.client()
	defer cl.Close()
	s, err := cl.Settings(ctx)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		for _, kv := range pos {
			if err := setSetting(&s, kv); err != nil {
				return fmt.Errorf("settings: %w", err)
			}
		}
		if err := s.Validate(); err != nil {
			return err
		}
		if s, err = cl.SetSettings(ctx, s); err != nil {
			return err
		}
	}
	return c.print(s, func(w io.Writer) { c.render.settings(w, s) })
}

func runEvents(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("events")
	count := fs.Int("count", 0, "stop after N events (0: follow until interrupted)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("events", pos); err != nil {
		return err
	}
	if *count < 0 {
		return fmt.Errorf("events: -count %d is negative", *count)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cl := c.client()
	defer cl.Close()
	events, err := cl.Events(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(c.stdout)
	n := 0
	for ev := range events {
		if c.json {
			if err := enc.Encode(ev); err != nil {
				return err
			}
		} else {
			c.render.event(c.stdout, ev)
		}
		if n++; *count > 0 && n >= *count {
			return nil
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted
	}
	return errors.New("pexiad closed the event stream")
}
