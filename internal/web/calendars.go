package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
)

// Admin › Calendars. The form shows each weekday's hours as one line of
// intervals ("09:00-12:00, 13:30-18:00") so that a day takes any number
// of them without a widget per interval; the line is split into the
// service's raw strings unchecked, so every mistake comes back from
// calendar validation under its own path ("weekly.mon[1]").

// weekdays are the form's days in reading order.
var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// simulation is the answer of the what-if questions on a calendar's page.
type simulation struct {
	Due     *time.Time // in the calendar's zone
	Minutes *float64   // business minutes between from and to
	Error   string
}

func (s *Server) calendarRoutes(r chi.Router) {
	r.Get("/calendars", s.adminCalendars)
	r.Post("/calendars", s.adminCreateCalendar)
	r.Get("/calendars/{id}", s.adminCalendar)
	r.Post("/calendars/{id}", s.adminUpdateCalendar)
	r.Post("/calendars/{id}/import", s.adminImportCalendar)
	r.Get("/calendars/{id}/export", s.adminExportCalendar)
}

func (s *Server) listCalendars(ctx context.Context, p *adminPage) error {
	var err error
	p.Calendars, err = s.Calendars.List(ctx)
	return err
}

func (s *Server) adminCalendars(w http.ResponseWriter, r *http.Request) {
	s.listPage(w, r, "calendars", s.listCalendars, func(p *adminPage, _ string) {
		// A new calendar starts from common office hours, to be edited.
		p.Form = specForm(calendar.Spec{Timezone: "Asia/Shanghai", Weekly: calendar.Week{
			"mon": {{"09:00", "18:00"}}, "tue": {{"09:00", "18:00"}}, "wed": {{"09:00", "18:00"}},
			"thu": {{"09:00", "18:00"}}, "fri": {{"09:00", "18:00"}}}})
	})
}

func (s *Server) adminCreateCalendar(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "calendars")
	s.post(w, r, p, err, s.listCalendars, func(ctx context.Context, f url.Values) (string, string, error) {
		rec, err := s.Calendars.Create(ctx, formSpec(f))
		if err != nil {
			return "", "", err
		}
		return "/admin/calendars/" + rec.ID, rec.Name, nil
	})
}

func (s *Server) calendarPage(ctx context.Context, id string) (*adminPage, error) {
	p, err := s.adminBase(ctx, "calendars")
	if err != nil {
		return nil, err
	}
	rec, err := s.Calendars.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	p.Calendar = rec
	p.Form = specForm(rec.Spec)
	p.Form.Set("version", strconv.Itoa(rec.Version))
	return p, nil
}

func (s *Server) adminCalendar(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.calendarPage(ctx, chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	p.Query = r.URL.Query()
	p.Sim = s.simulate(ctx, p.Calendar.ID, p.Query)
	s.show(w, r, p, nil, nil)
}

func (s *Server) adminUpdateCalendar(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	p, err := s.calendarPage(r.Context(), id)
	s.post(w, r, p, err, nil, func(ctx context.Context, f url.Values) (string, string, error) {
		version, _ := strconv.Atoi(f.Get("version"))
		// The service validates before it writes: a refused spec leaves
		// the stored calendar as it was, and the page shows what was typed.
		rec, err := s.Calendars.Update(ctx, id, version, formSpec(f))
		if err != nil {
			return "", "", err
		}
		return "/admin/calendars/" + id, rec.Name, nil
	})
}

// maxImport bounds an uploaded holiday file; a year of holidays is a
// few kilobytes.
const maxImport = 1 << 20

func (s *Server) adminImportCalendar(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	p, err := s.calendarPage(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = func() error {
		r.Body = http.MaxBytesReader(w, r.Body, maxImport+64<<10)
		f, hdr, err := r.FormFile("file")
		if err != nil {
			return kefu.Fieldf("file", "choose a holiday-cn JSON or an .ics file")
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxImport+1))
		if err != nil {
			return err
		}
		if len(data) > maxImport {
			return kefu.Fieldf("file", "the file is larger than 1 MB")
		}
		format := r.FormValue("format")
		if format == "" {
			format = calendar.FormatHolidayCN
			if strings.EqualFold(path.Ext(hdr.Filename), ".ics") {
				format = calendar.FormatICS
			}
		}
		version, _ := strconv.Atoi(r.FormValue("version"))
		_, err = s.Calendars.Import(ctx, id, version, format, data)
		return err
	}()
	if err == nil {
		http.Redirect(w, r, "/admin/calendars/"+id+"?saved="+url.QueryEscape(p.Calendar.Name), http.StatusSeeOther)
		return
	}
	s.show(w, r, p, err, nil)
}

// adminExportCalendar downloads the calendar in the format import and
// `kefu sla` read.
func (s *Server) adminExportCalendar(w http.ResponseWriter, r *http.Request) {
	rec, err := s.Calendars.Get(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := json.MarshalIndent(rec.Spec, "", "  ")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="calendar-`+rec.ID+`.json"`)
	w.Write(append(b, '\n'))
}

// simulate answers "what if a request arrives at … with a target of …
// minutes" and "business minutes between … and …" with the stored
// calendar; times are typed as wall clock in the calendar's zone.
func (s *Server) simulate(ctx context.Context, id string, q url.Values) *simulation {
	at, from, to := q.Get("at"), q.Get("from"), q.Get("to")
	if at == "" && from == "" && to == "" {
		return nil
	}
	cal, err := s.Calendars.Compiled(ctx, s.DB.Read, id)
	if err != nil {
		return &simulation{Error: err.Error()}
	}
	sim := &simulation{}
	parse := func(v string) (time.Time, bool) {
		t, err := time.ParseInLocation("2006-01-02T15:04", v, cal.Location())
		if err != nil {
			sim.Error = T(ctx, "calendar.bad_time")
		}
		return t, err == nil
	}
	if at != "" {
		mins, err := strconv.ParseFloat(strings.TrimSpace(q.Get("minutes")), 64)
		if err != nil || mins < 0 {
			sim.Error = T(ctx, "calendar.bad_minutes")
		} else if t, ok := parse(at); ok {
			due := cal.Add(t, time.Duration(mins*float64(time.Minute))).In(cal.Location())
			sim.Due = &due
		}
	}
	if from != "" || to != "" {
		f, ok1 := parse(from)
		t, ok2 := parse(to)
		if ok1 && ok2 {
			m := cal.Between(f, t).Minutes()
			sim.Minutes = &m
		}
	}
	return sim
}

// specForm turns a calendar into the form's values.
func specForm(sp calendar.Spec) url.Values {
	f := url.Values{"name": {sp.Name}, "timezone": {sp.Timezone}, "include": sp.Include}
	for _, d := range weekdays {
		f.Set("weekly."+d, formatHours(sp.Weekly[d]))
	}
	for _, date := range sortedKeys(sp.Overrides) {
		f.Add("ov_date", date)
		f.Add("ov_hours", formatHours(sp.Overrides[date]))
	}
	return f
}

// formSpec reads a calendar from the form, unvalidated.
func formSpec(f url.Values) calendar.Spec {
	sp := calendar.Spec{Name: strings.TrimSpace(f.Get("name")), Timezone: strings.TrimSpace(f.Get("timezone")),
		Weekly: calendar.Week{}, Overrides: map[string][][]string{}, Include: f["include"]}
	for _, d := range weekdays {
		sp.Weekly[d] = parseHours(f.Get("weekly." + d))
	}
	hours := f["ov_hours"]
	for i, date := range f["ov_date"] {
		if date = strings.TrimSpace(date); date == "" {
			continue
		}
		var h string
		if i < len(hours) {
			h = hours[i]
		}
		sp.Overrides[date] = parseHours(h)
	}
	return sp
}

// formatHours writes intervals as "09:00-12:00, 13:30-18:00".
func formatHours(ivs [][]string) string {
	parts := make([]string, len(ivs))
	for i, iv := range ivs {
		parts[i] = strings.Join(iv, "-")
	}
	return strings.Join(parts, ", ")
}

// parseHours splits a line of intervals into raw pairs. A piece without
// a dash becomes [piece, ""], which validation reports at its index.
func parseHours(s string) [][]string {
	out := [][]string{}
	for _, piece := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == ';' || r == '；' }) {
		piece = strings.TrimSpace(piece)
		if piece == "" {
			continue
		}
		start, end, _ := strings.Cut(strings.NewReplacer("–", "-", "~", "-", "～", "-").Replace(piece), "-")
		out = append(out, []string{strings.TrimSpace(start), strings.TrimSpace(end)})
	}
	return out
}
