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
	return readFrame(r, nil, nil, max)
}

// readFrame is ReadFrame for the server: started holds the record's first
// bytes when already read (at most 4), and the record is read into buf,
// which is also used for the header, when it is large enough (the result
// then aliases it); so a connection with a pooled buffer reads a request
// without allocating.
func readFrame(r io.Reader, started, buf []byte, max uint32) ([]byte, error) {
	if cap(buf) < 4 {
		buf = make([]byte, 4)
	}
	hdr := buf[:4]
	got := copy(hdr, started)
	if _, err := io.ReadFull(r, hdr[got:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr)
	if n&0x80000000 != 0 || n > max {
		return nil, fmt.Errorf("%w: length prefix %d, limit %d", ErrFrameTooLong, n, max)
	}
	if uint32(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
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
