// Package apperr defines the domain errors every surface of provgraph shares. Each
// carries one code from a small fixed set; the GraphQL error presenter (and later the
// REST ingest endpoints) turn the code into what their clients expect. Anything that is
// not an *Error is an internal error: its text goes to the log, never to a client.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is the stable, machine-readable class of an error, sent to GraphQL clients as
// `extensions.code`.
type Code string

// The codes a client can see. Keep the set small: clients switch on it.
const (
	// NotFound: a referenced node does not exist.
	NotFound Code = "NOT_FOUND"
	// InvalidArgument: the input breaks a documented rule; Field names the input.
	InvalidArgument Code = "INVALID_ARGUMENT"
	// Conflict: the input contradicts what is already recorded (provenance is append-only).
	Conflict Code = "CONFLICT"
	// Unauthenticated: no valid credentials were presented.
	Unauthenticated Code = "UNAUTHENTICATED"
	// Forbidden: the actor may not do this.
	Forbidden Code = "FORBIDDEN"
	// MethodNotAllowed: the path does not serve the HTTP method used (HTTP 405, with an
	// Allow header listing the methods it serves), e.g. a mutation sent over GET.
	MethodNotAllowed Code = "METHOD_NOT_ALLOWED"
	// Unavailable: a dependency (Neo4j) cannot be reached now; retrying later may work.
	Unavailable Code = "UNAVAILABLE"
	// Internal: a bug or an unexpected failure; details are only in the server log.
	Internal Code = "INTERNAL"
)

// Error is a domain error with a code, the input field it concerns (if any), and a
// reason written for the client.
type Error struct {
	Code Code
	// Field is the path of the offending input, e.g. "input.uri" or "start[2]".
	Field string
	// Reason says which rule was broken, for a person to read.
	Reason string
	// Cause is an underlying error kept for the log; it is never shown to clients.
	Cause error
}

// Error returns "field: reason", or the reason alone when no field applies.
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error of the given code about field.
func New(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Invalid reports input that breaks a rule.
func Invalid(field, format string, args ...any) *Error {
	return New(InvalidArgument, field, format, args...)
}

// Missing reports a reference to a node that does not exist.
func Missing(field, format string, args ...any) *Error {
	return New(NotFound, field, format, args...)
}

// Conflicting reports input that contradicts what is already recorded.
func Conflicting(field, format string, args ...any) *Error {
	return New(Conflict, field, format, args...)
}

// UnavailableBecause reports that a dependency cannot be reached; cause goes to the log.
func UnavailableBecause(cause error, format string, args ...any) *Error {
	return &Error{Code: Unavailable, Reason: fmt.Sprintf(format, args...), Cause: cause}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// HTTPStatus is the status a REST surface answers an error of code c with; an unknown
// code is 500.
func HTTPStatus(c Code) int {
	switch c {
	case InvalidArgument:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Unauthenticated:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// CodeOf returns the code of err: the code of the *Error in its chain, or Internal.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// WithFieldPrefix returns err with its field placed under prefix ("input" turns "uri"
// into "input.uri"), so a store rule reads in the terms of the API that was called.
// Errors without a field, and non-domain errors, are returned unchanged.
func WithFieldPrefix(err error, prefix string) error {
	e, ok := As(err)
	if !ok || e.Field == "" || prefix == "" {
		return err
	}
	c := *e
	c.Field = prefix + "." + e.Field
	return &c
}

// WithField returns err with its field replaced by field when it was old, so that a
// rule checked by a shared helper reads in the caller's terms.
func WithField(err error, old, field string) error {
	e, ok := As(err)
	if !ok || e.Field != old {
		return err
	}
	c := *e
	c.Field = field
	return &c
}
