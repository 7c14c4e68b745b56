package kaconf

import (
	"fmt"
	"strconv"
)

// Pos is a place in a configuration file.
type Pos struct {
	// File is the path as given or as resolved from an include.
	File string
	// Line is 1-based.
	Line int
}

// String formats the position as file:line.
func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// Error is a parse error at a position. Parse returns them joined with
// errors.Join when there are several.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

func errorf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}
