package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// Admin › Workflows: the chains in match order, each edited as its JSON
// document (the format of import and export) beside its diagram, which
// redraws as the document is typed; past versions stay readable, since
// instances started on them still run them.

// workflowAdminData is what Admin › Workflows shows.
type workflowAdminData struct {
	List     []workflow.Definition
	Def      *workflow.Definition // the chain shown; nil on the list
	Version  int                  // the version shown
	JSON     string               // the editor's document
	SVG      string
	Problems []kefu.FieldError // a refused document's problems, by field
	Imported []workflow.ImportResult
}

func (s *Server) workflowAdminRoutes(r chi.Router) {
	r.Get("/workflows", s.adminWorkflows)
	r.Post("/workflows", s.adminCreateWorkflow)
	r.Post("/workflows/defaults", s.adminInstallWorkflows)
	r.Post("/workflows/import", s.adminImportWorkflows)
	r.Post("/workflows/preview", s.adminPreviewWorkflow)
	r.Get("/workflows/{key}", s.adminWorkflow)
	r.Post("/workflows/{key}", s.adminSaveWorkflow)
	r.Post("/workflows/{key}/delete", s.adminDeleteWorkflow)
	r.Get("/workflows/{key}/export", s.adminExportWorkflow)
}

// newChainTemplate is what the editor of a new chain starts with.
const newChainTemplate = `{
  "key": "my-chain",
  "name": {"en": "My chain", "zh-CN": "我的流程"},
  "entry": {"causes": ["quality"]},
  "stages": [
    {
      "key": "customer_service",
      "name": {"en": "Customer service", "zh-CN": "客服"},
      "customer": {"en": "Customer service is checking your request.", "zh-CN": "客服正在核实您的请求。"},
      "department": "customer-service",
      "sla": {"minutes": 30, "warn_percent": 80},
      "decisions": [{"kind": "close", "outcome": "resolved"}]
    }
  ]
}`

func (s *Server) workflowPage(ctx context.Context) (*adminPage, error) {
	p, err := s.adminBase(ctx, "workflows")
	if err != nil {
		return nil, err
	}
	p.Workflows = &workflowAdminData{}
	p.Workflows.List, err = s.Workflows.Definitions(ctx)
	return p, err
}

func (s *Server) adminWorkflows(w http.ResponseWriter, r *http.Request) {
	p, err := s.workflowPage(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	p.Workflows.JSON = newChainTemplate
	render(w, r, http.StatusOK, adminView(p))
}

// parseDocuments reads one document, a list, or {"workflows": [...]}.
func parseDocuments(text string) ([]workflow.Document, error) {
	text = strings.TrimSpace(text)
	bad := func(err error) error { return kefu.Fieldf("json", "this is not a workflow document in JSON: %v", err) }
	switch {
	case strings.HasPrefix(text, "["):
		var ds []workflow.Document
		if err := strictJSON(text, &ds); err != nil {
			return nil, bad(err)
		}
		return ds, nil
	case strings.Contains(text, `"workflows"`) && !strings.Contains(text, `"stages"`):
		var wrap struct {
			Workflows []workflow.Document `json:"workflows"`
		}
		if err := strictJSON(text, &wrap); err != nil {
			return nil, bad(err)
		}
		return wrap.Workflows, nil
	}
	var d workflow.Document
	if err := strictJSON(text, &d); err != nil {
		return nil, bad(err)
	}
	return []workflow.Document{d}, nil
}

// strictJSON refuses unknown fields: a misspelt "decisons" is a mistake
// to name, not to ignore.
func strictJSON(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func parseDocument(text string) (workflow.Document, error) {
	ds, err := parseDocuments(text)
	if err == nil && len(ds) != 1 {
		err = kefu.Fieldf("json", "one workflow at a time here; import several under Import")
	}
	if err != nil {
		return workflow.Document{}, err
	}
	return ds[0], nil
}

// refusedDocument shows a page again with a document's problems.
func (s *Server) refusedDocument(w http.ResponseWriter, r *http.Request, p *adminPage, err error) {
	if !p.refused(r, err) {
		s.fail(w, r, err)
		return
	}
	var e *kefu.Error
	if asKefuError(err, &e) {
		p.Workflows.Problems = e.Fields
	}
	render(w, r, status(err), adminView(p))
}

func asKefuError(err error, e **kefu.Error) bool { return errors.As(err, e) }

func (s *Server) adminCreateWorkflow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.workflowPage(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Workflows.JSON = r.PostFormValue("json")
	doc, err := parseDocument(p.Workflows.JSON)
	var d *workflow.Definition
	if err == nil {
		d, err = s.Workflows.CreateDefinition(ctx, doc)
	}
	if err != nil {
		s.refusedDocument(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/admin/workflows/"+url.PathEscape(d.Key)+"?saved="+url.QueryEscape(T(ctx, "wfadmin.created")), http.StatusSeeOther)
}

func (s *Server) adminInstallWorkflows(w http.ResponseWriter, r *http.Request) {
	s.importShown(w, r, func(ctx context.Context) ([]workflow.ImportResult, error) { return s.Workflows.InstallDefaults(ctx) })
}

func (s *Server) adminImportWorkflows(w http.ResponseWriter, r *http.Request) {
	text := r.PostFormValue("json")
	if f, _, err := r.FormFile("file"); err == nil {
		b, err := io.ReadAll(io.LimitReader(f, 4<<20))
		f.Close()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		text = string(b)
	}
	s.importShown(w, r, func(ctx context.Context) ([]workflow.ImportResult, error) {
		ds, err := parseDocuments(text)
		if err != nil {
			return nil, err
		}
		return s.Workflows.Import(ctx, ds)
	})
}

// importShown imports and shows the list with what happened to each.
func (s *Server) importShown(w http.ResponseWriter, r *http.Request, run func(context.Context) ([]workflow.ImportResult, error)) {
	ctx := r.Context()
	res, err := run(ctx)
	p, perr := s.workflowPage(ctx)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	p.Workflows.JSON = newChainTemplate
	if err != nil {
		s.refusedDocument(w, r, p, err)
		return
	}
	p.Workflows.Imported = res
	p.Saved = T(ctx, "wfadmin.imported", "Count", len(res))
	render(w, r, http.StatusOK, adminView(p))
}

// adminPreviewWorkflow draws the editor's document as it stands, or
// lists its problems: the editor asks as the administrator types.
func (s *Server) adminPreviewWorkflow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	doc, err := parseDocument(r.PostFormValue("json"))
	if err == nil {
		err = s.Workflows.Check(ctx, &doc)
	}
	var e *kefu.Error
	if err != nil && !asKefuError(err, &e) {
		s.fail(w, r, err)
		return
	}
	var svg string
	var problems []kefu.FieldError
	if e != nil {
		problems = e.Fields
	}
	if len(doc.Stages) > 0 && (e == nil || !brokenGraph(problems)) {
		svg = string(workflow.Diagram(&doc, lang(ctx), nil, ""))
	}
	render(w, r, http.StatusOK, workflowPreview(svg, problems))
}

// brokenGraph reports whether problems leave nothing sensible to draw.
func brokenGraph(problems []kefu.FieldError) bool {
	for _, p := range problems {
		if strings.HasSuffix(p.Field, ".key") && strings.HasPrefix(p.Field, "stages[") {
			return true
		}
	}
	return false
}

func (s *Server) adminWorkflow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.workflowPage(ctx)
	if err == nil {
		err = s.showWorkflow(ctx, p, chi.URLParam(r, "key"), r.URL.Query().Get("version"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	render(w, r, http.StatusOK, adminView(p))
}

// showWorkflow fills p with chain key at version (its current one when
// version is empty).
func (s *Server) showWorkflow(ctx context.Context, p *adminPage, key, version string) error {
	d, err := s.Workflows.Definition(ctx, key)
	if err != nil {
		return err
	}
	wf := p.Workflows
	wf.Def, wf.Version = d, d.Version
	doc := &d.Document
	if v, err := strconv.Atoi(version); err == nil && v != d.Version {
		if doc, err = s.Workflows.DefinitionVersion(ctx, d.ID, v); err != nil {
			return err
		}
		wf.Version = v
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	wf.JSON = string(b)
	wf.SVG = string(workflow.Diagram(doc, lang(ctx), nil, ""))
	return nil
}

func (s *Server) adminSaveWorkflow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key := chi.URLParam(r, "key")
	p, err := s.workflowPage(ctx)
	if err == nil {
		err = s.showWorkflow(ctx, p, key, "")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Workflows.JSON = r.PostFormValue("json")
	doc, err := parseDocument(p.Workflows.JSON)
	if err == nil {
		version, _ := strconv.Atoi(r.PostFormValue("version"))
		_, err = s.Workflows.UpdateDefinition(ctx, key, version, doc)
	}
	if kefu.IsCode(err, kefu.Stale) {
		err = kefu.Errorf(kefu.Conflict, "%s", T(ctx, "wfadmin.stale"))
	}
	if err != nil {
		s.refusedDocument(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/admin/workflows/"+url.PathEscape(key)+"?saved="+url.QueryEscape(T(ctx, "wfadmin.saved")), http.StatusSeeOther)
}

func (s *Server) adminDeleteWorkflow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := s.Workflows.DeleteDefinition(ctx, chi.URLParam(r, "key")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/workflows?saved="+url.QueryEscape(T(ctx, "wfadmin.deleted")), http.StatusSeeOther)
}

func (s *Server) adminExportWorkflow(w http.ResponseWriter, r *http.Request) {
	d, err := s.Workflows.Export(r.Context(), chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "workflow-" + d.Key + ".json"}))
	w.Write(b.Bytes())
}
