package onion

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Cell sizes. A circuit uses one size, a power of two from MinCellSize to
// MaxCellSize, for every cell on every link it crosses; DefaultCellSize is
// the one clients should use so that their circuits look alike.
const (
	MinCellSize     = 512
	MaxCellSize     = 16384
	DefaultCellSize = 4096
)

// HeaderLen is the length of the link header of a cell: circuit ID (4 bytes)
// and link command (1 byte). The body follows.
const HeaderLen = 5

// ValidCellSize reports whether size is an allowed cell size.
func ValidCellSize(size int) bool {
	return size >= MinCellSize && size <= MaxCellSize && size&(size-1) == 0
}

// BodySize returns the length of a cell body for a cell size.
func BodySize(cellSize int) int { return cellSize - HeaderLen }

func checkCellSize(size int) error {
	if !ValidCellSize(size) {
		return fmt.Errorf("onion: invalid cell size %d", size)
	}
	return nil
}

// Address is a node's on-chain address (its registry identity).
type Address [20]byte

// String returns the address in hex with a 0x prefix.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// LinkCmd is the command in a cell's link header. It is read by the two ends
// of one link only.
type LinkCmd uint8

// Link commands.
const (
	// LinkPadding is a link-level padding cell; circuit ID 0, zero body.
	LinkPadding LinkCmd = 0
	// LinkCreate starts a circuit on a link; body: Create.
	LinkCreate LinkCmd = 1
	// LinkCreated answers LinkCreate; body: Created.
	LinkCreated LinkCmd = 2
	// LinkRelay carries an onion-encrypted relay cell body.
	LinkRelay LinkCmd = 3
	// LinkRelayEarly is LinkRelay for the first MaxRelayEarly cells a client
	// sends on a circuit; a node accepts EXTEND only in such cells and
	// forwards them as LinkRelayEarly, which caps circuit length.
	LinkRelayEarly LinkCmd = 4
	// LinkDestroy tears a circuit down on this link; body: Destroy.
	LinkDestroy LinkCmd = 5
	// LinkDatagram carries a datagram cell (dgram.go), only on a link's
	// datagram lane, where no other command may travel.
	LinkDatagram LinkCmd = 6
)

// MaxRelayEarly is the number of LinkRelayEarly cells a node forwards on one
// circuit; it drops the circuit on the next one.
const MaxRelayEarly = 8

var linkCmdNames = [...]string{"PADDING", "CREATE", "CREATED", "RELAY", "RELAY_EARLY", "DESTROY", "DATAGRAM"}

func (c LinkCmd) valid() bool { return int(c) < len(linkCmdNames) }

// String returns the command's name.
func (c LinkCmd) String() string {
	if c.valid() {
		return linkCmdNames[c]
	}
	return "LinkCmd(" + strconv.Itoa(int(c)) + ")"
}

// Cell is one link-level cell. Circuit IDs are per link: the peer that opened
// the link picks IDs with the top bit set, the other peer IDs with it clear,
// and 0 is reserved for LinkPadding.
type Cell struct {
	CircID uint32
	Cmd    LinkCmd
	// Body is BodySize(cellSize) bytes. For LinkRelay and LinkRelayEarly it
	// is the onion ciphertext; for the others, see Create, Created and
	// Destroy.
	Body []byte
}

// DecodeCell parses and validates a cell. Its length must be a valid cell
// size; the circuit layer also checks that it is the circuit's size. The
// returned Body aliases b. Errors wrap ErrMalformed.
func DecodeCell(b []byte) (Cell, error) {
	if !ValidCellSize(len(b)) {
		return Cell{}, fmt.Errorf("%w: cell length %d is not a cell size", ErrMalformed, len(b))
	}
	c := Cell{CircID: binary.BigEndian.Uint32(b), Cmd: LinkCmd(b[4]), Body: b[HeaderLen:]}
	if err := c.check(); err != nil {
		return Cell{}, err
	}
	return c, nil
}

// Encode validates the cell as DecodeCell would and returns its encoding,
// HeaderLen+len(Body) bytes.
func (c Cell) Encode() ([]byte, error) {
	if !ValidCellSize(len(c.Body) + HeaderLen) {
		return nil, fmt.Errorf("%w: body length %d is not a body size", ErrMalformed, len(c.Body))
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	b := make([]byte, HeaderLen+len(c.Body))
	binary.BigEndian.PutUint32(b, c.CircID)
	b[4] = byte(c.Cmd)
	copy(b[HeaderLen:], c.Body)
	return b, nil
}

// PutHeader rewrites the link header of an encoded cell in place, so that a
// relay can pass a body on to the next link without copying it.
func PutHeader(cell []byte, circID uint32, cmd LinkCmd) error {
	if !ValidCellSize(len(cell)) {
		return fmt.Errorf("onion: cell length %d is not a cell size", len(cell))
	}
	if !cmd.valid() || (cmd == LinkPadding) != (circID == 0) {
		return fmt.Errorf("onion: invalid header %v on circuit %d", cmd, circID)
	}
	binary.BigEndian.PutUint32(cell, circID)
	cell[4] = byte(cmd)
	return nil
}

func (c Cell) check() error {
	if !c.Cmd.valid() {
		return fmt.Errorf("%w: unknown link command %d", ErrMalformed, c.Cmd)
	}
	if c.Cmd == LinkPadding {
		if c.CircID != 0 {
			return fmt.Errorf("%w: PADDING on circuit %d", ErrMalformed, c.CircID)
		}
		if !allZero(c.Body) {
			return fmt.Errorf("%w: PADDING body not zero", ErrMalformed)
		}
		return nil
	}
	if c.CircID == 0 {
		return fmt.Errorf("%w: %v on circuit 0", ErrMalformed, c.Cmd)
	}
	var err error
	switch c.Cmd {
	case LinkCreate:
		_, err = DecodeCreate(c.Body)
	case LinkCreated:
		_, err = DecodeCreated(c.Body)
	case LinkDestroy:
		_, err = DecodeDestroy(c.Body)
	}
	return err
}

func allZero(b []byte) bool {
	var acc byte
	for _, x := range b {
		acc |= x
	}
	return acc == 0
}
