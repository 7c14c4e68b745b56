package der

import (
	"errors"
	"fmt"
	"math"
)

// Classes of an identifier octet.
const (
	ClassUniversal   = 0
	ClassApplication = 1
	ClassContext     = 2
	ClassPrivate     = 3
)

// Element is one TLV as read from the wire.
type Element struct {
	Class       int
	Tag         int
	Constructed bool
	// Content is the contents octets, a sub-slice of the input.
	Content []byte
}

// ErrTruncated is wrapped by Read's errors for an element that runs past
// the end of its input.
var ErrTruncated = errors.New("der: data truncated")

// Read parses the element at the start of b and returns it and the bytes
// after it. It is exactly as strict as encoding/asn1's header parsing
// (the KDC used that before): no indefinite lengths, no non-minimal length
// or tag encodings, lengths below 2^31.
func Read(b []byte) (Element, []byte, error) {
	var e Element
	if len(b) < 2 {
		return e, nil, ErrTruncated
	}
	id := b[0]
	e.Class = int(id >> 6)
	e.Constructed = id&0x20 != 0
	e.Tag = int(id & 0x1f)
	off := 1
	if e.Tag == 0x1f {
		// High tag number form: base 128, minimal, below 2^31.
		var tag int64
		for i := 0; ; i++ {
			if off >= len(b) {
				return e, nil, ErrTruncated
			}
			if i == 5 {
				return e, nil, errors.New("der: tag number too large")
			}
			c := b[off]
			off++
			if i == 0 && c == 0x80 {
				return e, nil, errors.New("der: non-minimal tag")
			}
			tag = tag<<7 | int64(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
		if tag > math.MaxInt32 {
			return e, nil, errors.New("der: tag number too large")
		}
		e.Tag = int(tag)
		if e.Tag < 0x1f {
			return e, nil, errors.New("der: non-minimal tag")
		}
	}
	if off >= len(b) {
		return e, nil, ErrTruncated
	}
	l := int(b[off])
	off++
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 {
			return e, nil, errors.New("der: indefinite length")
		}
		l = 0
		for ; n > 0; n-- {
			if off >= len(b) {
				return e, nil, ErrTruncated
			}
			if l >= 1<<23 {
				return e, nil, errors.New("der: length too large")
			}
			l = l<<8 | int(b[off])
			off++
			if l == 0 {
				return e, nil, errors.New("der: superfluous leading zeros in length")
			}
		}
		if l < 0x80 {
			return e, nil, errors.New("der: non-minimal length")
		}
	}
	if l > len(b)-off {
		return e, nil, fmt.Errorf("der: length %d exceeds the %d bytes left: %w", l, len(b)-off, ErrTruncated)
	}
	e.Content = b[off : off+l]
	return e, b[off+l:], nil
}
