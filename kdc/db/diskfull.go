package db

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
)

// A full disk makes the leader's log write fail with ENOSPC, and raft then
// steps down; a single node (or a majority on full disks) cannot elect a
// leader again, since a vote must be written too. Every later write would
// then fail with "no leader elected", sending the operator after a network
// problem. diskState keeps the cause visible until a write succeeds again.

// diskState remembers that a write failed for lack of space.
type diskState struct {
	// failed holds the last ENOSPC error from a write, nil once a write
	// succeeded after it.
	failed atomic.Pointer[error]
}

// note records the outcome of a write and returns err unchanged.
func (s *diskState) note(err error) error {
	switch {
	case err == nil:
		s.failed.Store(nil)
	case errors.Is(err, syscall.ENOSPC):
		s.failed.Store(&err)
	}
	return err
}

// full returns an error wrapping syscall.ENOSPC if a write failed for lack
// of space since the last one that succeeded, or if dir's file system has
// no space left now (for a node that restarted on a full disk); nil
// otherwise.
func (s *diskState) full(dir string) error {
	if p := s.failed.Load(); p != nil {
		return fmt.Errorf("writes are unavailable: the last write failed: %w", *p)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil && st.Bavail == 0 {
		return fmt.Errorf("writes are unavailable: %s: %w", dir, syscall.ENOSPC)
	}
	return nil
}
