package api

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// readPeerCred returns the credentials the kernel recorded for the process
// that connected c (SO_PEERCRED: taken at connect(2), so they cannot be
// changed later by the peer).
func readPeerCred(c net.Conn) (peerCred, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peerCred{}, fmt.Errorf("peer credentials: %T is not a unix socket", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peerCred{}, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *syscall.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return peerCred{}, fmt.Errorf("peer credentials: %w", err)
	}
	if serr != nil {
		return peerCred{}, fmt.Errorf("peer credentials: getsockopt SO_PEERCRED: %w", serr)
	}
	return peerCred{pid: cred.Pid, uid: cred.Uid, gid: cred.Gid}, nil
}

// fileOwner is the owner of a file, as stat(2) reports it.
type fileOwner struct{ gid uint32 }

// sysStat returns fi's owner, if fi is not nil.
func sysStat(fi os.FileInfo) (fileOwner, bool) {
	if fi == nil {
		return fileOwner{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileOwner{}, false
	}
	return fileOwner{gid: st.Gid}, true
}
