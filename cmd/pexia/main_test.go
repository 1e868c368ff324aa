package main

import (
	"bytes"
	"context"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
)

// runArgs runs the command line with env as the environment.
func runArgs(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code = run(ctx, args, &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestArguments(t *testing.T) {
	none := t.TempDir() + "/none.sock"
	for _, tc := range []struct {
		name       string
		env        map[string]string
		args       []string
		code       int
		out, err   string // substrings of stdout and stderr
		exactError string // the whole of stderr
	}{
		{name: "no command", code: 1, err: "commands:\n  connect"},
		{name: "no command message", code: 1, err: "pexia: no command given\n"},
		{name: "help", args: []string{"help"}, out: "usage: pexia [-socket PATH] COMMAND [-json] [ARGS]"},
		{name: "-h", args: []string{"-h"}, out: "  settings    show all settings, or change some\n"},
		{name: "--help", args: []string{"--help"}, out: "  fetch       fetch a URL through"},
		{name: "help command", args: []string{"help", "settings"}, out: "exclude_cidrs=10.0.0.0/8"},
		{name: "help unknown", args: []string{"help", "nope"}, code: 1, exactError: "pexia: unknown command \"nope\"; run 'pexia help'\n"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 1, exactError: "pexia: unknown command \"frobnicate\"; run 'pexia help'\n"},
		{name: "bad global flag", args: []string{"-sock", "x", "status"}, code: 1, exactError: "pexia: flag provided but not defined: -sock; run 'pexia help'\n"},
		{name: "global flag without value", args: []string{"-socket"}, code: 1, err: "flag needs an argument: -socket"},
		{name: "command -h", args: []string{"connect", "-h"}, out: "usage: pexia connect [-json] [-hops N] [-country CC] [-wait [-timeout D]]"},
		{name: "command -h options", args: []string{"connect", "--help"}, out: "  -hops int\n"},
		{name: "hops out of range", args: []string{"connect", "-hops", "9"}, code: 1, exactError: "pexia: invalid connect request: hops: 9 out of range 1-5\n"},
		{name: "hops not a number", args: []string{"connect", "-hops", "x"}, code: 1, exactError: "pexia: connect: invalid value \"x\" for flag -hops: parse error; run 'pexia connect -h'\n"},
		{name: "bad country", args: []string{"connect", "--country", "deu"}, code: 1, err: `"DEU" is not a two-letter upper-case country code`},
		{name: "unknown flag", args: []string{"status", "-verbose"}, code: 1, exactError: "pexia: status: flag provided but not defined: -verbose; run 'pexia status -h'\n"},
		{name: "extra argument", args: []string{"status", "now"}, code: 1, exactError: "pexia: status: unexpected argument \"now\"; run 'pexia status -h'\n"},
		{name: "budget set without amount", args: []string{"budget", "set"}, code: 1, exactError: "pexia: usage: pexia budget [set AMOUNT | limit stop|throttle KBPS|direct]\n"},
		{name: "budget set negative", args: []string{"budget", "set", "-5"}, code: 1, exactError: "pexia: budget set: bad amount \"-5\": an amount cannot be negative\n"},
		{name: "budget set negative fraction", args: []string{"budget", "set", "-0.5"}, code: 1, exactError: "pexia: budget set: bad amount \"-0.5\": an amount cannot be negative\n"},
		{name: "budget set negative after --", args: []string{"budget", "set", "--", "-5"}, code: 1, exactError: "pexia: budget set: bad amount \"-5\": an amount cannot be negative\n"},
		{name: "events negative count", args: []string{"events", "-count", "-1"}, code: 1, exactError: "pexia: events: -count -1 is negative\n"},
		{name: "fetch usage", args: []string{"fetch"}, code: 1, err: "usage: pexia fetch -network FILE"},
		{name: "no daemon", args: []string{"-socket", none, "status"}, code: 1, exactError: "pexia: pexiad is not running (no socket at " + none + ")\n"},
		{name: "socket after command", args: []string{"wallet", "-socket", none}, code: 1, err: "(no socket at " + none + ")"},
		{name: "socket from environment", env: map[string]string{"PEXIA_SOCKET": none}, args: []string{"circuit", "--json"}, code: 1, err: "(no socket at " + none + ")"},
		{name: "flag overrides environment", env: map[string]string{"PEXIA_SOCKET": "/elsewhere.sock"}, args: []string{"-socket", none, "settings"}, code: 1, err: "(no socket at " + none + ")"},
		{name: "default socket", args: []string{"help"}, out: "-socket defaults to $PEXIA_SOCKET, else /run/pexia/pexiad.sock."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runArgs(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, errs)
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("stdout %q lacks %q", out, tc.out)
			}
			if !strings.Contains(errs, tc.err) {
				t.Errorf("stderr %q lacks %q", errs, tc.err)
			}
			if tc.exactError != "" && errs != tc.exactError {
				t.Errorf("stderr = %q, want %q", errs, tc.exactError)
			}
		})
	}
}

// TestFetchRefusesPlainKey: fetch refuses a hex key on the command line of
// a chain that is not a development chain, before it contacts the chain.
func TestFetchRefusesPlainKey(t *testing.T) {
	a := func(b byte) common.Address { return common.BytesToAddress([]byte{b}) }
	n := &contracts.Network{Name: "test", ChainID: big.NewInt(1), RPC: "http://127.0.0.1:1",
		Addresses: contracts.Addresses{Lottery: a(1), Directory: a(2), Registry: a(3), Curator: a(4), Token: a(5)}}
	path := filepath.Join(t.TempDir(), "network.json")
	if err := n.Save(path); err != nil {
		t.Fatal(err)
	}
	hexKey := strings.Repeat("ab", 32)
	code, _, errs := runArgs(t, nil, "fetch", "-network", path, "-key", hexKey, "http://example.com/")
	if code == 0 || !strings.Contains(errs, "plain-text private key refused") || strings.Contains(errs, hexKey) {
		t.Errorf("fetch with a hex key on chain 1: exit %d, stderr %q", code, errs)
	}
}
