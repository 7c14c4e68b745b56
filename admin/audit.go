package admin

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Every change made through the API, and every export of keys, is logged
// once at INFO as "admin change" with the operation, its target, which
// fields it changed (names, never values: a password or key never reaches
// a log) and who asked: the uid of the process on the other end of the
// admin socket, as the kernel recorded it (SO_PEERCRED).

// peerUIDKey is the request context key of the caller's uid.
type peerUIDKey struct{}

// withPeerUID is the http.Server's ConnContext: it records the uid of the
// process connected to the admin socket.
func withPeerUID(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	cred, err := peerCred(uc)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, peerUIDKey{}, cred.Uid)
}

// audit logs the change op made for r's caller; args name its target and
// what changed.
func (s *Server) audit(r *http.Request, op string, args ...any) {
	who := []any{"peer", r.RemoteAddr}
	if uid, ok := r.Context().Value(peerUIDKey{}).(uint32); ok {
		who = []any{"uid", uid}
	}
	s.log.InfoContext(r.Context(), "admin change", append(append([]any{"op", op}, args...), who...)...)
}

// fieldsSet returns the JSON names of req's fields that are set (not
// zero), except skip: what a request changes, without the values.
func fieldsSet(req any, skip ...string) []string {
	v := reflect.ValueOf(req)
	var set []string
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || v.Field(i).IsZero() || slices.Contains(skip, name) {
			continue
		}
		set = append(set, name)
	}
	return set
}
