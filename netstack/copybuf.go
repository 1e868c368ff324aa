package netstack

import (
	"sync"
	"time"
)

// Copy buffers. A flow moving bulk data copies in large chunks; a flow
// that trickles or sits idle (most of a browser's keep-alive connections)
// should not pin a large buffer while blocked in Read. So each direction
// reads into a small buffer of its own and borrows a large pooled one only
// while reads fill the small one; the large one goes back as soon as the
// source runs dry. The small buffer is what an idle flow keeps while it
// waits for its upstream, one per flow, so it is kept small: a burst
// larger than it costs one more read before the large buffer is borrowed.
const (
	smallBufSize = 512
	copyBufSize  = 64 << 10
	// largeBufIdle is how long a Read may block holding a large buffer
	// before it is given back (where the source supports deadlines).
	largeBufIdle = 500 * time.Millisecond
)

var (
	copyBufs  = sync.Pool{New: func() any { return new([copyBufSize]byte) }}
	smallBufs = sync.Pool{New: func() any { return new(pooledBuf) }}
)

type copyBuf struct {
	small [smallBufSize]byte
	large *[copyBufSize]byte
}

// get returns the buffer for the next Read.
func (b *copyBuf) get() []byte {
	if b.large != nil {
		return b.large[:]
	}
	return b.small[:]
}

// filled records how much the last Read returned: a full small buffer
// means more is waiting, so the next Read gets a large one.
func (b *copyBuf) filled(n int) {
	if b.large == nil && n == smallBufSize {
		b.large = copyBufs.Get().(*[copyBufSize]byte)
	}
}

// idle gives the large buffer back.
func (b *copyBuf) idle() {
	if b.large != nil {
		copyBufs.Put(b.large)
		b.large = nil
	}
}

// pooledBuf is a copyBuf taken from a pool for one run of copying (the
// app → upstream direction, which holds no buffer while idle).
type pooledBuf struct{ copyBuf }

func getSmallBuf() *pooledBuf { return smallBufs.Get().(*pooledBuf) }

// release gives the large buffer and then b itself back.
func (b *pooledBuf) release() {
	b.idle()
	smallBufs.Put(b)
}
