package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// relayBufSize is the copy buffer per direction.
const relayBufSize = 32 << 10

var relayBufs = sync.Pool{New: func() any { b := make([]byte, relayBufSize); return &b }}

// relayStats is what a relay moved.
type relayStats struct {
	up, down int64 // client → upstream, upstream → client
	err      error // the first error other than EOF, if any
}

// relay copies between client and upstream until both directions have
// ended, then closes both. The end of one direction (EOF) is passed on as
// a half-close; an error in either direction closes both connections at
// once. With idle > 0 both are closed after idle without data either way.
func relay(client, upstream net.Conn, idle time.Duration) relayStats {
	var (
		act   = newActivity()
		st    relayStats
		wg    sync.WaitGroup
		upErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		st.up, upErr = copyHalf(upstream, client, act, idle)
		finishHalf(upstream, client, upErr)
	}()
	var downErr error
	st.down, downErr = copyHalf(client, upstream, act, idle)
	finishHalf(client, upstream, downErr)
	wg.Wait()
	client.Close()
	upstream.Close()
	st.err = errors.Join(upErr, downErr)
	return st
}

// finishHalf ends the direction src → dst: a clean EOF is passed on as a
// half-close, an error tears down both connections so the other direction
// stops too.
func finishHalf(dst, src net.Conn, err error) {
	if err == nil {
		closeWrite(dst)
		return
	}
	dst.Close()
	src.Close()
}

// copyHalf copies src to dst until EOF (returned as nil) or an error. It
// keeps the read deadline on src at the last activity in either direction
// plus idle, and gives each write idle to complete.
func copyHalf(dst, src net.Conn, act *activity, idle time.Duration) (int64, error) {
	bp := relayBufs.Get().(*[]byte)
	defer relayBufs.Put(bp)
	buf := *bp
	if idle > 0 {
		src.SetReadDeadline(time.Now().Add(idle))
	}
	var n int64
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			act.touch()
			if idle > 0 {
				dst.SetWriteDeadline(time.Now().Add(idle))
			}
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
		}
		if rerr == nil {
			continue
		}
		if rerr == io.EOF {
			return n, nil
		}
		if idle > 0 && errors.Is(rerr, os.ErrDeadlineExceeded) {
			// The other direction may have been busy: idle is measured
			// across both.
			if next := act.last().Add(idle); time.Until(next) > 0 {
				src.SetReadDeadline(next)
				continue
			}
			return n, errIdle
		}
		return n, rerr
	}
}

var errIdle = errors.New("idle timeout")

// activity is the time of the last data in either direction of a relay,
// kept on the monotonic clock.
type activity struct {
	start time.Time
	since atomic.Int64 // nanoseconds from start
}

func newActivity() *activity { return &activity{start: time.Now()} }

func (a *activity) touch()          { a.since.Store(int64(time.Since(a.start))) }
func (a *activity) last() time.Time { return a.start.Add(time.Duration(a.since.Load())) }
