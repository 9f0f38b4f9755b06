package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// Workflows in the console: the sidebar's "work waiting for my
// department", "picked up by me" and "I follow" queues (/work/…), an
// instance's page where its department picks a stage up and decides it
// (/work/i/{id}), a ticket's chains with the form that starts one, and
// Admin › Workflows, where chains are edited as JSON beside their diagram.

// workQueues are the console's workflow queues, in sidebar order.
var workQueues = []string{workflow.QueueWaiting, workflow.QueueMine, workflow.QueueFollowing}

func (s *Server) workflowRoutes(r chi.Router) {
	r.Get("/work", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/work/"+workflow.QueueWaiting, http.StatusSeeOther)
	})
	r.Get("/work/sidebar", s.workSidebar)
	r.Get("/work/{queue}", s.workQueue)
	r.Get("/work/i/{id}", s.workInstance)
	r.Post("/work/i/{id}/pickup", s.workPickUp)
	r.Post("/work/i/{id}/decide", s.workDecide)
	r.Post("/work/i/{id}/note", s.workNote)
	r.Post("/work/i/{id}/follower", s.workFollower)
	r.Get("/work/i/{id}/diagram", s.workDiagram)
	r.Get("/work/i/{id}/photos/{file}", s.workPhoto)
	r.Get("/work/i/{id}/files/{file}", s.workFile)
	r.Get("/t/{key}/workflows", s.ticketWorkflows)
	r.Post("/t/{key}/workflows", s.startWorkflow)
}

// workSidebar is the sidebar's workflow queues with their counts.
func (s *Server) workSidebar(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	counts, err := s.Workflows.Counts(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, workSide(counts, r.URL.Query().Get("active")))
}

type workQueueData struct {
	Views     []queueView
	Queue     string
	Instances []workflow.Instance
	Dir       *directory
}

func (s *Server) workQueue(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := chi.URLParam(r, "queue")
	if !slices.Contains(workQueues, q) {
		s.notFound(w, r)
		return
	}
	d := workQueueData{Queue: q}
	var err error
	if d.Views, err = s.views(ctx); err == nil {
		if d.Instances, err = s.Workflows.List(ctx, workflow.ListFilter{Queue: q}); err == nil {
			d.Dir, err = s.directory(ctx)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("fragment") == "list" {
		render(w, r, http.StatusOK, workList(d))
		return
	}
	render(w, r, http.StatusOK, workQueuePage(d))
}

// workPage is an instance's page.
type workPage struct {
	Views  []queueView
	In     *workflow.Detail
	Doc    *workflow.Document
	Dir    *directory
	Staff  []team.Staff // for handing the follow-up on
	Form   url.Values
	Errors map[string]string
	Error  string
	Saved  string
}

func (s *Server) loadWorkPage(ctx context.Context, id string) (*workPage, error) {
	in, err := s.Workflows.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &workPage{In: in, Form: url.Values{}}
	if p.Doc, err = s.Workflows.DefinitionVersion(ctx, in.DefinitionID, in.DefinitionVersion); err != nil {
		return nil, err
	}
	if p.Views, err = s.views(ctx); err != nil {
		return nil, err
	}
	if p.Dir, err = s.directory(ctx); err != nil {
		return nil, err
	}
	p.Staff = p.Dir.Staff
	return p, nil
}

func (s *Server) workInstance(w http.ResponseWriter, r *http.Request) {
	p, err := s.loadWorkPage(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	render(w, r, http.StatusOK, workInstancePage(p))
}

// workRefused shows the instance page again with what was refused, or
// the error page when it is not a refusal of the form.
func (s *Server) workRefused(w http.ResponseWriter, r *http.Request, id string, form url.Values, err error) {
	switch kefu.ErrorCode(err) {
	case kefu.Invalid, kefu.Conflict, kefu.Stale, kefu.Forbidden, kefu.TooLarge:
	default:
		s.fail(w, r, err)
		return
	}
	p, lerr := s.loadWorkPage(r.Context(), id)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	p.Form, p.Errors = form, fieldErrors(err)
	if len(p.Errors) == 0 {
		p.Error = message(r, err)
	}
	if kefu.IsCode(err, kefu.Stale) {
		p.Error = T(r.Context(), "work.stale")
	}
	render(w, r, status(err), workInstancePage(p))
}

// version is the instance version a form was shown at: acting on it
// refuses a stage that moved meanwhile.
func formVersion(f url.Values) int {
	v, _ := strconv.Atoi(f.Get("version"))
	return v
}

func (s *Server) workPickUp(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	form := mustForm(r)
	if _, err := s.Workflows.PickUp(r.Context(), id, formVersion(form)); err != nil {
		s.workRefused(w, r, id, form, err)
		return
	}
	http.Redirect(w, r, "/work/i/"+id+"?saved="+url.QueryEscape(T(r.Context(), "work.picked")), http.StatusSeeOther)
}

// maxFormFiles bounds the files of one form post in memory.
const maxFormFiles = 64 << 20

// formFiles reads the files of a multipart form as attachments.
func formFiles(r *http.Request, name string) ([]ticket.File, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var out []ticket.File
	for _, fh := range r.MultipartForm.File[name] {
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(f, ticket.DefaultLimits.AttachmentBytes+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > ticket.DefaultLimits.AttachmentBytes {
			return nil, kefu.Fieldf("attachments", "%s is larger than %d MB", fh.Filename, ticket.DefaultLimits.AttachmentBytes>>20)
		}
		out = append(out, ticket.File{Filename: fh.Filename, ContentType: fh.Header.Get("Content-Type"), Data: data})
	}
	return out, nil
}

func parseWorkForm(w http.ResponseWriter, r *http.Request) (url.Values, []ticket.File, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormFiles)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return url.Values{}, nil, kefu.Fieldf("attachments", "the files are too large together (at most %d MB)", maxFormFiles>>20)
		}
	}
	form := mustForm(r)
	files, err := formFiles(r, "files")
	return form, files, err
}

func (s *Server) workDecide(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	form, files, err := parseWorkForm(w, r)
	if err == nil {
		kind, to, _ := strings.Cut(form.Get("decision"), ":")
		in := workflow.DecideInput{Decision: workflow.DecisionKind(kind), To: to, Note: form.Get("note"), Reply: form.Get("reply"),
			Results: map[string]any{}, Files: files}
		for k, vs := range form {
			if key, ok := strings.CutPrefix(k, "result."); ok && len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
				in.Results[key] = vs[0]
			}
		}
		if kind == "" {
			err = kefu.Fieldf("decision", "%s", T(ctx, "work.choose_decision"))
		} else {
			_, err = s.Workflows.Decide(ctx, id, formVersion(form), in)
		}
	}
	if err != nil {
		s.workRefused(w, r, id, form, err)
		return
	}
	http.Redirect(w, r, "/work/i/"+id+"?saved="+url.QueryEscape(T(ctx, "work.decided")), http.StatusSeeOther)
}

func (s *Server) workNote(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	form, files, err := parseWorkForm(w, r)
	if err == nil {
		_, err = s.Workflows.AddNote(ctx, id, workflow.NoteInput{Text: form.Get("text"), Files: files})
	}
	if err != nil {
		// The note form's fields carry a prefix on the page.
		if e, ok := err.(*kefu.Error); ok {
			for i := range e.Fields {
				e.Fields[i].Field = "note_" + e.Fields[i].Field
			}
		}
		s.workRefused(w, r, id, form, err)
		return
	}
	http.Redirect(w, r, "/work/i/"+id+"?saved="+url.QueryEscape(T(ctx, "work.noted"))+"#history", http.StatusSeeOther)
}

func (s *Server) workFollower(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	form := mustForm(r)
	if _, err := s.Workflows.SetFollower(ctx, id, formVersion(form), form.Get("follower_id")); err != nil {
		s.workRefused(w, r, id, form, err)
		return
	}
	http.Redirect(w, r, "/work/i/"+id+"?saved="+url.QueryEscape(T(ctx, "work.follower_saved")), http.StatusSeeOther)
}

// workDiagram is an instance's chain with its route, as SVG.
func (s *Server) workDiagram(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := s.Workflows.Get(ctx, chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	svg, err := s.Workflows.DiagramOf(ctx, in.DefinitionID, in.ID, lang(ctx))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeSVG(w, svg)
}

func writeSVG(w http.ResponseWriter, svg []byte) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(svg)
}

func (s *Server) workPhoto(w http.ResponseWriter, r *http.Request) {
	a, f, err := s.Workflows.Photo(r.Context(), chi.URLParam(r, "id"), chi.URLParam(r, "file"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	serveAttachment(w, r, a, f)
}

func (s *Server) workFile(w http.ResponseWriter, r *http.Request) {
	a, f, err := s.Workflows.OpenAttachment(r.Context(), chi.URLParam(r, "id"), chi.URLParam(r, "file"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	serveAttachment(w, r, &ticket.Attachment{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256}, f)
}

// ticketWorkData is a ticket's workflow panel.
type ticketWorkData struct {
	Key       string
	Instances []workflow.Instance
	Chains    []workflow.Definition // enabled ones, to start
	Causes    []string
	Form      url.Values
	Errors    map[string]string
	Error     string
}

func (s *Server) ticketWork(ctx context.Context, key string) (*ticketWorkData, error) {
	t, err := s.Tickets.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	d := &ticketWorkData{Key: t.Key, Form: url.Values{}}
	if d.Instances, err = s.Workflows.List(ctx, workflow.ListFilter{TicketID: t.ID}); err != nil {
		return nil, err
	}
	defs, err := s.Workflows.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	for _, def := range defs {
		if def.Disabled {
			continue
		}
		d.Chains = append(d.Chains, def)
		// A chain's first cause is its own; the others are the reasons
		// of after-sales cases it also takes.
		if len(def.Entry.Causes) > 0 && !slices.Contains(d.Causes, def.Entry.Causes[0]) {
			d.Causes = append(d.Causes, def.Entry.Causes[0])
		}
	}
	return d, nil
}

func (s *Server) ticketWorkflows(w http.ResponseWriter, r *http.Request) {
	d, err := s.ticketWork(r.Context(), chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, ticketWorkPanel(d))
}

func (s *Server) startWorkflow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key := chi.URLParam(r, "key")
	form := mustForm(r)
	in, err := s.Workflows.Start(ctx, workflow.StartInput{TicketID: key, Definition: form.Get("definition"), Cause: form.Get("cause"),
		Note: form.Get("note"), Reply: form.Get("reply")})
	if err == nil {
		redirect(w, r, "/work/i/"+in.ID)
		return
	}
	d, lerr := s.ticketWork(ctx, key)
	if lerr != nil || !slices.Contains([]kefu.Code{kefu.Invalid, kefu.Conflict, kefu.Forbidden}, kefu.ErrorCode(err)) {
		s.fail(w, r, err)
		return
	}
	d.Form, d.Errors = form, fieldErrors(err)
	if len(d.Errors) == 0 {
		d.Error = message(r, err)
	}
	render(w, r, status(err), ticketWorkPanel(d))
}

// Helpers for the templates.

func stageName(doc *workflow.Document, key, lang string) string {
	if st := doc.Stage(key); st != nil {
		return st.Name.In(lang)
	}
	return key
}

func (p *workPage) stage() *workflow.Stage { return p.Doc.Stage(p.In.Stage) }

// decisionValue names a decision in the decide form: kind, and where to.
func decisionValue(d workflow.Decision) string {
	if d.To != "" {
		return string(d.Kind) + ":" + d.To
	}
	return string(d.Kind)
}

func decisionLabel(ctx context.Context, doc *workflow.Document, d workflow.Decision) string {
	label := d.Label.In(lang(ctx))
	if label == "" {
		label = T(ctx, "work.decision."+string(d.Kind))
	}
	switch {
	case d.Outcome != "":
		return label + " → " + T(ctx, "work.outcome."+string(d.Outcome))
	case d.To != "":
		return label + " → " + stageName(doc, d.To, lang(ctx))
	}
	return label
}

func deptLabel(ctx context.Context, dir *directory, id string) string {
	for _, d := range dir.Departments {
		if d.ID == id {
			return deptName(ctx, d)
		}
	}
	return ""
}

// resultText shows a recorded result with its field's label.
func resultText(ctx context.Context, doc *workflow.Document, stage, key string, v any) string {
	label := key
	if st := doc.Stage(stage); st != nil {
		for _, f := range st.Fields {
			if f.Key == key {
				label = f.Label.In(lang(ctx))
				if f.Unit != "" {
					v = fmt.Sprint(v, " ", f.Unit)
				}
			}
		}
	}
	return label + ": " + fmt.Sprint(v)
}

// stepResults lists a step's results in the stage's field order.
func stepResults(doc *workflow.Document, st workflow.Step) []string {
	var keys []string
	if s := doc.Stage(st.Stage); s != nil {
		for _, f := range s.Fields {
			if _, ok := st.Results[f.Key]; ok {
				keys = append(keys, f.Key)
			}
		}
	}
	return keys
}

// categoryOf names a ticket category by its key.
func categoryOf(ctx context.Context, dir *directory, key string) string {
	for _, c := range dir.Categories {
		if c.Key == key {
			return categoryLabel(ctx, c)
		}
	}
	return key
}

// blockedText says why the viewer may not act on the stage, in their
// language.
func blockedText(ctx context.Context, p *workPage) string {
	st := p.stage()
	if st == nil {
		return ""
	}
	if p.In.Actions.PickUp && !p.In.Actions.Decide {
		return T(ctx, "work.blocked_picked", "Name", p.In.PickedByName)
	}
	who := T(ctx, "work.blocked_staff")
	if st.Role != "" {
		who = T(ctx, "role."+string(st.Role))
	}
	return T(ctx, "work.blocked", "Stage", st.Name.In(lang(ctx)), "Department", deptLabel(ctx, p.Dir, p.In.DepartmentID), "Who", who)
}

func progressText(ctx context.Context, in *workflow.Detail) string {
	if in.MinProgressUpdates == 0 {
		return T(ctx, "work.progress_count", "Done", in.ProgressUpdates)
	}
	return T(ctx, "work.progress", "Done", in.ProgressUpdates, "Min", in.MinProgressUpdates)
}

// seesText lists what a stage shows, in words.
func seesText(ctx context.Context, sees []string) string {
	var parts []string
	for _, s := range sees {
		parts = append(parts, T(ctx, "work.see."+s))
	}
	return strings.Join(parts, ", ")
}

// causeLabel names a cause in words; a shop's own cause shows as it is.
func causeLabel(ctx context.Context, cause string) string {
	if t := T(ctx, "work.cause."+cause); t != "work.cause."+cause {
		return t
	}
	return cause
}
