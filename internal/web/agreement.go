package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/sla"
)

// The SLA panel's two actions on a ticket: recording the next contact
// time a customer agreed to (it becomes the running target's deadline),
// and a supervisor's waiver of the progress-update minimum. Both answer
// with the properties panel, where the SLA panel lives, so the new
// deadline or the refusal shows in place.

func (s *Server) agree(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key := chi.URLParam(r, "key")
	f := mustForm(r)
	err := func() error {
		t, err := s.Tickets.Get(ctx, key)
		if err != nil {
			return err
		}
		d, err := s.loadTicket(ctx, key)
		if err != nil {
			return err
		}
		// The agent types the customer's wall-clock time; the policy's
		// calendar zone is the shop's, which is what both sides mean.
		loc := time.UTC
		if d.SLA != nil && d.SLA.CalendarID != "" && s.Calendars != nil {
			if cal, err := s.Calendars.Compiled(ctx, s.DB.Read, d.SLA.CalendarID); err == nil {
				loc = cal.Location()
			}
		}
		var when time.Time
		if v := f.Get("next_contact_at"); v != "" {
			if when, err = time.ParseInLocation("2006-01-02T15:04", v, loc); err != nil {
				return kefu.Fieldf("next_contact_at", "must be a date and time")
			}
		}
		_, err = s.SLA.Agree(ctx, t.ID, sla.NewAgreement{NextContactAt: when, Channel: f.Get("channel"),
			CustomerWords: strings.TrimSpace(f.Get("customer_words"))})
		return err
	}()
	s.slaAnswer(w, r, key, err, "agree.")
}

func (s *Server) waive(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key := chi.URLParam(r, "key")
	err := func() error {
		t, err := s.Tickets.Get(ctx, key)
		if err != nil {
			return err
		}
		return s.SLA.Waive(ctx, t.ID, strings.TrimSpace(r.PostFormValue("reason")))
	}()
	s.slaAnswer(w, r, key, err, "waive.")
}

// slaAnswer renders the properties panel after an SLA action, with the
// action's field errors under prefix and what was typed kept.
func (s *Server) slaAnswer(w http.ResponseWriter, r *http.Request, key string, err error, prefix string) {
	code := http.StatusOK
	var errs map[string]string
	if err != nil {
		switch kefu.ErrorCode(err) {
		case kefu.Invalid, kefu.Forbidden, kefu.Conflict:
		default:
			s.fail(w, r, err)
			return
		}
		code = status(err)
		errs = map[string]string{}
		for k, m := range fieldErrors(err) {
			errs[prefix+k] = m
		}
		if len(errs) == 0 {
			errs[prefix+"form"] = message(r, err)
		}
	}
	d, lerr := s.loadTicket(r.Context(), key)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	d.SLAErrors = errs
	if err != nil {
		d.SLAForm = mustForm(r)
	} else {
		w.Header().Set("HX-Trigger", "ticket-changed")
	}
	render(w, r, code, props(*d))
}

// waiverNeeded reports whether the progress minimum would block solving.
func waiverNeeded(t *sla.TicketSLA) bool {
	return t.MinProgressUpdates > t.ProgressUpdates && t.WaiverReason == ""
}

// agreeChannel is the channel the form proposes: as typed, else the
// ticket's own.
func agreeChannel(d ticketData) string {
	if c := d.SLAForm.Get("channel"); c != "" {
		return c
	}
	return d.T.Channel
}
