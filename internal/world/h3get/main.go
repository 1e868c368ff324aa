// Command h3get fetches one URL over HTTP/3 (QUIC on UDP) with quic-go's
// client, as a browser would: the tests and benchmarks run it in a world's
// client host, where its UDP goes through pexiad's TUN and the circuit,
// because Debian's curl speaks no HTTP/3.
//
//	h3get [-ca roots.pem] [-sum] [-timeout 2m] URL
//
// Without -sum it writes the body to standard output. With -sum it reads
// the body, hashes it and prints one JSON line instead:
//
//	{"proto":"HTTP/3.0","status":200,"bytes":N,"sha256":"…","seconds":S}
//
// where seconds runs from the request (the QUIC handshake included) to the
// body's last byte. A status other than 200, a protocol other than HTTP/3
// or a short body exits with status 1.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// Result is what -sum prints.
type Result struct {
	Proto   string  `json:"proto"`
	Status  int     `json:"status"`
	Bytes   int64   `json:"bytes"`
	SHA256  string  `json:"sha256"`
	Seconds float64 `json:"seconds"`
}

func main() {
	ca := flag.String("ca", "", "PEM file of the certificate authorities to trust (default: the system's)")
	sum := flag.Bool("sum", false, "print the body's length, SHA-256 and transfer time as JSON instead of the body")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: h3get [-ca roots.pem] [-sum] [-timeout d] URL")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *ca, *sum, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "h3get:", err)
		os.Exit(1)
	}
}

func run(url, caFile string, sum bool, timeout time.Duration) error {
	tlsConf := &tls.Config{}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		tlsConf.RootCAs = x509.NewCertPool()
		if !tlsConf.RootCAs.AppendCertsFromPEM(b) {
			return fmt.Errorf("%s: no PEM certificate", caFile)
		}
	}
	tr := &http3.Transport{TLSClientConfig: tlsConf}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	t0 := time.Now()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	if resp.ProtoMajor != 3 {
		return fmt.Errorf("%s: answered over %s, not HTTP/3", url, resp.Proto)
	}
	var w io.Writer = os.Stdout
	h := sha256.New()
	if sum {
		w = h
	}
	n, err := io.CopyBuffer(w, resp.Body, make([]byte, 256<<10))
	el := time.Since(t0)
	if err != nil {
		return fmt.Errorf("%s: after %d bytes: %w", url, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("%s: %d bytes of %d", url, n, resp.ContentLength)
	}
	if !sum {
		return nil
	}
	out, err := json.Marshal(Result{Proto: resp.Proto, Status: resp.StatusCode, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil)), Seconds: el.Seconds()})
	if err != nil {
		return err
	}
	_, err = fmt.Printf("%s\n", out)
	return err
}
