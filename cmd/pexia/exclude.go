package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"

	"github.com/pexia-network/pexia/api"
)

func init() {
	commandHelp["exclude"] = "Run a program, or move a running one, around the tunnel: its packets leave\n" +
		"through the machine's own network, past the kill switch, as if pexia were not\n" +
		"there. pexiad keeps excluded programs in a cgroup v2 of their own\n" +
		"(pexia-exclude, under the cgroup v2 root; pexiad -exclude-cgroup) and marks\n" +
		"their packets in the kernel; programs they start are excluded too.\n\n" +
		"  pexia exclude -- COMMAND [ARGS...]  run COMMAND excluded, as you, with your environment\n" +
		"  pexia exclude -pid N                move process N (and its later children) out of the tunnel\n" +
		"  pexia exclude -remove -pid N        put process N back into the tunnel\n\n" +
		"Names an excluded program looks up still go to the tunnel's resolver (the\n" +
		"system resolver points there while connected); only the connections it\n" +
		"then makes go around the tunnel.\n" +
		"Group members may exclude only their own processes; root and pexiad's own\n" +
		"user any. Linux only for now.\n"
}

func runExclude(ctx context.Context, c *cli, args []string) error {
	var command []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, command = args[:i], args[i+1:]
		if len(command) == 0 {
			return errors.New("exclude: no command after --; run 'pexia exclude -h'")
		}
	}
	fs := c.flags("exclude")
	pid := fs.Int("pid", 0, "the process to move instead of running a command")
	remove := fs.Bool("remove", false, "with -pid: put the process back into the tunnel")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("exclude", pos); err != nil {
		return err
	}
	switch {
	case command != nil && (*pid != 0 || *remove):
		return errors.New("exclude: -pid and -remove do not go with a command")
	case command == nil && *pid <= 0:
		return errors.New("exclude: give -- COMMAND or -pid N; run 'pexia exclude -h'")
	case *pid < 0:
		return fmt.Errorf("exclude: invalid process id %d", *pid)
	}
	var path string
	if command != nil {
		// Find the program before leaving the tunnel, so a typo costs
		// nothing.
		if path, err = exec.LookPath(command[0]); err != nil {
			return fmt.Errorf("exclude: %w", err)
		}
	}
	cl := c.client()
	defer cl.Close()
	// PID 0: the daemon moves this very process, as the kernel names it
	// on the socket; exec keeps the process, and with it the cgroup.
	res, err := cl.Exclude(ctx, api.ExcludeRequest{PID: int32(*pid), Remove: *remove})
	if err != nil {
		return err
	}
	if command == nil {
		if c.json {
			return c.print(res, nil)
		}
		state := "excluded from the tunnel"
		if !res.Excluded {
			state = "back in the tunnel"
		}
		fmt.Fprintf(c.stdout, "process %d %s (cgroup %s)\n", res.PID, state, res.Cgroup)
		return nil
	}
	return execProgram(path, command, os.Environ())
}
