package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// ticketData is what the ticket page shows.
type ticketData struct {
	T        *ticket.Ticket
	Messages []ticket.Message
	Dir      *directory
	Fields   []ticket.CustomField
	File     *ticket.ServiceFile
	Views    []queueView
	Viewers  []viewer
	// Conflict and Errors explain a refused edit of the properties.
	Conflict []change
	Errors   map[string]string
	SLA      *sla.TicketSLA // nil without an SLA service
	// SLAForm and SLAErrors are a refused agreement or waiver as typed,
	// with its errors under "agree." or "waive.".
	SLAForm   url.Values
	SLAErrors map[string]string
	// Order is the order the ticket names; nil without a shop service.
	Order *orderView
}

// change is one field's value as the editor saw it and as it is now.
type change struct {
	Field, Before, After string
}

// threadLimit is how much of a thread the page shows at once.
const threadLimit = 500

func (s *Server) loadTicket(ctx context.Context, key string) (*ticketData, error) {
	t, err := s.Tickets.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	dir, err := s.directory(ctx)
	if err != nil {
		return nil, err
	}
	fields, err := s.Tickets.CustomFields(ctx)
	if err != nil {
		return nil, err
	}
	fields = slices.DeleteFunc(fields, func(f ticket.CustomField) bool { return f.Archived })
	d := &ticketData{T: t, Dir: dir, Fields: fields}
	if s.SLA != nil {
		if d.SLA, err = s.SLA.ForTicket(ctx, t.ID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (s *Server) ticketPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d, err := s.loadTicket(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if d.T.MergedInto != "" {
		if target, err := s.Tickets.Get(ctx, d.T.MergedInto); err == nil {
			http.Redirect(w, r, "/t/"+target.Key, http.StatusSeeOther)
			return
		}
	}
	if d.Messages, err = s.Tickets.Messages(ctx, d.T.ID, "", threadLimit); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.File, err = s.Tickets.File(ctx, d.T.CustomerID, "", 15); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Views, err = s.views(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	d.Viewers = s.viewers.of(d.T.ID, kefu.ActorFrom(ctx).ID)
	if d.Order, err = s.orderOf(ctx, d.T); err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, ticketPage(d))
}

func (s *Server) threadFragment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d, err := s.loadTicket(ctx, chi.URLParam(r, "key"))
	if err == nil {
		d.Messages, err = s.Tickets.Messages(ctx, d.T.ID, "", threadLimit)
	}
	if err == nil {
		d.File, err = s.Tickets.File(ctx, d.T.CustomerID, "", 1)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, thread(*d))
}

func (s *Server) propsFragment(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadTicket(r.Context(), chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, props(*d))
}

// updateTicket saves an edit of the properties panel. The form carries
// the version the editor saw and every value as they saw it (seen.*),
// so only the fields they changed are sent, and when someone else
// changed the ticket first the refusal can say exactly what changed.
func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d, err := s.loadTicket(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	form := mustForm(r)
	version, err := strconv.Atoi(form.Get("version"))
	if err != nil || version < 1 {
		s.fail(w, r, kefu.Fieldf("version", "is required"))
		return
	}
	p, mine, err := patchFrom(form, d.Fields, kefu.ActorFrom(ctx).ID)
	if err != nil {
		d.Errors = fieldErrors(err)
		render(w, r, http.StatusUnprocessableEntity, props(*d))
		return
	}
	if len(mine) == 0 {
		render(w, r, http.StatusOK, props(*d))
		return
	}
	t, err := s.Tickets.Update(ctx, d.T.ID, version, p)
	var ke *kefu.Error
	if errors.As(err, &ke) && ke.Code == kefu.Stale {
		// Only a change to what the editor saw is a conflict. When just
		// the version moved (a message was added, a field they did not
		// see changed), their edit still applies to what they saw.
		if cur, ok := ke.Current.(*ticket.Ticket); ok {
			if len(conflicts(ctx, &ticketData{T: cur, Dir: d.Dir, Fields: d.Fields}, form)) == 0 {
				t, err = s.Tickets.Update(ctx, d.T.ID, cur.Version, p)
			}
		}
	}
	switch {
	case err == nil:
		d.T = t
		render(w, r, http.StatusOK, props(*d))
	case errors.As(err, &ke) && ke.Code == kefu.Stale:
		if cur, ok := ke.Current.(*ticket.Ticket); ok {
			d.T = cur
		}
		d.Conflict = conflicts(ctx, d, form)
		if len(d.Conflict) == 0 {
			// It moved again between the retry and now.
			d.Conflict = []change{{Field: T(ctx, "conflict.version"), Before: strconv.Itoa(version), After: strconv.Itoa(d.T.Version)}}
		}
		render(w, r, http.StatusConflict, props(*d))
	case kefu.IsCode(err, kefu.Invalid):
		d.Errors = fieldErrors(err)
		render(w, r, http.StatusUnprocessableEntity, props(*d))
	default:
		s.fail(w, r, err)
	}
}

// propFields are the properties the panel edits, as form names.
var propFields = []string{"status", "priority", "category", "assignee", "department", "order", "tags"}

// patchFrom builds a patch of the fields whose value differs from what
// the editor saw, and lists them.
func patchFrom(form url.Values, defs []ticket.CustomField, me string) (ticket.Patch, []string, error) {
	var p ticket.Patch
	var mine []string
	// The quick buttons (keys a and s) set one field outright.
	switch form.Get("quick") {
	case "assign-me":
		return ticket.Patch{AssigneeID: &me}, []string{"assignee"}, nil
	case "solve":
		st := ticket.Solved
		return ticket.Patch{Status: &st}, []string{"status"}, nil
	}
	changed := func(name string) (string, bool) {
		v, ok := form[name]
		if !ok {
			return "", false
		}
		val := strings.TrimSpace(v[0])
		return val, val != strings.TrimSpace(form.Get("seen."+name))
	}
	for _, f := range propFields {
		v, ok := changed(f)
		if !ok {
			continue
		}
		mine = append(mine, f)
		switch f {
		case "status":
			st := ticket.Status(v)
			p.Status = &st
		case "priority":
			pr := ticket.Priority(v)
			p.Priority = &pr
		case "category":
			p.Category = &v
		case "assignee":
			p.AssigneeID = &v
		case "department":
			p.DepartmentID = &v
		case "order":
			p.OrderNumber = &v
		case "tags":
			p.Tags = splitTags(v)
			if p.Tags == nil {
				p.Tags = []string{}
				p.RemoveTags = splitTags(form.Get("seen.tags"))
			}
		}
	}
	var fs kefu.Fields
	for _, def := range defs {
		v, ok := changed("cf." + def.Key)
		if !ok {
			continue
		}
		mine = append(mine, "cf."+def.Key)
		if p.CustomFields == nil {
			p.CustomFields = map[string]any{}
		}
		switch {
		case v == "":
			p.CustomFields[def.Key] = nil
		case def.Type == "number":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				fs.Add("custom_fields."+def.Key, "must be a number")
			}
			p.CustomFields[def.Key] = n
		default:
			p.CustomFields[def.Key] = v
		}
	}
	return p, mine, fs.Err()
}

// splitTags reads "a, b c" as tags a, b, c.
func splitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '，' })
}

// conflicts lists the fields whose current value differs from what the
// editor saw.
func conflicts(ctx context.Context, d *ticketData, form url.Values) []change {
	cur := propValues(d.T)
	var out []change
	for _, f := range propFields {
		seen, ok := form["seen."+f]
		if !ok || strings.TrimSpace(seen[0]) == cur[f] {
			continue
		}
		out = append(out, change{Field: T(ctx, "field."+f), Before: shownValue(ctx, d, f, seen[0]), After: shownValue(ctx, d, f, cur[f])})
	}
	for _, def := range d.Fields {
		seen, ok := form["seen.cf."+def.Key]
		now := cfValue(d.T, def.Key)
		if ok && strings.TrimSpace(seen[0]) != now {
			out = append(out, change{Field: fieldLabel(ctx, def), Before: orDash(seen[0]), After: orDash(now)})
		}
	}
	return out
}

// propValues are a ticket's properties as the panel's form writes them.
func propValues(t *ticket.Ticket) map[string]string {
	return map[string]string{"status": string(t.Status), "priority": string(t.Priority), "category": t.Category,
		"assignee": t.AssigneeID, "department": t.DepartmentID, "order": t.OrderNumber, "tags": strings.Join(t.Tags, ", ")}
}

// shownValue is a property value as people read it.
func shownValue(ctx context.Context, d *ticketData, field, v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return "—"
	}
	switch field {
	case "status":
		return statusLabel(ctx, ticket.Status(v))
	case "priority":
		return priorityLabel(ctx, ticket.Priority(v))
	case "category":
		return d.Dir.categoryName(ctx, v)
	case "assignee":
		return d.Dir.staffName(v)
	case "department":
		return d.Dir.deptName(ctx, v)
	}
	return v
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func cfValue(t *ticket.Ticket, key string) string {
	v, ok := t.CustomFields[key]
	if !ok || v == nil {
		return ""
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func fieldLabel(ctx context.Context, f ticket.CustomField) string {
	if lang(ctx) == "zh-CN" && f.LabelZh != "" {
		return f.LabelZh
	}
	return f.LabelEn
}

// maxUpload bounds a composer post: the attachment limit times the count
// would be 500 MB, more than any agent sends; larger is refused early.
const maxUpload = 100 << 20

// addMessage posts a reply or an internal note with attachments. The
// multipart body is spooled by the standard library (memory up to 1 MB,
// then temporary files) and each file streams from there into the blob
// store; nothing holds a whole upload in memory.
func (s *Server) addMessage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := s.Tickets.Get(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	parse := func() error { return r.ParseMultipartForm(1 << 20) }
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		parse = r.ParseForm // a message without attachments, sent without JavaScript's encoding
	}
	if err := parse(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(w, r, kefu.Errorf(kefu.TooLarge, "%s", T(ctx, "composer.too_large")))
			return
		}
		s.fail(w, r, kefu.Fieldf("body", "is not a form: %v", err))
		return
	}
	var files []*multipart.FileHeader
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
		files = r.MultipartForm.File["files"]
	}
	c := composer{TicketKey: t.Key, Kind: r.FormValue("kind"), Text: r.FormValue("text"),
		Proposes: r.FormValue("proposes_solution") != "", Status: r.FormValue("status")}
	m := ticket.NewMessage{Kind: ticket.MessageKind(c.Kind), Text: c.Text, ProposesSolution: c.Proposes, Status: ticket.Status(c.Status)}
	if m.Kind != ticket.Note {
		m.Kind = ticket.Reply
	}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, fh := range files {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty file input of a message without attachments
		}
		f, err := fh.Open()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		closers = append(closers, f)
		ct, err := contentType(fh.Header.Get("Content-Type"), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		m.Attachments = append(m.Attachments, ticket.Upload{Filename: fh.Filename, ContentType: ct, Content: f})
	}
	if _, _, err := s.Tickets.AddMessage(ctx, t.ID, m); err != nil {
		c.Errors = fieldErrors(err)
		if c.Errors == nil {
			c.Error = message(r, err)
		}
		render(w, r, status(err), composerForm(c))
		return
	}
	s.viewers.stopReplying(ctx, s.Events, t.ID, kefu.ActorFrom(ctx).ID)
	// The thread and the properties (new version, maybe a new status)
	// re-fetch at once; other consoles hear it through the event hook.
	w.Header().Set("HX-Trigger", "ticket-changed")
	render(w, r, http.StatusOK, composerForm(composer{TicketKey: t.Key, Kind: c.Kind, Sent: true}))
}

// contentType trusts a browser's specific type and sniffs the content
// when it sent none or a generic one, so a photo from a phone shows as a
// thumbnail. The sniffed bytes are read again from the start.
func contentType(declared string, f io.ReadSeeker) (string, error) {
	if declared != "" && declared != "application/octet-stream" {
		return declared, nil
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	ct, _, _ := strings.Cut(http.DetectContentType(head[:n]), ";")
	return ct, nil
}

// composer is the reply/note form's state.
type composer struct {
	TicketKey string
	Kind      string
	Text      string
	Proposes  bool
	Status    string
	Sent      bool
	Error     string
	Errors    map[string]string
}

// merge folds another ticket (by key) into this one.
func (s *Server) merge(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	target, err := s.Tickets.Get(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	source, err := s.Tickets.Get(ctx, strings.TrimSpace(r.PostFormValue("source")))
	if err != nil {
		s.fail(w, r, kefu.Fieldf("source", "%s", T(ctx, "merge.unknown", "Key", r.PostFormValue("source"))))
		return
	}
	if _, err := s.Tickets.Merge(ctx, target.ID, source.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/t/"+target.Key)
}

func (s *Server) auditFragment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// Get checks that the actor may see the ticket before its history
	// is read.
	t, err := s.Tickets.Get(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	entries, err := audit.List(ctx, s.DB.Read, audit.Filter{TicketID: t.ID, Limit: 200})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, auditList(entries, false))
}

// inlineTypes are shown in the page; anything else downloads. SVG is
// not among them: it can carry script.
var inlineTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}

func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	a, f, err := s.Tickets.OpenAttachment(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	serveAttachment(w, r, a, f)
}

// serveAttachment sends a stored file: pictures, PDFs and plain text
// shown in a sandbox, anything else as a download.
func serveAttachment(w http.ResponseWriter, r *http.Request, a *ticket.Attachment, f io.ReadSeeker) {
	ct := a.ContentType
	disposition := "attachment"
	if slices.Contains(inlineTypes, ct) {
		disposition = "inline"
	} else {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", disposition+"; filename*=UTF-8''"+url.PathEscape(a.Filename))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
	// Content-addressed: the bytes behind an id never change.
	w.Header().Set("Cache-Control", "private, max-age=86400")
	http.ServeContent(w, r, "", time.Time{}, f)
}
