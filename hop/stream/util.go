package stream

import (
	"sync"
	"time"
)

// waitq is a broadcast wake-up for goroutines waiting on state guarded by
// Mux.mu. All methods need Mux.mu held; the channel returned by wait is
// selected on after releasing it. A channel is made only when someone waits.
type waitq struct {
	ch chan struct{}
}

func (w *waitq) wait() <-chan struct{} {
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *waitq) broadcast() {
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// deadline is a settable deadline, as in net.Pipe: wait returns a channel
// that is closed once the deadline has passed.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{}
}

func newDeadline() *deadline { return &deadline{cancel: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer function is closing it
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		c := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(c) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed[T any](c <-chan T) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// fifo is a slice-backed queue.
type fifo[T any] struct {
	buf  []T
	head int
}

func (q *fifo[T]) len() int { return len(q.buf) - q.head }

func (q *fifo[T]) push(v T) { q.buf = append(q.buf, v) }

func (q *fifo[T]) front() *T { return &q.buf[q.head] }

func (q *fifo[T]) back() *T { return &q.buf[len(q.buf)-1] }

func (q *fifo[T]) pop() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head++
	switch {
	case q.head == len(q.buf):
		q.buf = q.buf[:0]
		q.head = 0
	case q.head >= 32 && q.head*2 >= len(q.buf):
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf = q.buf[:n]
		q.head = 0
	}
	return v
}

// removeFunc drops the queued elements for which del returns true.
func (q *fifo[T]) removeFunc(del func(T) bool) {
	kept := q.buf[:q.head]
	for _, v := range q.buf[q.head:] {
		if !del(v) {
			kept = append(kept, v)
		}
	}
	clear(q.buf[len(kept):])
	q.buf = kept
	if q.head == len(q.buf) {
		q.buf = q.buf[:0]
		q.head = 0
	}
}

func (q *fifo[T]) reset() {
	clear(q.buf)
	q.buf = nil
	q.head = 0
}
