package world

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// BurstResult is what a Burst of new connections achieved.
type BurstResult struct {
	Opened    int           // connections that completed their request
	Failed    int           // connections that did not
	FirstErr  error         // the first failure, if any
	Elapsed   time.Duration // from the first dial to the last answer
	FlowsPerS float64       // Opened / Elapsed
}

// Burst opens n new TCP connections to url's host with dial, spread evenly
// over spread (0: all at once), as a browser opening a page does: each
// sends one HTTP request on its own connection and reads the whole
// answer. It waits for every connection and says how many completed.
func Burst(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), url string, n int, spread time.Duration) BurstResult {
	tr := &http.Transport{DialContext: dial, DisableKeepAlives: true, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		res BurstResult
	)
	start := time.Now()
	for i := range n {
		if spread > 0 {
			at := start.Add(spread * time.Duration(i) / time.Duration(n))
			if d := time.Until(at); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := burstGet(ctx, hc, url)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed++
				if res.FirstErr == nil {
					res.FirstErr = fmt.Errorf("connection %d: %w", i, err)
				}
				return
			}
			res.Opened++
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.FlowsPerS = float64(res.Opened) / res.Elapsed.Seconds()
	return res
}

func burstGet(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || len(strings.TrimSpace(string(b))) == 0 {
		return fmt.Errorf("%s: %s %q", url, resp.Status, b)
	}
	return nil
}
