package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/daemon"
)

// The admin's configuration file.
//
// What group members may not choose is set here or by flags, both only
// the admin's: the networks members choose among (each a network file,
// which names the chain and the contracts the funder pays into, and
// optionally a JSON-RPC endpoint), the default one, and the highest
// monthly budget a member may set. The file must belong to root (or to
// pexiad's own user) and be writable by nobody else; pexiad refuses to
// start otherwise. Unknown keys are errors that name the key.
//
//	network = "mainnet"          # default network
//	max_monthly_budget = "25"    # whole tokens; "" or "0": no limit
//
//	[networks.mainnet]
//	file = "/etc/pexia/mainnet.json"
//	rpc_url = "https://rpc.example.org/"   # optional
//
//	[networks.devnet]
//	file = "/etc/pexia/devnet.json"

// defaultConfigPath is read when -config is not given, if it exists.
const defaultConfigPath = "/etc/pexia/pexiad.toml"

// adminConfig is pexiad.toml.
type adminConfig struct {
	Network          string                   `toml:"network"`
	MaxMonthlyBudget string                   `toml:"max_monthly_budget"`
	Networks         map[string]networkConfig `toml:"networks"`
}

type networkConfig struct {
	File   string `toml:"file"`
	RPCURL string `toml:"rpc_url"`
}

// loadAdminConfig reads the configuration file at path; explicit says
// the path was given (-config), so a missing file is an error. A missing
// default file gives the zero config.
func loadAdminConfig(path string, explicit bool) (adminConfig, error) {
	var c adminConfig
	if path == "" {
		return c, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && !explicit {
		return c, nil
	}
	if err := daemon.CheckAdminFile(path); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&c)
	if err != nil {
		return c, fmt.Errorf("configuration %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return c, fmt.Errorf("configuration %s: unknown key %s", path, strings.Join(keys, ", "))
	}
	return c, nil
}

// apply puts the configuration into cfg; network is the -network flag's
// file, which becomes the default network when given, and maxBudget the
// -max-monthly-budget flag, which overrides the file's.
func (c adminConfig) apply(cfg *daemon.Config, network, maxBudget string) error {
	cfg.Networks = make(map[string]daemon.NetworkChoice, len(c.Networks))
	for name, n := range c.Networks {
		cfg.Networks[name] = daemon.NetworkChoice{File: n.File, RPC: n.RPCURL}
	}
	cfg.DefaultNetwork = c.Network
	if network != "" {
		cfg.NetworkFile = network
		cfg.DefaultNetwork = daemon.DefaultNetworkName
	}
	if maxBudget == "" {
		maxBudget = c.MaxMonthlyBudget
	}
	cfg.MaxMonthlyBudget = nil
	if maxBudget != "" {
		v, err := contracts.ParseAmount(maxBudget)
		if err != nil || v.Sign() < 0 {
			return fmt.Errorf("max_monthly_budget %q: want an amount in whole tokens", maxBudget)
		}
		if v.Sign() > 0 {
			cfg.MaxMonthlyBudget = new(big.Int).Set(v)
		}
	}
	return nil
}
