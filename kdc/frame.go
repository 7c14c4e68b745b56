package kdc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFrameTooLong is returned by ReadFrame when a TCP length prefix exceeds
// the configured limit or has the reserved high bit set (RFC 4120 7.2.2).
var ErrFrameTooLong = errors.New("kdc: tcp frame too long")

// ReadFrame reads one RFC 4120 TCP record: a 4-byte big-endian length and
// that many bytes. The length is checked against max before anything is
// allocated, so a hostile prefix costs nothing.
func ReadFrame(r io.Reader, max uint32) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n&0x80000000 != 0 || n > max {
		return nil, fmt.Errorf("%w: length prefix %d, limit %d", ErrFrameTooLong, n, max)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read %d-byte frame: %w", n, err)
	}
	return buf, nil
}

// AppendFrame appends msg to dst with its 4-byte length prefix.
func AppendFrame(dst, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(msg)))
	return append(dst, msg...)
}
