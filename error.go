package kefu

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an error by what the caller can do about it. Exactly one
// place (internal/api) maps codes to HTTP statuses.
type Code string

const (
	Invalid      Code = "invalid"      // the input is wrong; Fields says where
	NotFound     Code = "not_found"    // no such thing, or not visible to the actor
	Conflict     Code = "conflict"     // the state does not allow it (duplicate, wrong status)
	Stale        Code = "stale"        // the caller's version is out of date
	Unauthorized Code = "unauthorized" // who is asking is unknown
	Forbidden    Code = "forbidden"    // the actor may not do this
	RateLimited  Code = "rate_limited" // too many attempts; try later
	TooLarge     Code = "too_large"    // a body or attachment over its limit
	Internal     Code = "internal"     // our fault
	Unavailable  Code = "unavailable"  // a dependency is down; retry
)

// FieldError names one input field and what is wrong with it. Field is a
// JSON-pointer-like path such as "body.subject" or "weekly.mon[1]".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the error type domain code returns for anything a user may see.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// Current carries the current representation on Stale errors so the
	// caller can show what changed.
	Current any
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Fieldf is the common case of a single bad field.
func Fieldf(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: Invalid, Message: "invalid input", Fields: []FieldError{{Field: field, Message: msg}}}
}

// Fields collects field errors while validating a whole input, so the user
// sees every problem at once rather than one per attempt.
type Fields []FieldError

// Add records a problem with field.
func (fs *Fields) Add(field, format string, args ...any) {
	*fs = append(*fs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was added, else an Invalid *Error.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "invalid input", Fields: fs}
}

// ErrorCode returns the code of the first *Error in err's chain, Internal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }
