package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pexia-network/pexia/api"
)

// settingKeys are the keys 'pexia settings KEY=VALUE' takes: the JSON
// names of api.Settings' fields, in their order.
var settingKeys = []string{
	"hops", "exit_countries", "price_cap_per_gb", "kill_switch", "lockdown", "allow_lan",
	"lan_cidrs", "exclude_cidrs", "dns_mode", "excluded_dns", "padding_kbps", "monthly_budget", "network", "network_file", "rpc_url",
	"fiat_rate", "time_zone", "at_limit", "floor_kbps", "allow_direct_at_limit",
}

// setSetting applies one KEY=VALUE to s. It checks the value's syntax;
// ranges and combinations are left to api.Settings.Validate.
func setSetting(s *api.Settings, kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("%q is not KEY=VALUE", kv)
	}
	key, val = strings.TrimSpace(key), strings.TrimSpace(val)
	var err error
	switch key {
	case "hops":
		s.Hops, err = strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("hops: %q is not a whole number", val)
		}
	case "exit_countries":
		s.ExitCountries = list(val, strings.ToUpper, "any")
	case "price_cap_per_gb":
		s.PriceCapPerGB, err = amountValue(val, s.Currency)
	case "kill_switch":
		s.KillSwitch, err = boolValue(val)
	case "lockdown":
		s.Lockdown, err = boolValue(val)
	case "allow_lan":
		s.AllowLAN, err = boolValue(val)
	case "lan_cidrs":
		s.LANCIDRs = list(val, nil, "none")
	case "exclude_cidrs":
		s.ExcludeCIDRs = list(val, nil, "none")
	case "dns_mode":
		s.DNSMode = api.DNSMode(strings.ToLower(val))
	case "excluded_dns":
		s.ExcludedDNS = api.DNSMode(strings.ToLower(val))
	case "padding_kbps":
		s.PaddingKbps, err = strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("padding_kbps: %q is not a whole number", val)
		}
	case "monthly_budget":
		s.MonthlyBudget, err = api.ParseAmount(val, currencyOf(s.Currency).Decimals)
	case "network":
		if strings.EqualFold(val, "default") && !slices.Contains(s.Networks, val) {
			val = ""
		}
		s.Network = val
	case "network_file":
		if val != "" {
			if val, err = filepath.Abs(val); err != nil {
				return fmt.Errorf("network_file: %w", err)
			}
		}
		s.NetworkFile = val
	case "rpc_url":
		s.RPCURL = val
	case "fiat_rate":
		if strings.EqualFold(val, "none") {
			val = ""
		}
		s.FiatRate = val
	case "time_zone":
		if strings.EqualFold(val, "local") {
			val = ""
		}
		s.TimeZone = val
	case "at_limit":
		s.AtLimit = api.LimitAction(strings.ToLower(val))
	case "floor_kbps":
		s.FloorKbps, err = strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("floor_kbps: %q is not a whole number", val)
		}
	case "allow_direct_at_limit":
		s.AllowDirectAtLimit, err = boolValue(val)
	default:
		return fmt.Errorf("unknown key %q; keys: %s", key, strings.Join(settingKeys, ", "))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// list splits a comma-separated value; empty or clear ("any", "none")
// gives an empty list.
func list(val string, norm func(string) string, clear string) []string {
	out := []string{}
	if val == "" || strings.EqualFold(val, clear) {
		return out
	}
	for _, f := range strings.Split(val, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if norm != nil {
			f = norm(f)
		}
		out = append(out, f)
	}
	return out
}

func boolValue(val string) (bool, error) {
	switch strings.ToLower(val) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not on or off", val)
}

// amountValue parses a cap in whole tokens; "none" (no cap) is 0.
func amountValue(val string, cur api.Currency) (api.Amount, error) {
	if strings.EqualFold(val, "none") {
		return api.Amount{}, nil
	}
	return api.ParseAmount(val, currencyOf(cur).Decimals)
}

// currencyOf fills in a currency the daemon left empty: 18 decimals, as
// every EVM chain's native coin has.
func currencyOf(c api.Currency) api.Currency {
	if c.Symbol == "" && c.Decimals == 0 {
		c.Symbol, c.Decimals = "tokens", 18
	}
	return c
}
