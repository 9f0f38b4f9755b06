package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
)

// Problem is an RFC 9457 problem+json body. Errors names each bad field
// with its location (body.subject, query.status, header.If-Match) and why.
type Problem struct {
	Type    string              `json:"type,omitempty" doc:"A URI identifying the problem type"`
	Title   string              `json:"title" doc:"Short summary of the problem type"`
	Status  int                 `json:"status" doc:"HTTP status code"`
	Detail  string              `json:"detail,omitempty" doc:"What went wrong this time"`
	Code    string              `json:"code,omitempty" doc:"Kefu's error code: invalid, not_found, conflict, stale, unauthorized, forbidden, rate_limited, too_large, internal, unavailable"`
	Errors  []*huma.ErrorDetail `json:"errors,omitempty" doc:"One entry per bad field"`
	Current any                 `json:"current,omitempty" doc:"On 412, the current version of the resource"`
	headers http.Header
}

func (p *Problem) Error() string  { return p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send problem+json, as RFC 9457 asks.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// GetHeaders lets a problem carry Retry-After or an ETag.
func (p *Problem) GetHeaders() http.Header { return p.headers }

func init() {
	// Huma's own validation errors (malformed JSON, schema violations)
	// come out in the same shape as ours.
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		p := &Problem{Status: status, Title: http.StatusText(status), Detail: msg, Code: string(codeFor(status))}
		for _, e := range errs {
			if e == nil {
				continue
			}
			var d huma.ErrorDetailer
			if errors.As(e, &d) {
				detail := d.ErrorDetail()
				if detail.Location == "body" {
					// Never echo a whole body back: it may hold a password.
					detail.Value = nil
				}
				p.Errors = append(p.Errors, detail)
			} else {
				p.Errors = append(p.Errors, &huma.ErrorDetail{Message: e.Error()})
			}
		}
		return p
	}
}

// statuses is the one place error codes become HTTP statuses.
var statuses = map[kefu.Code]int{
	kefu.Invalid:      http.StatusUnprocessableEntity,
	kefu.NotFound:     http.StatusNotFound,
	kefu.Conflict:     http.StatusConflict,
	kefu.Stale:        http.StatusPreconditionFailed,
	kefu.Unauthorized: http.StatusUnauthorized,
	kefu.Forbidden:    http.StatusForbidden,
	kefu.RateLimited:  http.StatusTooManyRequests,
	kefu.TooLarge:     http.StatusRequestEntityTooLarge,
	kefu.Internal:     http.StatusInternalServerError,
	kefu.Unavailable:  http.StatusServiceUnavailable,
}

func codeFor(status int) kefu.Code {
	for c, s := range statuses {
		if s == status {
			return c
		}
	}
	if status == http.StatusBadRequest {
		return kefu.Invalid
	}
	return ""
}

// problem turns any error from a domain service into a problem. Field
// errors are located in the request body unless they name another place.
func problem(ctx context.Context, err error) error {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var se huma.StatusError
	if errors.As(err, &se) {
		return se
	}
	var e *kefu.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) {
			return &Problem{Status: 499, Title: "Client Closed Request", Detail: "the request was cancelled"}
		}
		slog.ErrorContext(ctx, "request failed", "err", err)
		return &Problem{Status: 500, Title: "Internal Server Error", Code: string(kefu.Internal),
			Detail: "something went wrong on our side; nothing was changed by this request"}
	}
	status := statuses[e.Code]
	if status == 0 {
		status = 500
	}
	p = &Problem{Status: status, Title: http.StatusText(status), Code: string(e.Code), Detail: e.Message, Current: e.Current}
	for _, f := range e.Fields {
		loc := f.Field
		if !strings.HasPrefix(loc, "query.") && !strings.HasPrefix(loc, "path.") && !strings.HasPrefix(loc, "header.") {
			loc = "body." + loc
		}
		p.Errors = append(p.Errors, &huma.ErrorDetail{Location: loc, Message: f.Message})
	}
	if when, ok := auth.RetryAt(err); ok {
		secs := max(1, int(time.Until(when).Seconds()+0.5))
		p.headers = http.Header{"Retry-After": {strconv.Itoa(secs)}}
	}
	if e.Code == kefu.Stale {
		if v, ok := e.Current.(interface{ ETagVersion() int }); ok {
			p.headers = http.Header{"ETag": {etag(v.ETagVersion())}}
		}
	}
	return p
}

func etag(version int) string { return fmt.Sprintf(`"%d"`, version) }

// ifMatch reads an If-Match header into a version; "" means no check.
func ifMatch(h string) (int, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(h, "W/"), `"`))
	if err != nil || v <= 0 {
		return 0, &kefu.Error{Code: kefu.Invalid, Message: "invalid If-Match",
			Fields: []kefu.FieldError{{Field: "header.If-Match", Message: `must be an ETag from a previous response, like "3"`}}}
	}
	return v, nil
}

// CrossOriginDenied answers a browser request from another site that
// would act with the user's session.
func CrossOriginDenied(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, r, &Problem{Status: 403, Title: "Forbidden", Code: string(kefu.Forbidden),
		Detail: "cross-origin request refused: a page on another site cannot act with your session"})
}

// WriteError writes err as problem+json, mapped as every API error is:
// for handlers outside the API (the chat widget's endpoints) whose
// callers are scripts, not pages.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, r, problem(r.Context(), err))
}
