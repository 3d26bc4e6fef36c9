//go:build unix

package main

import "syscall"

// alive reports whether the idle connection c is still open: a non-blocking peek finds nothing to
// read (EAGAIN). End of stream (the upstream closed it), an error, or bytes nobody asked for mean it
// cannot carry a request.
func alive(c *upstreamConn) bool {
	if c.raw == nil {
		return true
	}
	var buf [1]byte
	var err error
	if cerr := c.raw.Read(func(fd uintptr) bool {
		_, _, err = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); cerr != nil {
		return false
	}
	return err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
}
