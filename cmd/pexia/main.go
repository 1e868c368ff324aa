// Command pexia is the user's command line. Most commands talk to the
// pexiad daemon over its local API (package api) and never need root:
//
//	pexia connect -hops 3 -country DE -wait
//	pexia status
//	pexia budget set 10
//	pexia settings kill_switch=on exclude_cidrs=192.168.0.0/16
//
// Every daemon command prints readable text, or with -json (or --json) the
// API's JSON object as is, for scripts. The socket is -socket, else
// $PEXIA_SOCKET, else api.DefaultSocketPath.
//
// fetch works without the daemon: it builds a circuit from the on-chain
// directory itself and fetches one URL through it.
//
//	pexia fetch -network devnet/network.json -hops 3 http://example/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pexia-network/pexia/api"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name, args, summary string
	// daemon commands get a client; run receives the arguments after the
	// command's name.
	run func(ctx context.Context, c *cli, args []string) error
}

// commands lists the subcommands in the order usage shows them.
func commands() []command {
	return []command{
		{"connect", "[-hops N] [-country CC] [-wait [-timeout D]]", "bring the tunnel up", runConnect},
		{"disconnect", "", "take the tunnel down", runDisconnect},
		{"status", "", "show the tunnel's state and traffic", runStatus},
		{"circuit", "", "show the hops of the circuit in use", runCircuit},
		{"budget", "[set AMOUNT]", "show this month's spend, or set the monthly budget in whole tokens", runBudget},
		{"wallet", "", "show the funder's balances and ticket signers", runWallet},
		{"settings", "[KEY=VALUE ...]", "show all settings, or change some", runSettings},
		{"events", "[-count N]", "follow the daemon's live events", runEvents},
		{"rules", "[list | add [-at N] [-name L] ACTION KEY=VAL... | remove N | move N TO | default ACTION | test DST [KEY=VAL...]]", "show, change or test the split-tunnel rules", runRules},
		{"profiles", "[list | add NAME hops=N [KEY=VAL...] | remove NAME]", "show or change the circuit profiles rules use", runProfiles},
		{"apps", "", "show each application's flows, bytes and spend this month", runApps},
		{"exclude", "[-- COMMAND [ARGS...] | [-remove] -pid N]", "run a program, or move a running one, around the tunnel", runExclude},
		{"fetch", "-network FILE [-hops N] URL", "fetch a URL through a circuit built without the daemon", nil},
	}
}

// cli is what a command runs with: output streams and the global flags.
type cli struct {
	stdout, stderr io.Writer
	socket         string
	json           bool
	render         renderer
}

func (c *cli) client() *api.Client { return api.NewClient(c.socket) }

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: pexia [-socket PATH] COMMAND [-json] [ARGS]\n\ncommands:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-10s  %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "\n-socket defaults to $PEXIA_SOCKET, else %s.\nRun 'pexia COMMAND -h' for a command's options.\n", api.DefaultSocketPath)
}

// run executes the command line and returns the exit code: 0, or 1 after
// printing "pexia: message" to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	err := dispatch(ctx, args, stdout, stderr, getenv)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "pexia:", err)
	return 1
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	socket := getenv("PEXIA_SOCKET")
	if socket == "" {
		socket = api.DefaultSocketPath
	}
	fs := flag.NewFlagSet("pexia", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&socket, "socket", socket, "pexiad's socket")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return err
		}
		return fmt.Errorf("%w; run 'pexia help'", err)
	}
	if fs.NArg() == 0 {
		usage(stderr)
		return errors.New("no command given")
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	if name == "help" {
		return help(stdout, rest)
	}
	if name == "fetch" {
		return runFetch(ctx, rest)
	}
	for _, cmd := range commands() {
		if cmd.name == name {
			c := &cli{stdout: stdout, stderr: stderr, socket: socket, render: newRenderer()}
			return cmd.run(ctx, c, rest)
		}
	}
	return fmt.Errorf("unknown command %q; run 'pexia help'", name)
}

func help(w io.Writer, args []string) error {
	if len(args) == 0 {
		usage(w)
		return nil
	}
	for _, cmd := range commands() {
		if cmd.name == args[0] {
			fmt.Fprintf(w, "usage: pexia %s %s\n\n%s.\n", cmd.name, strings.TrimSpace("[-json] "+cmd.args), capitalize(cmd.summary))
			if extra := commandHelp[cmd.name]; extra != "" {
				fmt.Fprintf(w, "\n%s", extra)
			}
			return nil
		}
	}
	return fmt.Errorf("unknown command %q; run 'pexia help'", args[0])
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// flags returns a command's flag set with the options every daemon
// command has: -json and -socket (also accepted after the command).
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&c.json, "json", false, "print the API's JSON object")
	fs.StringVar(&c.socket, "socket", c.socket, "pexiad's socket")
	return fs
}
