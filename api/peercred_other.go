//go:build !linux

package api

import (
	"errors"
	"net"
	"os"
)

// readPeerCred is only implemented on Linux; elsewhere every connection is
// refused rather than let through unchecked.
func readPeerCred(net.Conn) (peerCred, error) {
	return peerCred{}, errors.ErrUnsupported
}

// fileOwner is the owner of a file, as stat(2) reports it.
type fileOwner struct{ gid uint32 }

// sysStat is only implemented on Linux.
func sysStat(os.FileInfo) (fileOwner, bool) { return fileOwner{}, false }
