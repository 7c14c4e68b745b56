package der

import (
	"errors"
	"time"
)

// ParseInteger reads the contents of an INTEGER that must fit in an int64:
// minimal two's complement, as encoding/asn1 requires.
func ParseInteger(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, errors.New("der: empty integer")
	}
	if len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0) {
		return 0, errors.New("der: integer not minimally encoded")
	}
	if len(b) > 8 {
		return 0, errors.New("der: integer too large")
	}
	v := int64(int8(b[0]))
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v, nil
}

// ParseBitString reads the contents of a BIT STRING: the unused-bits octet
// at most 7, zero for an empty string, and the unused bits themselves zero
// (DER). bits is a sub-slice of b.
func ParseBitString(b []byte) (bits []byte, bitLength int, err error) {
	if len(b) == 0 {
		return nil, 0, errors.New("der: empty BIT STRING")
	}
	pad := int(b[0])
	if pad > 7 || len(b) == 1 && pad > 0 || b[len(b)-1]&(1<<pad-1) != 0 {
		return nil, 0, errors.New("der: invalid padding bits in BIT STRING")
	}
	return b[1:], (len(b)-1)*8 - pad, nil
}

// ParseGeneralizedTimeUTC reads the contents of a GeneralizedTime in the
// only form Kerberos allows (RFC 4120 5.2.3, KerberosTime):
// YYYYMMDDHHMMSSZ, UTC, no fraction. Fields out of range (month 13, 30
// February, hour 24, second 60) are refused, as time.Parse refuses them.
func ParseGeneralizedTimeUTC(b []byte) (time.Time, error) {
	if len(b) != 15 || b[14] != 'Z' {
		return time.Time{}, errors.New("der: GeneralizedTime is not YYYYMMDDHHMMSSZ")
	}
	var n [6]int
	widths := [6]int{4, 2, 2, 2, 2, 2}
	off := 0
	for i, w := range widths {
		for j := 0; j < w; j++ {
			c := b[off]
			if c < '0' || c > '9' {
				return time.Time{}, errors.New("der: GeneralizedTime has a non-digit")
			}
			n[i] = n[i]*10 + int(c-'0')
			off++
		}
	}
	year, month, day, hour, minute, sec := n[0], n[1], n[2], n[3], n[4], n[5]
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, errors.New("der: GeneralizedTime field out of range")
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), nil
}

func daysIn(month, year int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	if month == 4 || month == 6 || month == 9 || month == 11 {
		return 30
	}
	return 31
}
