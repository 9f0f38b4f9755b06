package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/kefu-desk/kefu"
)

// status maps an error code to the HTTP status of the page or fragment
// that shows it.
func status(err error) int {
	switch kefu.ErrorCode(err) {
	case kefu.Invalid:
		return http.StatusUnprocessableEntity
	case kefu.NotFound:
		return http.StatusNotFound
	case kefu.Conflict, kefu.Stale:
		return http.StatusConflict
	case kefu.Unauthorized:
		return http.StatusUnauthorized
	case kefu.Forbidden:
		return http.StatusForbidden
	case kefu.RateLimited:
		return http.StatusTooManyRequests
	case kefu.TooLarge:
		return http.StatusRequestEntityTooLarge
	case kefu.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// message is what a person is shown for err: the domain's message for
// errors it made for users, a generic line for our own faults (logged).
func message(r *http.Request, err error) string {
	var e *kefu.Error
	if errors.As(err, &e) && e.Code != kefu.Internal {
		return e.Error()
	}
	slog.ErrorContext(r.Context(), "web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return T(r.Context(), "error.internal")
}

// fail shows err: as a notice fragment to htmx (retargeted to the page's
// notice area), as a whole page otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	msg := message(r, err)
	if isHTMX(r) {
		w.Header().Set("HX-Retarget", "#notice")
		w.Header().Set("HX-Reswap", "innerHTML")
		render(w, r, code, notice("error", msg))
		return
	}
	render(w, r, code, errorPage(code, msg))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	render(w, r, http.StatusNotFound, errorPage(http.StatusNotFound, T(r.Context(), "error.not_found")))
}

// fieldErrors indexes an error's field messages by field name, for forms
// that show each under its input.
func fieldErrors(err error) map[string]string {
	var e *kefu.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return nil
	}
	m := make(map[string]string, len(e.Fields))
	for _, f := range e.Fields {
		if _, ok := m[f.Field]; !ok {
			m[f.Field] = f.Message
		}
	}
	return m
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
