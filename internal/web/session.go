package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/team"
)

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	if s.Sessions.GetString(r.Context(), "staff_id") != "" {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	render(w, r, http.StatusOK, signinPage(signinForm{Next: r.URL.Query().Get("next")}))
}

// signin checks the password through auth.Login (rate limits, audit) and
// starts a session under a fresh token, so a token planted before sign-in
// is worthless after it.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f := signinForm{Email: strings.TrimSpace(r.PostFormValue("email")), Next: r.PostFormValue("next")}
	a, err := s.Auth.Login(ctx, f.Email, r.PostFormValue("password"), r.Header.Get("X-Kefu-Remote-Addr"))
	if err != nil {
		switch kefu.ErrorCode(err) {
		case kefu.Unauthorized:
			f.Error = T(ctx, "signin.wrong")
		case kefu.RateLimited:
			f.Error = T(ctx, "signin.limited")
			if at, ok := auth.RetryAt(err); ok {
				w.Header().Set("Retry-After", at.UTC().Format(http.TimeFormat))
			}
		default:
			f.Error = message(r, err)
		}
		render(w, r, status(err), signinPage(f))
		return
	}
	if err := s.Sessions.RenewToken(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	s.Sessions.Put(ctx, "staff_id", a.ID)
	s.touchPresence(kefu.WithActor(ctx, a), a.ID)
	http.Redirect(w, r, safeNext(f.Next), http.StatusSeeOther)
}

// safeNext keeps redirects after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/queue/mine"
	}
	return next
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if id := s.Sessions.GetString(ctx, "staff_id"); id != "" {
		s.clearPresence(ctx, id)
	}
	if err := s.Sessions.Destroy(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// setLanguage switches the interface language: for a signed-in staff
// member it is saved on their profile (the own-profile path of
// team.UpdateStaff), before sign-in it is kept in a cookie.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l := r.PostFormValue("language")
	if l != "en" && l != "zh-CN" {
		s.fail(w, r, kefu.Fieldf("language", "must be en or zh-CN"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if id := s.Sessions.GetString(ctx, "staff_id"); id != "" {
		a, err := s.Team.ActorFor(ctx, id)
		if err == nil {
			_, err = s.Team.UpdateStaff(kefu.WithActor(ctx, a), id, team.StaffPatch{Language: &l})
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	back := r.Referer()
	if i := strings.Index(back, "://"); i >= 0 {
		// Only the path of our own page: never a redirect elsewhere.
		if j := strings.Index(back[i+3:], "/"); j >= 0 {
			back = back[i+3+j:]
		} else {
			back = "/"
		}
	}
	http.Redirect(w, r, safeNext(back), http.StatusSeeOther)
}
