package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pexia-network/pexia/contracts"
	"github.com/pexia-network/pexia/hop"
	"github.com/pexia-network/pexia/internal/payhop"
	"github.com/pexia-network/pexia/wallet/chain"
	"github.com/pexia-network/pexia/wallet/dir"
	"github.com/pexia-network/pexia/wallet/keys"
)

const fetchUsage = "usage: pexia fetch -network FILE [-hops N] [-keystore DIR [-account A] -passphrase-file FILE | -key DEVKEY] [-face AMOUNT] [-accounts FILE] URL"

// runFetch builds a circuit from the on-chain directory itself, without
// pexiad, and fetches a URL through it: a check that the network works
// end to end.
func runFetch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	network := fs.String("network", "", "network file")
	hops := fs.Int("hops", 3, "circuit length (1-5)")
	minDelay := fs.Duration("min-delay", 30*24*time.Hour, "least withdrawal delay of a picked node's stake")
	keystore := fs.String("keystore", "", "keystore holding the funder key paying the nodes (empty, and no -key: pay nobody)")
	account := fs.String("account", string(keys.RoleFunder), "funder account in the keystore: a label or its 0x address")
	passFile := fs.String("passphrase-file", "", "file holding the keystore passphrase, readable by its owner only")
	key := fs.String("key", "", "development funder key instead: devnet:ROLE, or hex on a development chain")
	faceStr := fs.String("face", "0.01", "ticket face value in whole tokens")
	book := fs.String("accounts", defaultBook(), "file recording the per-hop lottery accounts funded")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *network == "" || fs.NArg() != 1 {
		return errors.New(fetchUsage)
	}
	n, err := contracts.LoadNetwork(*network)
	if err != nil {
		return err
	}
	var funder *ecdsa.PrivateKey
	switch {
	case *key != "" && (*keystore != "" || *passFile != ""):
		return errors.New("-key is a development key; give it or -keystore/-passphrase-file, not both")
	case *key != "":
		funder, err = keys.Source{Key: *key}.Load(n)
	case *keystore != "":
		funder, err = keys.Source{Keystore: *keystore, Account: *account, PassphraseFile: *passFile}.Load(n)
	}
	if err != nil {
		return fmt.Errorf("funder key: %w", err)
	}
	outer := ctx // the download itself may take longer than setting up
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cl, err := chain.Dial(ctx, n, chain.Options{})
	if err != nil {
		return err
	}
	defer cl.Close()
	// The event follower keeps the accounts' cache current, so that the
	// tickets of the download are issued without a chain read each.
	fctx, stopFollow := context.WithCancel(outer)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		cl.Run(fctx)
	}()
	defer func() { stopFollow(); <-followed }()
	d := dir.New(cl, n.Addresses)
	md := uint64(minDelay.Seconds())
	var native common.Address // tickets are paid in the chain's coin
	nodes, err := d.Circuit(ctx, *hops, dir.Filter{Role: dir.RoleRelay, MinDelay: md, Token: &native}, dir.Filter{Role: dir.RoleExit, MinDelay: md, Token: &native})
	if err != nil {
		return err
	}
	infos := make([]hop.HopInfo, len(nodes))
	for i, nd := range nodes {
		infos[i] = payhop.HopInfo(nd)
		fmt.Printf("hop %d: %s %s (%s, %s tokens/GB)\n", i, nd.Address, nd.URL, nd.Country, amount(nd.PricePerGB))
	}
	var payer hop.Payer
	if funder != nil {
		check, err := fetchTermsCheck(ctx, cl, nodes)
		if err != nil {
			return err
		}
		if payer, err = setupPayments(ctx, cl, n, funder, *faceStr, len(infos), *book, check); err != nil {
			return err
		}
	}
	t0 := time.Now()
	c, err := hop.Build(ctx, infos, hop.BuildConfig{Payer: payer})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("circuit built in %v\n", time.Since(t0).Round(time.Millisecond))
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) { return c.Dial(ctx, network, addr) },
	}}
	t0 = time.Now()
	req, err := http.NewRequestWithContext(outer, http.MethodGet, fs.Arg(0), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var head [512]byte
	k, _ := io.ReadFull(resp.Body, head[:])
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	el := time.Since(t0)
	nb := int64(k) + rest
	if rest == 0 && k > 0 {
		fmt.Printf("%s", head[:k])
	}
	fmt.Printf("%s: %s, %d bytes in %v (%.1f Mbit/s)\n", fs.Arg(0), resp.Status, nb, el.Round(time.Millisecond), float64(nb)*8/el.Seconds()/1e6)
	return nil
}

func amount(x interface{ String() string }) string {
	r, ok := newRat(x.String())
	if !ok {
		return x.String()
	}
	return r
}
