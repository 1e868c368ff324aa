package chain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// RevertError is a call or transaction the chain refused. errors.Is(err,
// ErrReverted) holds for it.
type RevertError struct {
	// Name is the custom error of the Lottery or token ("Locked",
	// "Insufficient", ...), "Error" or "Panic" for Solidity's built-in
	// ones, or empty when the revert data is unknown or missing.
	Name string
	// Args are the error's decoded arguments.
	Args []any
	// Data is the raw revert data.
	Data []byte
	// Err is the error the endpoint returned.
	Err error
}

// Error describes the revert by the error's name and arguments when known.
func (e *RevertError) Error() string {
	switch {
	case e.Name != "" && len(e.Args) > 0:
		return fmt.Sprintf("reverted: %s%v", e.Name, e.Args)
	case e.Name != "":
		return "reverted: " + e.Name
	case len(e.Data) > 0:
		return fmt.Sprintf("reverted with data %x", e.Data)
	case e.Err != nil:
		return e.Err.Error()
	}
	return "reverted"
}

// Is makes errors.Is(err, ErrReverted) true.
func (e *RevertError) Is(target error) bool { return target == ErrReverted }

// Unwrap returns the endpoint's error.
func (e *RevertError) Unwrap() error { return e.Err }

// revert turns an endpoint error carrying revert data into a *RevertError,
// and returns other errors unchanged.
func (c *Client) revert(err error) error {
	var data []byte
	var de rpc.DataError
	if errors.As(err, &de) {
		if s, ok := de.ErrorData().(string); ok {
			if b, derr := hexutil.Decode(s); derr == nil {
				data = b
			}
		}
	}
	if data == nil && !strings.Contains(err.Error(), "revert") {
		return err
	}
	re := &RevertError{Data: data, Err: err}
	if len(data) < 4 {
		return re
	}
	var sel [4]byte
	copy(sel[:], data)
	for _, a := range []*abi.ABI{&c.lotABI, &c.tokABI} {
		if e, ferr := a.ErrorByID(sel); ferr == nil {
			re.Name = e.Name
			if v, uerr := e.Unpack(data); uerr == nil {
				if args, ok := v.([]any); ok {
					re.Args = args
				}
			}
			return re
		}
	}
	if reason, rerr := abi.UnpackRevert(data); rerr == nil {
		re.Name, re.Args = "Error", []any{reason}
		if sel == [4]byte{0x4e, 0x48, 0x7b, 0x71} { // Panic(uint256)
			re.Name = "Panic"
		}
	}
	return re
}
