package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// workflowRoutes lists the routes of after-sales workflows: chains as
// documents (administrators change them; every staff member reads them)
// and their running instances (the service decides who may act on which
// stage).
func (s *Server) workflowRoutes() {
	const (
		get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
		ticketsR, ticketsW         = "tickets:read", "tickets:write"
		admin                      = "admin"
	)
	op(s, get, "/workflows", "list-workflows", "Workflow chains in match order", ticketsR, s.listWorkflows)
	op(s, post, "/workflows", "create-workflow", "Create a chain from its document; every problem is named by field and stage", admin, s.createWorkflow, 201)
	op(s, post, "/workflows/import", "import-workflows", "Import chains by key: new keys are created, known ones get a new version (all or nothing)", admin, s.importWorkflows)
	op(s, post, "/workflows/defaults", "install-default-workflows", "Install (or update) the shipped chains: seed 002's four and the complaint escalation", admin, s.installDefaultWorkflows)
	op(s, get, "/workflows/{id}", "get-workflow", "A chain (id or key) at its current version", ticketsR, s.getWorkflow)
	op(s, put, "/workflows/{id}", "replace-workflow", "Store a new version of a chain; running instances keep theirs. Send If-Match", admin, s.replaceWorkflow)
	op(s, del, "/workflows/{id}", "delete-workflow", "Delete a chain that never ran (disable one that did)", admin, s.deleteWorkflow, 204)
	op(s, get, "/workflows/{id}/export", "export-workflow", "A chain's document, to import elsewhere", ticketsR, s.exportWorkflow)
	op(s, get, "/workflows/{id}/versions/{version}", "get-workflow-version", "One version of a chain, as instances started on it run it", ticketsR, s.getWorkflowVersion)
	op(s, get, "/workflows/{id}/diagram", "workflow-diagram", "The chain drawn as SVG; with instance, that instance's route on its version", ticketsR, s.workflowDiagram)

	op(s, get, "/workflow-instances", "list-workflow-instances", "Instances: a queue (waiting for my departments, mine, following) or those of a ticket or case", ticketsR, s.listInstances)
	op(s, post, "/workflow-instances", "start-workflow", "Start a chain on a ticket or after-sales case", ticketsW, s.startInstance, 201)
	op(s, get, "/workflow-instances/{id}", "get-workflow-instance", "An instance with its history, what you may see of the request and what you may do", ticketsR, s.getInstance)
	op(s, patch, "/workflow-instances/{id}", "update-workflow-instance", "Hand the follow-up to another person; send If-Match", ticketsW, s.updateInstance)
	// Stage actions act on a version: a stale If-Match answers 412.
	register(s, huma.Operation{OperationID: "pick-up-workflow-stage", Method: post, Path: "/workflow-instances/{id}/pickup",
		Summary: "Pick up the current stage; send If-Match", Errors: []int{http.StatusPreconditionFailed}}, ticketsW, s.pickUpStage)
	register(s, huma.Operation{OperationID: "decide-workflow-stage", Method: post, Path: "/workflow-instances/{id}/decisions",
		Summary: "Decide the current stage: on to the next, back, or end; send If-Match", Errors: []int{http.StatusPreconditionFailed}}, ticketsW, s.decideStage)
	op(s, post, "/workflow-instances/{id}/notes", "add-workflow-note", "Add a note (with files) to the history", ticketsW, s.addWorkflowNote, 201)
	op(s, post, "/workflow-instances/{id}/attachments", "attach-workflow-files", "Attach files (inspection photos, reports) to the history", ticketsW, s.attachWorkflowFiles, 201)
	op(s, get, "/workflow-instances/{id}/attachments/{file}", "get-workflow-attachment", "Download a file of the history", ticketsR, s.getWorkflowAttachment)
	op(s, get, "/workflow-instances/{id}/photos/{file}", "get-workflow-photo", "A photo the customer sent, for stages that show photos", ticketsR, s.getWorkflowPhoto)
}

type workflowOut struct {
	ETag string `header:"ETag"`
	Body *workflow.Definition
}

type workflowListOut struct {
	Body struct {
		Workflows []workflow.Definition `json:"workflows"`
	}
}

func (s *Server) listWorkflows(ctx context.Context, _ *struct{}) (*workflowListOut, error) {
	ds, err := s.Workflows.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	out := &workflowListOut{}
	out.Body.Workflows = ds
	return out, nil
}

type createWorkflowIn struct {
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried request with the same key creates nothing twice"`
	Body           workflow.Document
}

type createdWorkflowOut struct {
	Status   int
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     *workflow.Definition
}

func (s *Server) createWorkflow(ctx context.Context, in *createWorkflowIn) (*createdWorkflowOut, error) {
	d, err := s.Workflows.CreateDefinition(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &createdWorkflowOut{Status: http.StatusCreated, ETag: etag(d.Version), Location: "/api/v1/workflows/" + d.ID, Body: d}, nil
}

type importWorkflowsIn struct {
	Body struct {
		Workflows []workflow.Document `json:"workflows" doc:"Documents as GET /workflows/{id}/export gives them"`
	}
}

type importOut struct {
	Body struct {
		Results []workflow.ImportResult `json:"results"`
	}
}

func importResult(rs []workflow.ImportResult, err error) (*importOut, error) {
	if err != nil {
		return nil, err
	}
	out := &importOut{}
	out.Body.Results = rs
	return out, nil
}

func (s *Server) importWorkflows(ctx context.Context, in *importWorkflowsIn) (*importOut, error) {
	return importResult(s.Workflows.Import(ctx, in.Body.Workflows))
}

func (s *Server) installDefaultWorkflows(ctx context.Context, _ *struct{}) (*importOut, error) {
	return importResult(s.Workflows.InstallDefaults(ctx))
}

func (s *Server) getWorkflow(ctx context.Context, in *idPath) (*workflowOut, error) {
	d, err := s.Workflows.Definition(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &workflowOut{ETag: etag(d.Version), Body: d}, nil
}

type replaceWorkflowIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The ETag of the version being changed; a stale one gets 412 with the current chain"`
	Body    workflow.Document
}

func (s *Server) replaceWorkflow(ctx context.Context, in *replaceWorkflowIn) (*workflowOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	d, err := s.Workflows.UpdateDefinition(ctx, in.ID, v, in.Body)
	if err != nil {
		return nil, err
	}
	return &workflowOut{ETag: etag(d.Version), Body: d}, nil
}

func (s *Server) deleteWorkflow(ctx context.Context, in *idPath) (*emptyOut, error) {
	if err := s.Workflows.DeleteDefinition(ctx, in.ID); err != nil {
		return nil, err
	}
	return &emptyOut{Status: http.StatusNoContent}, nil
}

type documentOut struct {
	ContentDisposition string `header:"Content-Disposition"`
	Body               *workflow.Document
}

func (s *Server) exportWorkflow(ctx context.Context, in *idPath) (*documentOut, error) {
	d, err := s.Workflows.Export(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &documentOut{ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": "workflow-" + d.Key + ".json"}), Body: d}, nil
}

type workflowVersionIn struct {
	ID      string `path:"id"`
	Version int    `path:"version" minimum:"1"`
}

func (s *Server) getWorkflowVersion(ctx context.Context, in *workflowVersionIn) (*documentOut, error) {
	d, err := s.Workflows.DefinitionVersion(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	return &documentOut{Body: d}, nil
}

type diagramIn struct {
	ID       string `path:"id"`
	Lang     string `query:"lang" enum:"en,zh-CN" default:"en"`
	Instance string `query:"instance" doc:"An instance of the chain: its version is drawn with its route"`
}

func (s *Server) workflowDiagram(ctx context.Context, in *diagramIn) (*huma.StreamResponse, error) {
	svg, err := s.Workflows.DiagramOf(ctx, in.ID, in.Instance, in.Lang)
	if err != nil {
		return nil, err
	}
	return streamFile("image/svg+xml", "", int64(len(svg)), io.NopCloser(bytes.NewReader(svg))), nil
}

type instancesIn struct {
	Queue    string `query:"queue" enum:"waiting,mine,following," doc:"waiting: stages my departments (and roles) may act on, and those escalated to me; mine: stages I picked up; following: requests I follow"`
	TicketID string `query:"ticket_id" doc:"A ticket's instances (id or key)"`
	CaseID   string `query:"case_id" doc:"An after-sales case's instances"`
	Limit    int    `query:"limit" minimum:"1" maximum:"200" default:"200"`
}

type instancesOut struct {
	Body struct {
		Instances []workflow.Instance `json:"instances"`
	}
}

func (s *Server) listInstances(ctx context.Context, in *instancesIn) (*instancesOut, error) {
	is, err := s.Workflows.List(ctx, workflow.ListFilter{Queue: in.Queue, TicketID: in.TicketID, CaseID: in.CaseID, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &instancesOut{}
	out.Body.Instances = is
	if out.Body.Instances == nil {
		out.Body.Instances = []workflow.Instance{}
	}
	return out, nil
}

type instanceOut struct {
	Status   int
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     *workflow.Detail
}

func instanceResult(d *workflow.Detail, err error, status int) (*instanceOut, error) {
	if err != nil {
		return nil, err
	}
	out := &instanceOut{Status: status, ETag: etag(d.Version), Body: d}
	if status == http.StatusCreated {
		out.Location = "/api/v1/workflow-instances/" + d.ID
	}
	return out, nil
}

type startInstanceIn struct {
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried request with the same key starts nothing twice"`
	Body           workflow.StartInput
}

func (s *Server) startInstance(ctx context.Context, in *startInstanceIn) (*instanceOut, error) {
	d, err := s.Workflows.Start(ctx, in.Body)
	return instanceResult(d, err, http.StatusCreated)
}

func (s *Server) getInstance(ctx context.Context, in *idPath) (*instanceOut, error) {
	d, err := s.Workflows.Get(ctx, in.ID)
	return instanceResult(d, err, http.StatusOK)
}

type updateInstanceIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The ETag of the instance; a stale one gets 412 with the current instance"`
	Body    struct {
		FollowerID string `json:"follower_id" doc:"Who follows the request until it is solved; empty for nobody"`
	}
}

func (s *Server) updateInstance(ctx context.Context, in *updateInstanceIn) (*instanceOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	d, err := s.Workflows.SetFollower(ctx, in.ID, v, in.Body.FollowerID)
	return instanceResult(d, err, http.StatusOK)
}

type stageActionIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The ETag of the instance; if it moved meanwhile the request gets 412 with the current instance"`
}

func (s *Server) pickUpStage(ctx context.Context, in *stageActionIn) (*instanceOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	d, err := s.Workflows.PickUp(ctx, in.ID, v)
	return instanceResult(d, err, http.StatusOK)
}

type decideIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The ETag of the instance; if it moved meanwhile the request gets 412 with the current instance"`
	Body    workflow.DecideInput
}

func (s *Server) decideStage(ctx context.Context, in *decideIn) (*instanceOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	d, err := s.Workflows.Decide(ctx, in.ID, v, in.Body)
	return instanceResult(d, err, http.StatusOK)
}

type noteIn struct {
	ID             string `path:"id"`
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried request with the same key adds nothing twice"`
	Body           workflow.NoteInput
}

type stepOut struct {
	Status int
	Body   *workflow.Step
}

func (s *Server) addWorkflowNote(ctx context.Context, in *noteIn) (*stepOut, error) {
	st, err := s.Workflows.AddNote(ctx, in.ID, in.Body)
	if err != nil {
		return nil, err
	}
	return &stepOut{Status: http.StatusCreated, Body: st}, nil
}

func (s *Server) attachWorkflowFiles(ctx context.Context, in *noteIn) (*stepOut, error) {
	if len(in.Body.Files) == 0 {
		return nil, fieldProblem("body.attachments", "attach at least one file")
	}
	return s.addWorkflowNote(ctx, in)
}

type instanceFileIn struct {
	ID   string `path:"id"`
	File string `path:"file"`
}

func (s *Server) getWorkflowAttachment(ctx context.Context, in *instanceFileIn) (*huma.StreamResponse, error) {
	a, f, err := s.Workflows.OpenAttachment(ctx, in.ID, in.File)
	if err != nil {
		return nil, err
	}
	return streamFile(a.ContentType, a.Filename, a.Size, f), nil
}

func (s *Server) getWorkflowPhoto(ctx context.Context, in *instanceFileIn) (*huma.StreamResponse, error) {
	a, f, err := s.Workflows.Photo(ctx, in.ID, in.File)
	if err != nil {
		return nil, err
	}
	return streamFile(a.ContentType, a.Filename, a.Size, f), nil
}

// streamFile sends a stored file: pictures inline, anything else as a
// download (a name of "" sends it inline without one).
func streamFile(contentType, filename string, size int64, f io.ReadCloser) *huma.StreamResponse {
	disposition := "attachment"
	if strings.HasPrefix(contentType, "image/") && contentType != "image/svg+xml" || filename == "" {
		disposition = "inline"
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		defer f.Close()
		hc.SetHeader("Content-Type", contentType)
		if filename != "" {
			hc.SetHeader("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": filename}))
		} else {
			hc.SetHeader("Content-Disposition", disposition)
		}
		hc.SetHeader("Content-Length", fmt.Sprint(size))
		if filename != "" {
			// Stored files are named by their content: they never change.
			hc.SetHeader("Cache-Control", "private, max-age=31536000, immutable")
		} else {
			hc.SetHeader("Cache-Control", "private, no-cache")
		}
		hc.SetHeader("X-Content-Type-Options", "nosniff")
		io.Copy(hc.BodyWriter(), f)
	}}
}
