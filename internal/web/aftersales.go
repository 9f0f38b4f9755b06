package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/portal"
	"github.com/kefu-desk/kefu/internal/shop"
)

// After-sales cases in the console: a panel on the ticket page that opens
// a case from the ticket (kind, the linked order's items, reason,
// photos) and shows each case's steps with the actions its step allows;
// the open cases list (/cases); the after-sales report with its charts
// and CSV (/reports/aftersales); and Admin › After-sales, where reasons
// and settings are edited. In the portal, a panel shows the customer
// their cases in plain words and takes their photos and the return's
// tracking number (aftersales_portal.go).

func (s *Server) aftersalesRoutes(r chi.Router) {
	r.Get("/t/{key}/cases", s.ticketCases)
	r.Post("/t/{key}/cases", s.openCase)
	r.Post("/cases/{id}/act", s.caseAct)
	r.Get("/cases/photos/{id}", s.casePhoto)
	r.Get("/cases", s.casesPage)
	r.Get("/cases/sidebar", s.casesSidebar)
	r.Get("/reports/aftersales", s.reportPage)
	r.Get("/reports/aftersales.csv", s.reportCSV)
}

// casesPanel is the ticket page's after-sales panel.
type casesPanel struct {
	Key     string // the ticket's
	Cases   []*aftersales.Case
	Order   *shop.Order
	Reasons []aftersales.Reason
	Rules   []aftersales.RefusalRule
	Dir     *directory
	// A refused opening: what was typed and why.
	OpenForm   url.Values
	OpenErrors map[string]string
	OpenError  string
	Act        refusedCase // a refused action on one of Cases
}

// refusedCase is a case's form that was refused: which case, what was
// typed and why, so that the page shows that form again as it was sent.
type refusedCase struct {
	Case   string // the case's id, "" when no form was refused
	Form   url.Values
	Errors map[string]string // by field
	Error  string            // about the form as a whole
}

// value is what the refused form had for name if it was c's; other
// cases' forms start empty.
func (f *refusedCase) value(c *aftersales.Case, name string) string {
	if f.Case != c.ID {
		return ""
	}
	return f.Form.Get(name)
}

// err is the refused form's message for field name if it was c's.
func (f *refusedCase) err(c *aftersales.Case, name string) string {
	if f.Case != c.ID {
		return ""
	}
	return f.Errors[name]
}

func (s *Server) loadCasesPanel(ctx context.Context, key string) (*casesPanel, error) {
	t, err := s.Tickets.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	p := &casesPanel{Key: t.Key}
	if p.Cases, err = s.Aftersales.ForTicket(ctx, t.ID); err != nil {
		return nil, err
	}
	if v, err := s.orderOf(ctx, t); err != nil {
		return nil, err
	} else if v != nil {
		p.Order = v.Order
	}
	if p.Reasons, err = s.Aftersales.Reasons(ctx); err != nil {
		return nil, err
	}
	p.Reasons = slices.DeleteFunc(p.Reasons, func(r aftersales.Reason) bool { return r.Archived })
	st, err := s.Aftersales.Settings(ctx)
	if err != nil {
		return nil, err
	}
	p.Rules = st.RefusalRules
	if p.Dir, err = s.directory(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) ticketCases(w http.ResponseWriter, r *http.Request) {
	p, err := s.loadCasesPanel(r.Context(), chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, casesPanelView(p))
}

// casePhotoLimits bound the photos of one form: as many as a case takes
// at once, each as large as a ticket attachment.
var casePhotoLimits = portal.Limits{Photos: 10, PhotoBytes: 25 << 20}

// formPhotos reads the photos of a multipart form as uploads, their type
// sniffed when the browser sent none.
func formPhotos(w http.ResponseWriter, r *http.Request) ([]aftersales.Upload, func(), error) {
	photos, _, done, err := readPhotos(w, r, casePhotoLimits)
	if err != nil {
		return nil, done, err
	}
	out := make([]aftersales.Upload, 0, len(photos))
	for _, p := range photos {
		ct, err := contentType("", p.Content)
		if err != nil {
			return nil, done, err
		}
		out = append(out, aftersales.Upload{Filename: p.Filename, ContentType: ct, Content: p.Content})
	}
	return out, done, nil
}

func (s *Server) openCase(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key := chi.URLParam(r, "key")
	ups, done, err := formPhotos(w, r)
	defer done()
	f := r.Form
	if err == nil {
		in := aftersales.OpenInput{Kind: aftersales.Kind(f.Get("kind")), TicketID: key, Reason: f.Get("reason"),
			Description: f.Get("description"), OverrideReason: f.Get("override_reason"), Uploads: ups}
		for _, id := range f["item"] {
			n, _ := strconv.Atoi(f.Get("qty." + id))
			in.Items = append(in.Items, aftersales.ItemInput{Item: id, Quantity: n})
		}
		_, err = s.Aftersales.Open(ctx, in)
	}
	s.casesPanelAfter(w, r, key, err, func(p *casesPanel) {
		p.OpenForm, p.OpenErrors = f, fieldErrors(err)
		if len(p.OpenErrors) == 0 {
			p.OpenError = message(r, err)
		}
	})
}

// casesPanelAfter answers a form of the cases panel with the panel as it
// now is: after a success it tells the ticket page to refresh; after an
// error the user can fix, it shows the form again with show's messages.
func (s *Server) casesPanelAfter(w http.ResponseWriter, r *http.Request, ticketKey string, err error, show func(*casesPanel)) {
	p, lerr := s.loadCasesPanel(r.Context(), ticketKey)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	code := http.StatusOK
	if err != nil {
		if !refusal(err) {
			s.fail(w, r, err)
			return
		}
		code = status(err)
		show(p)
	} else {
		w.Header().Set("HX-Trigger", "ticket-changed")
	}
	render(w, r, code, casesPanelView(p))
}

// refusal reports whether err is the user's to fix, shown in the form.
func refusal(err error) bool {
	return slices.Contains([]kefu.Code{kefu.Invalid, kefu.Conflict, kefu.Forbidden, kefu.Stale, kefu.TooLarge}, kefu.ErrorCode(err))
}

func (s *Server) caseAct(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	c, err := s.Aftersales.Get(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ups, done, err := formPhotos(w, r)
	defer done()
	f := r.Form
	if err == nil {
		var in aftersales.ActionInput
		if in, err = actionInput(f, c); err == nil {
			in.Uploads = ups
			version, _ := strconv.Atoi(f.Get("version"))
			_, err = s.Aftersales.Act(ctx, c.ID, version, in)
		}
	}
	s.casesPanelAfter(w, r, c.TicketKey, err, func(p *casesPanel) {
		p.Act = refusedCase{Case: c.ID, Form: f, Errors: fieldErrors(err)}
		if kefu.IsCode(err, kefu.Stale) {
			p.Act.Error = T(ctx, "cases.stale")
		} else if len(p.Act.Errors) == 0 || p.Act.Errors["action"] != "" {
			p.Act.Error = message(r, err)
		}
	})
}

// actionInput reads an action's form. Per-item counts come as
// received.N, passed.N and failed.N by item position.
func actionInput(f url.Values, c *aftersales.Case) (aftersales.ActionInput, error) {
	in := aftersales.ActionInput{Action: aftersales.Action(f.Get("action")), Note: f.Get("note"), Rule: f.Get("rule"), Reason: f.Get("reason"),
		Method: f.Get("method"), PickupDate: f.Get("pickup_date"), PickupWindow: f.Get("pickup_window"), Address: f.Get("address"),
		Carrier: f.Get("carrier"), TrackingNumber: f.Get("tracking_number"), Amount: f.Get("amount"), Reference: f.Get("reference"),
		SKU: f.Get("sku"), Plan: f.Get("plan"), Cost: f.Get("cost"), Channel: f.Get("channel"), Words: f.Get("words"), Text: f.Get("text"),
		Responsible: aftersales.Party(f.Get("responsible")), Guidance: f.Get("guidance"), Remedy: aftersales.RemedyKind(f.Get("remedy")),
		Code: f.Get("code"), ExpiresOn: f.Get("expires_on"), OwnerID: f.Get("owner_id")}
	var fs kefu.Fields
	num := func(name string) int {
		v := strings.TrimSpace(f.Get(name))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			fs.Add(name, "must be a whole number")
		}
		return n
	}
	in.Quantity, in.Days = num("quantity"), num("days")
	switch in.Action {
	case aftersales.Receive:
		for _, it := range c.Items {
			in.Items = append(in.Items, aftersales.ItemCount{Position: it.Position, Quantity: num(fmt.Sprintf("received.%d", it.Position))})
		}
	case aftersales.Inspect:
		if c.Kind == shop.Repair {
			ok := f.Get("passed") != "false"
			in.Passed = &ok
			break
		}
		for _, it := range c.Items {
			p := num(fmt.Sprintf("passed.%d", it.Position))
			in.Items = append(in.Items, aftersales.ItemCount{Position: it.Position, Passed: p, Failed: it.Received - p})
		}
	case aftersales.RecordConsent:
		// The console records consent as it is given: at the time of the
		// call or chat.
		if v := f.Get("accepted"); v != "" {
			ok := v == "true"
			in.Accepted = &ok
		}
	}
	return in, fs.Err()
}

func (s *Server) casePhoto(w http.ResponseWriter, r *http.Request) {
	p, f, err := s.Aftersales.OpenPhoto(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	servePhoto(w, r, p, f)
}

// servePhoto sends a case's photo, shown in place, never sniffed into
// something else.
func servePhoto(w http.ResponseWriter, r *http.Request, p *aftersales.Photo, f io.ReadSeeker) {
	w.Header().Set("Content-Type", p.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": p.Filename}))
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; sandbox")
	http.ServeContent(w, r, "", p.CreatedAt, f)
}

// casesListData is the open cases page.
type casesListData struct {
	Views []queueView
	Page  *aftersales.Page
	Kind  string
	Step  string
	Open  string
	Next  string
}

func (s *Server) casesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := &casesListData{Kind: q.Get("kind"), Step: q.Get("step"), Open: q.Get("open")}
	if d.Open == "" {
		d.Open = "true"
	}
	f := aftersales.Filter{Cursor: q.Get("cursor"), Limit: 50}
	if d.Kind != "" {
		f.Kind = []aftersales.Kind{aftersales.Kind(d.Kind)}
	}
	if d.Step != "" {
		f.Step = []aftersales.Step{aftersales.Step(d.Step)}
	}
	if d.Open != "all" {
		open := d.Open == "true"
		f.Open = &open
	}
	var err error
	if d.Page, err = s.Aftersales.List(ctx, f); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Page.NextCursor != "" {
		next := url.Values{"kind": {d.Kind}, "step": {d.Step}, "open": {d.Open}, "cursor": {d.Page.NextCursor}}
		d.Next = "/cases?" + next.Encode()
	}
	if d.Views, err = s.views(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, casesListPage(d))
}

// casesSidebar is the sidebar's link to the open cases, with their count,
// and to the report for those who may read it.
func (s *Server) casesSidebar(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	open := true
	n := 0
	for cursor := ""; ; {
		page, err := s.Aftersales.List(ctx, aftersales.Filter{Open: &open, Cursor: cursor, Limit: 100})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		n += len(page.Cases)
		// The sidebar shows "99+" past a page: it is a hint, not a report.
		if page.NextCursor == "" || n >= 100 {
			break
		}
		cursor = page.NextCursor
	}
	render(w, r, http.StatusOK, casesSide(n, r.URL.Query().Get("active")))
}

// reportData is the after-sales report page.
type reportData struct {
	Views  []queueView
	R      *aftersales.Report
	Form   url.Values
	Errors map[string]string
	Error  string
	CSV    string
}

func reportFilter(q url.Values) (aftersales.ReportFilter, error) {
	f := aftersales.ReportFilter{Shop: q.Get("shop"), Period: q.Get("period")}
	var fs kefu.Fields
	for _, d := range []struct {
		name string
		dst  *calendar.Date
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(d.name); v != "" {
			t, err := calendar.ParseDate(v)
			if err != nil {
				fs.Add(d.name, "must be a date like 2025-05-01")
			}
			*d.dst = t
		}
	}
	return f, fs.Err()
}

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := &reportData{Form: q, CSV: "/reports/aftersales.csv?" + q.Encode()}
	var err error
	if d.Views, err = s.views(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := reportFilter(q)
	if err == nil {
		d.R, err = s.Aftersales.ReturnReport(ctx, f)
	}
	code := http.StatusOK
	if err != nil {
		if !refusal(err) {
			s.fail(w, r, err)
			return
		}
		code = status(err)
		d.Errors = fieldErrors(err)
		if len(d.Errors) == 0 {
			d.Error = message(r, err)
		}
	}
	render(w, r, code, reportPage(d))
}

func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request) {
	f, err := reportFilter(r.URL.Query())
	var rep *aftersales.Report
	if err == nil {
		rep, err = s.Aftersales.ReturnReport(r.Context(), f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "aftersales-" + rep.From + "-" + rep.To + ".csv"}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// A byte-order mark, so spreadsheet programs read the Chinese names
	// as UTF-8.
	io.WriteString(w, "\ufeff")
	cw := csv.NewWriter(w)
	cw.WriteAll(rep.CSV())
}

// Helpers for the templates.

func caseKindLabel(ctx context.Context, k aftersales.Kind) string {
	return T(ctx, "cases.kind."+string(k))
}
func caseStepLabel(ctx context.Context, st aftersales.Step) string {
	return T(ctx, "cases.step."+string(st))
}
func caseActionLabel(ctx context.Context, a aftersales.Action) string {
	return T(ctx, "cases.action."+string(a))
}

func reasonName(ctx context.Context, rs []aftersales.Reason, key string) string {
	for _, r := range rs {
		if r.Key == key {
			return r.Name(lang(ctx))
		}
	}
	return key
}

// reasonKinds lists the kinds a reason applies to, for the open form's
// filter ("" when all).
func reasonKinds(r aftersales.Reason) string {
	ks := make([]string, len(r.Kinds))
	for i, k := range r.Kinds {
		ks[i] = string(k)
	}
	return strings.Join(ks, " ")
}

// explanation is an eligibility or refusal explanation in the page's
// language.
func explanation(ctx context.Context, en, zh string) string {
	if lang(ctx) == "zh-CN" && zh != "" {
		return zh
	}
	return en
}

// supervises reports whether the signed-in staff member is a supervisor
// or admin: they may waive a progress minimum and override a case's
// terms.
func supervises(ctx context.Context) bool { return kefu.ActorFrom(ctx).Role.Supervises() }

// pct shows a rate as a percentage.
func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// barWidth is a bar's width as a share of the largest value, for CSS.
func barWidth(v, maxV float64) string {
	if maxV <= 0 {
		return "width: 0%"
	}
	return fmt.Sprintf("width: %.1f%%", v/maxV*100)
}

func maxRate(rows []aftersales.RateRow) float64 {
	m := 0.0
	for _, r := range rows {
		m = max(m, r.Rate)
	}
	return m
}

func maxPeriodRate(rows []aftersales.PeriodRow) float64 {
	m := 0.0
	for _, r := range rows {
		m = max(m, r.ReturnRate)
	}
	return m
}

func maxReasonCases(rows []aftersales.ReasonRow) float64 {
	m := 0
	for _, r := range rows {
		m = max(m, r.Cases)
	}
	return float64(m)
}

func reasonLabel(ctx context.Context, r aftersales.ReasonRow) string {
	if lang(ctx) == "zh-CN" && r.NameZh != "" {
		return r.NameZh
	}
	if r.Name != "" {
		return r.Name
	}
	return r.Reason
}

// itemsBought is how many of an order item were bought, for the open
// form's quantity limit.
func itemQty(it shop.Item) string { return strconv.Itoa(it.Quantity) }

// ownerOptions are the supervisors a complaint may be handed to.
func ownerOptions(d *directory) []option {
	var out []option
	for _, st := range d.Staff {
		if !st.Disabled && (st.Role.Supervises()) {
			out = append(out, option{Value: st.ID, Label: st.Name})
		}
	}
	return out
}

func hasEvidence(c *aftersales.Case) bool {
	return slices.ContainsFunc(c.Photos, func(p aftersales.Photo) bool { return p.Purpose == aftersales.PhotoEvidence })
}

// deadlineTarget is the message key of a case's deadline kind.
func deadlineTarget(target string) string { return target }

// openKind is the kind the open form proposes: as typed, else a return.
func openKind(p *casesPanel) string {
	if k := p.OpenForm.Get("kind"); k != "" {
		return k
	}
	return string(shop.Return)
}

// isItemField reports whether a field error is about one of the items
// asked about.
func isItemField(k string) bool { return strings.HasPrefix(k, "items[") }

// reportDay is a date field of the report's form: as typed, else the
// report's own bound.
func reportDay(d *reportData, name string) string {
	if v := d.Form.Get(name); v != "" || d.R == nil {
		return v
	}
	if name == "from" {
		return d.R.From
	}
	return d.R.To
}
