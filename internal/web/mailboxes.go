package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/email"
)

// Mailboxes: Admin › Mailboxes keeps the addresses the email channel
// receives and sends mail for (internal/email), tries their servers, and
// keeps the sender deny list. Stored passwords are never sent to the
// browser: a blank password field keeps the stored one.

// mailboxCheckTimeout bounds the connection test: the IMAP login and the
// SMTP EHLO each get it, and the request as a whole a little more.
const mailboxCheckTimeout = 10 * time.Second

func (s *Server) mailboxRoutes(r chi.Router) {
	r.Get("/mailboxes", s.adminMailboxes)
	r.Post("/mailboxes", s.adminSaveMailbox)
	r.Post("/mailboxes/deny", s.adminDeny)
	r.Post("/mailboxes/allow", s.adminAllow)
	r.Post("/mailboxes/{id}", s.adminSaveMailbox)
	r.Post("/mailboxes/{id}/delete", s.adminDeleteMailbox)
	r.Post("/mailboxes/{id}/test", s.adminTestMailbox)
}

func (s *Server) listMailboxes(ctx context.Context, p *adminPage) error {
	var err error
	if p.Mailboxes, err = s.Mailboxes.List(ctx); err != nil {
		return err
	}
	p.Deny, err = s.Mailboxes.DenyList(ctx)
	return err
}

// mailboxForm is a stored mailbox as the form shows it: every setting
// except the passwords.
func mailboxForm(m *email.Mailbox) url.Values {
	f := url.Values{"id": {m.ID}, "version": {itoa(m.Version)}, "address": {m.Address}, "display_name": {m.DisplayName},
		"imap.host": {m.IMAP.Host}, "imap.port": {itoa(m.IMAP.Port)}, "imap.security": {m.IMAP.Security},
		"imap.username": {m.IMAP.Username}, "imap.folder": {m.IMAP.Folder}, "imap.after_import": {m.IMAP.AfterImport},
		"imap.move_to": {m.IMAP.MoveTo}, "smtp.host": {m.SMTP.Host}, "smtp.port": {itoa(m.SMTP.Port)},
		"smtp.security": {m.SMTP.Security}, "smtp.username": {m.SMTP.Username},
		"signature": {m.Signature}, "ack_zh": {m.AckZh}, "ack_en": {m.AckEn}}
	if m.IsDefault {
		f.Set("is_default", "on")
	}
	if m.Enabled {
		f.Set("enabled", "on")
	}
	return f
}

// formPort reads a port field: empty is 0 (the service's default for the
// security chosen), anything unreadable -1 so the service refuses it
// under its field along with every other mistake.
func formPort(v string) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// formPassword is a password field: blank keeps the stored password of
// a mailbox being edited (Hidden), or sets none on a new one.
func formPassword(v string, editing bool) string {
	if v == "" && editing {
		return email.Hidden
	}
	return v
}

func mailboxFromForm(f url.Values, editing bool) email.Mailbox {
	return email.Mailbox{
		Address: f.Get("address"), DisplayName: f.Get("display_name"),
		IsDefault: f.Get("is_default") != "", Enabled: f.Get("enabled") != "",
		IMAP: email.IMAPSettings{Host: f.Get("imap.host"), Port: formPort(f.Get("imap.port")), Security: f.Get("imap.security"),
			Username: f.Get("imap.username"), Password: formPassword(f.Get("imap.password"), editing),
			Folder: f.Get("imap.folder"), AfterImport: f.Get("imap.after_import"), MoveTo: f.Get("imap.move_to")},
		SMTP: email.SMTPSettings{Host: f.Get("smtp.host"), Port: formPort(f.Get("smtp.port")), Security: f.Get("smtp.security"),
			Username: f.Get("smtp.username"), Password: formPassword(f.Get("smtp.password"), editing)},
		Signature: f.Get("signature"), AckZh: f.Get("ack_zh"), AckEn: f.Get("ack_en"),
	}
}

// mailboxPage is the page with the mailbox id (if any) in the form;
// p.Mailbox is the stored one, redacted.
func (s *Server) mailboxPage(ctx context.Context, id string) (*adminPage, error) {
	p, err := s.adminBase(ctx, "mailboxes")
	if err != nil {
		return nil, err
	}
	p.Form.Set("enabled", "on")
	if id == "" {
		return p, nil
	}
	m, err := s.Mailboxes.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	r := m.Redacted()
	p.Mailbox = &r
	p.Form = mailboxForm(m)
	return p, nil
}

func (s *Server) adminMailboxes(w http.ResponseWriter, r *http.Request) {
	p, err := s.mailboxPage(r.Context(), r.URL.Query().Get("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	s.show(w, r, p, nil, s.listMailboxes)
}

// adminSaveMailbox creates a mailbox, or replaces the settings of the one
// in the path if nobody changed it since the form was shown. A refused
// form saves nothing and comes back as typed, without the passwords.
func (s *Server) adminSaveMailbox(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	p, err := s.mailboxPage(r.Context(), id)
	s.post(w, r, p, err, s.listMailboxes, func(ctx context.Context, f url.Values) (string, string, error) {
		in := mailboxFromForm(f, id != "")
		var m *email.Mailbox
		var err error
		if id != "" {
			f.Set("id", id)
			// An unreadable version is 0: saved without the staleness check.
			version, _ := strconv.Atoi(f.Get("version"))
			m, err = s.Mailboxes.Update(ctx, id, version, in)
		} else {
			m, err = s.Mailboxes.Create(ctx, in)
		}
		if err != nil {
			f.Del("imap.password")
			f.Del("smtp.password")
			if kefu.IsCode(err, kefu.Stale) {
				err = kefu.Errorf(kefu.Conflict, "%s", T(ctx, "mailbox.stale"))
			}
			return "", "", err
		}
		return "/admin/mailboxes?id=" + url.QueryEscape(m.ID), m.Address, nil
	})
}

func (s *Server) adminDeleteMailbox(w http.ResponseWriter, r *http.Request) {
	if err := s.Mailboxes.Delete(r.Context(), chi.URLParam(r, "id")); err != nil {
		s.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", "/admin/mailboxes")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/admin/mailboxes", http.StatusSeeOther)
}

// adminTestMailbox tries the stored mailbox's IMAP and SMTP servers and
// shows each result with the server's words. It answers within
// mailboxCheckTimeout and a little: an unreachable or silent server is a
// failure, never a hung page.
func (s *Server) adminTestMailbox(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	m, err := s.Mailboxes.Get(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dial := s.MailDial
	if dial == nil {
		dial = email.DialIMAP
	}
	cctx, cancel := context.WithTimeout(ctx, mailboxCheckTimeout+2*time.Second)
	defer cancel()
	c := email.CheckMailbox(cctx, m, dial, mailboxCheckTimeout)
	if isHTMX(r) {
		render(w, r, http.StatusOK, mailboxCheck(&c))
		return
	}
	p, err := s.mailboxPage(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Check = &c
	s.show(w, r, p, nil, s.listMailboxes)
}

// adminDeny adds an address or a domain to the deny list.
func (s *Server) adminDeny(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.mailboxPage(ctx, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := mustForm(r)
	d, err := s.Mailboxes.Deny(ctx, email.DenyEntry{Pattern: f.Get("pattern"), Note: f.Get("note")})
	if err == nil {
		http.Redirect(w, r, "/admin/mailboxes?saved="+url.QueryEscape(d.Pattern)+"#deny", http.StatusSeeOther)
		return
	}
	p.Form.Set("pattern", f.Get("pattern"))
	p.Form.Set("note", f.Get("note"))
	s.show(w, r, p, err, s.listMailboxes)
}

// adminAllow removes a deny list entry.
func (s *Server) adminAllow(w http.ResponseWriter, r *http.Request) {
	if err := s.Mailboxes.Allow(r.Context(), mustForm(r).Get("pattern")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/mailboxes#deny", http.StatusSeeOther)
}

// pollState says when a mailbox was last fetched.
func pollState(ctx context.Context, m *email.Mailbox) string {
	if m.LastPolledAt == nil {
		return T(ctx, "mailbox.never")
	}
	return shortTime(*m.LastPolledAt)
}

// describedBy lists a field's help and, when it has one, its error.
func describedBy(p *adminPage, name, help string) string {
	ids := []string{}
	if help != "" {
		ids = append(ids, help)
	}
	if errFor(p.Errors, name) != "" {
		ids = append(ids, "a-"+name+"-error")
	}
	return strings.Join(ids, " ")
}

func yesNo(ctx context.Context, b bool) string {
	if b {
		return T(ctx, "mailbox.yes")
	}
	return T(ctx, "mailbox.no")
}

func securityOptions(ctx context.Context) []option {
	return []option{{"tls", T(ctx, "mailbox.sec_tls")}, {"starttls", T(ctx, "mailbox.sec_starttls")}, {"none", T(ctx, "mailbox.sec_none")}}
}
