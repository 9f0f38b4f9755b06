package web

import (
	"log/slog"
	"net/http"

	"github.com/a-h/templ"
)

// render writes c with status code. Pages are small and rendered into
// the response directly; a write error means the client went away.
func render(w http.ResponseWriter, r *http.Request, code int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(code)
	if err := c.Render(r.Context(), w); err != nil {
		slog.DebugContext(r.Context(), "web: render", "path", r.URL.Path, "err", err)
	}
}
