package stream

import (
	"fmt"
	"io"
	"sync"
	"testing"
)

// BenchmarkThroughput measures bulk transfer through two Muxes joined by
// the in-memory pipe (no rate limit), with 4000-byte frames as on a
// circuit, over 1 and 8 parallel streams.
func BenchmarkThroughput(b *testing.B) {
	for _, streams := range []int{1, 8} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			p := newPair(b, Config{}, Config{}, pipeOpts{})
			var readers sync.WaitGroup
			p.serve(func(r *Request) {
				c := accept(r)
				defer readers.Done()
				io.Copy(io.Discard, c)
				c.Close()
			})
			conns := make([]*Stream, streams)
			for i := range conns {
				readers.Add(1)
				conns[i] = dial(b, p.client, "tcp", fmt.Sprintf("bench%d.test:1", i))
			}
			const chunk = 64 << 10
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			var next sync.Mutex
			i := 0
			var wg sync.WaitGroup
			for _, c := range conns {
				wg.Go(func() {
					for {
						next.Lock()
						if i >= b.N {
							next.Unlock()
							break
						}
						i++
						next.Unlock()
						if _, err := c.Write(buf); err != nil {
							b.Error(err)
							return
						}
					}
					c.CloseWrite()
				})
			}
			wg.Wait()
			readers.Wait() // every byte has arrived
			b.StopTimer()
		})
	}
}
