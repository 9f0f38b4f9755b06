package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/a-h/templ"
)

// render writes c with status code. Pages are small and rendered into
// the response directly; a write error means the client went away.
func render(w http.ResponseWriter, r *http.Request, code int, c templ.Component) {
	w.Header().Set("X-Frame-Options", "DENY")
	write(w, r, code, c)
}

// renderFramed is render for a page other sites may show in a frame:
// only those of ancestors ("*" for any).
func renderFramed(w http.ResponseWriter, r *http.Request, code int, c templ.Component, ancestors []string) {
	if len(ancestors) == 0 {
		ancestors = []string{"*"}
	}
	w.Header().Set("Content-Security-Policy", "frame-ancestors "+strings.Join(ancestors, " "))
	write(w, r, code, c)
}

func write(w http.ResponseWriter, r *http.Request, code int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if w.Header().Get("Referrer-Policy") == "" {
		w.Header().Set("Referrer-Policy", "same-origin")
	}
	w.WriteHeader(code)
	if err := c.Render(r.Context(), w); err != nil {
		slog.DebugContext(r.Context(), "web: render", "path", r.URL.Path, "err", err)
	}
}
