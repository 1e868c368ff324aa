package world

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pexia-network/pexia/internal/netlab"
)

// Unit is a systemd service file's commands, each split into its
// arguments, with the install paths rewritten for a world: a test runs
// them exactly as the unit does, the way systemd would supervise pexiad.
type Unit struct {
	StartPre, Start, StopPost [][]string
	// Restart and RestartSec as the unit sets them.
	Restart string
	//lint:ignore ST1011 named after the systemd key whose value it holds
	RestartSec time.Duration
}

// LoadUnit reads the systemd unit at path. Every argument is rewritten:
// /usr/bin/NAME becomes NAME in Options.Bin, and each key of paths found in
// an argument (such as "/var/lib/pexia") is replaced by its value.
func (w *World) LoadUnit(path string, paths map[string]string) (*Unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := &Unit{}
	sc := bufio.NewScanner(f)
	section := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = line
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || section != "[Service]" {
			continue
		}
		argv := func() ([]string, error) {
			// systemd's prefixes: "-" ignores failure, the others change
			// privileges; none of them changes the command.
			val = strings.TrimLeft(val, "-@:+!")
			if strings.ContainsAny(val, `"'$%\;`) {
				return nil, fmt.Errorf("%s: %s=%s: quoting, variables and specifiers are not supported", path, key, val)
			}
			args := strings.Fields(val)
			for i, a := range args {
				for from, to := range paths {
					a = strings.ReplaceAll(a, from, to)
				}
				if name, ok := strings.CutPrefix(a, "/usr/bin/"); ok && i == 0 {
					a = filepath.Join(w.opts.Bin, name)
				}
				args[i] = a
			}
			return args, nil
		}
		var dst *[][]string
		switch key {
		case "ExecStartPre":
			dst = &u.StartPre
		case "ExecStart":
			dst = &u.Start
		case "ExecStopPost":
			dst = &u.StopPost
		case "Restart":
			u.Restart = val
		case "RestartSec":
			d, err := time.ParseDuration(val)
			if err != nil {
				if d, err = time.ParseDuration(val + "s"); err != nil {
					return nil, fmt.Errorf("%s: RestartSec=%s: %v", path, val, err)
				}
			}
			u.RestartSec = d
		}
		if dst != nil {
			a, err := argv()
			if err != nil {
				return nil, err
			}
			*dst = append(*dst, a)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(u.Start) == 0 {
		return nil, fmt.Errorf("%s: no ExecStart", path)
	}
	return u, nil
}

// RunCommand runs a command of a unit (its arguments as LoadUnit gave
// them) in host h and returns its combined output.
func (w *World) RunCommand(ctx context.Context, h *netlab.Host, argv []string) ([]byte, error) {
	cmd := h.Command(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// StartUnitDaemon starts pexiad in the client host with the arguments of
// a unit's ExecStart (argv, as LoadUnit gave them), followed by what the
// world needs instead of the machine's configuration: its API socket in
// stateDir, the world's network file and a devnet funder key. Go's flag
// package lets a later flag override an earlier one, so the unit's own
// flags otherwise apply as written.
func (w *World) StartUnitDaemon(ctx context.Context, stateDir string, argv []string) (*Daemon, error) {
	if filepath.Base(argv[0]) != "pexiad" {
		return nil, fmt.Errorf("ExecStart runs %s, not pexiad", argv[0])
	}
	sock := filepath.Join(stateDir, "pexiad.sock")
	args := append(append([]string{}, argv[1:]...), "-socket", sock, "-network", w.NetworkFile,
		"-key", "devnet:client0", "-group", "", "-face", "0.001")
	return w.startDaemon(ctx, stateDir, sock, args)
}
