package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

const definitionColumns = `CAST(d.id AS text), d.version, d.created_at, d.updated_at, v.document,
	(SELECT count(*) FROM workflow_instances i WHERE i.definition_id = d.id AND i.ended_at IS NULL)`

const definitionFrom = ` FROM workflow_definitions d JOIN workflow_versions v ON v.definition_id = d.id AND v.version = d.version`

func scanDefinition(row interface{ Scan(...any) error }) (*Definition, error) {
	var d Definition
	var doc string
	if err := row.Scan(&d.ID, &d.Version, &d.CreatedAt, &d.UpdatedAt, &doc, &d.Running); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &d.Document); err != nil {
		return nil, fmt.Errorf("workflow: definition %s: %w", d.ID, err)
	}
	d.Document.normalize()
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

func listDefinitions(ctx context.Context, q database.Querier) ([]Definition, error) {
	ds, err := queryAll(ctx, q, scanDefinition, `SELECT `+definitionColumns+definitionFrom+` ORDER BY d.position, d.key`)
	if err != nil {
		return nil, fmt.Errorf("workflow: definitions: %w", err)
	}
	out := make([]Definition, len(ds))
	for i, d := range ds {
		out[i] = *d
	}
	return out, nil
}

// queryAll runs query and scans every row with scan.
func queryAll[T any](ctx context.Context, q database.Querier, scan func(interface{ Scan(...any) error }) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// getDefinition finds a chain by id or key.
func getDefinition(ctx context.Context, q database.Querier, ref string) (*Definition, error) {
	col := "d.key"
	if kefu.ValidID(ref) {
		col = "d.id"
	}
	d, err := scanDefinition(q.QueryRowContext(ctx, `SELECT `+definitionColumns+definitionFrom+` WHERE `+col+` = $1`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no workflow %s", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("workflow: definition: %w", err)
	}
	return d, nil
}

// loadVersion reads one version's document.
func loadVersion(ctx context.Context, q database.Querier, id string, version int) (*Document, error) {
	var doc string
	err := q.QueryRowContext(ctx, `SELECT document FROM workflow_versions WHERE definition_id = $1 AND version = $2`, id, version).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no version %d of workflow %s", version, id)
	}
	if err != nil {
		return nil, fmt.Errorf("workflow: version: %w", err)
	}
	var d Document
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("workflow: version %d of %s: %w", version, id, err)
	}
	d.normalize()
	return &d, nil
}

// saveDefinition writes d's current row and a new version row with doc.
func saveDefinition(ctx context.Context, tx *sql.Tx, d *Definition, insert bool, by string) error {
	doc, err := json.Marshal(d.Document)
	if err != nil {
		return err
	}
	if insert {
		_, err = tx.ExecContext(ctx, `INSERT INTO workflow_definitions (id, key, name, position, disabled, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, d.ID, d.Key, d.Name.In("en"), d.Position, d.Disabled, d.Version, d.UpdatedAt)
	} else {
		// The version condition catches an edit that passed the caller's
		// check at the same time.
		var res sql.Result
		res, err = tx.ExecContext(ctx, `UPDATE workflow_definitions SET key = $2, name = $3, position = $4, disabled = $5, version = $6,
			updated_at = $7 WHERE id = $1 AND version = $8`, d.ID, d.Key, d.Name.In("en"), d.Position, d.Disabled, d.Version, d.UpdatedAt, d.Version-1)
		if err == nil {
			if n, rerr := res.RowsAffected(); rerr != nil || n != 1 {
				return errors.Join(rerr, kefu.Errorf(kefu.Stale, "the workflow changed while saving; try again"))
			}
		}
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO workflow_versions (definition_id, version, document, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5)`, d.ID, d.Version, string(doc), by, d.UpdatedAt)
	return err
}

// instanceRow is an instance as stored.
type instanceRow struct {
	ID             string
	DefinitionID   string
	DefVersion     int
	TicketID       string
	CaseID         string
	Cause          string
	Stage          string
	DepartmentID   string
	Role           string
	PickedBy       string
	PickedAt       *time.Time
	StageStartedAt time.Time
	StageClockID   string
	PickupClockID  string
	FollowerID     string
	Outcome        Outcome
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	EndedAt        *time.Time
}

func (r *instanceRow) active() bool { return r.EndedAt == nil }

const instanceColumns = `CAST(i.id AS text), CAST(i.definition_id AS text), i.definition_version, CAST(i.ticket_id AS text),
	COALESCE(CAST(i.case_id AS text), ''), i.cause, i.stage, COALESCE(CAST(i.department_id AS text), ''), i.role,
	COALESCE(CAST(i.picked_by AS text), ''), i.picked_at, i.stage_started_at, COALESCE(CAST(i.stage_clock_id AS text), ''),
	COALESCE(CAST(i.pickup_clock_id AS text), ''), COALESCE(CAST(i.follower_id AS text), ''), i.outcome, i.version,
	i.created_at, i.updated_at, i.ended_at`

func scanInstance(row interface{ Scan(...any) error }) (*instanceRow, error) {
	var r instanceRow
	var picked, ended sql.NullTime
	err := row.Scan(&r.ID, &r.DefinitionID, &r.DefVersion, &r.TicketID, &r.CaseID, &r.Cause, &r.Stage, &r.DepartmentID, &r.Role,
		&r.PickedBy, &picked, &r.StageStartedAt, &r.StageClockID, &r.PickupClockID, &r.FollowerID, &r.Outcome, &r.Version,
		&r.CreatedAt, &r.UpdatedAt, &ended)
	if err != nil {
		return nil, err
	}
	r.PickedAt, r.EndedAt = database.TimePtr(picked), database.TimePtr(ended)
	r.StageStartedAt, r.CreatedAt, r.UpdatedAt = r.StageStartedAt.UTC(), r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

func getInstance(ctx context.Context, q database.Querier, id string) (*instanceRow, error) {
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no workflow instance %s", id)
	}
	r, err := scanInstance(q.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM workflow_instances i WHERE i.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no workflow instance %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("workflow: instance: %w", err)
	}
	return r, nil
}

func queryInstances(ctx context.Context, q database.Querier, query string, args ...any) ([]*instanceRow, error) {
	rows, err := queryAll(ctx, q, scanInstance, query, args...)
	if err != nil {
		return nil, fmt.Errorf("workflow: instances: %w", err)
	}
	return rows, nil
}

// activeKey keeps one running instance of a chain per ticket or case.
func activeKey(r *instanceRow) string {
	if r.CaseID != "" {
		return r.DefinitionID + "|case|" + r.CaseID
	}
	return r.DefinitionID + "|ticket|" + r.TicketID
}

func insertInstance(ctx context.Context, tx *sql.Tx, r *instanceRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO workflow_instances (id, definition_id, definition_version, ticket_id, case_id, cause, stage,
		department_id, role, stage_started_at, stage_clock_id, pickup_clock_id, follower_id, active_key, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15)`,
		r.ID, r.DefinitionID, r.DefVersion, r.TicketID, database.Nullable(r.CaseID), r.Cause, r.Stage, database.Nullable(r.DepartmentID), r.Role,
		r.StageStartedAt, database.Nullable(r.StageClockID), database.Nullable(r.PickupClockID), database.Nullable(r.FollowerID), activeKey(r), r.CreatedAt)
	return err
}

// updateInstance writes r if it is still at version r.Version-1.
func updateInstance(ctx context.Context, tx *sql.Tx, r *instanceRow) error {
	var key any
	if r.active() {
		key = activeKey(r)
	}
	res, err := tx.ExecContext(ctx, `UPDATE workflow_instances SET stage = $2, department_id = $3, role = $4, picked_by = $5, picked_at = $6,
		stage_started_at = $7, stage_clock_id = $8, pickup_clock_id = $9, follower_id = $10, outcome = $11, active_key = $12,
		version = $13, updated_at = $14, ended_at = $15 WHERE id = $1 AND version = $16`,
		r.ID, r.Stage, database.Nullable(r.DepartmentID), r.Role, database.Nullable(r.PickedBy), r.PickedAt, r.StageStartedAt, database.Nullable(r.StageClockID),
		database.Nullable(r.PickupClockID), database.Nullable(r.FollowerID), string(r.Outcome), key, r.Version, r.UpdatedAt, r.EndedAt, r.Version-1)
	if err != nil {
		return fmt.Errorf("workflow: save instance: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(err, kefu.Errorf(kefu.Stale, "the workflow instance changed at the same moment; look again"))
	}
	return nil
}

// Step is one entry of an instance's history.
type Step struct {
	ID           string         `json:"id"`
	Kind         string         `json:"kind" enum:"start,pickup,decision,note,follower"`
	Stage        string         `json:"stage" doc:"The stage it happened at"`
	Decision     DecisionKind   `json:"decision,omitempty"`
	ToStage      string         `json:"to_stage,omitempty" doc:"Where the decision led"`
	Outcome      Outcome        `json:"outcome,omitempty" doc:"How the chain ended, on the last decision"`
	DepartmentID string         `json:"department_id,omitempty"`
	ActorKind    string         `json:"actor_kind"`
	ActorID      string         `json:"actor_id,omitempty"`
	ActorName    string         `json:"actor_name"`
	Note         string         `json:"note,omitempty"`
	Results      map[string]any `json:"results"`
	MessageID    string         `json:"message_id,omitempty" doc:"The public reply sent to the customer with this step"`
	Attachments  []Attachment   `json:"attachments"`
	At           time.Time      `json:"at"`
}

// Attachment is a file added to an instance.
type Attachment struct {
	ID          string `json:"id"`
	StepID      string `json:"step_id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

func insertStep(ctx context.Context, tx *sql.Tx, instanceID string, st *Step) error {
	results := []byte("{}")
	if len(st.Results) > 0 {
		results, _ = json.Marshal(st.Results)
	}
	_, err := tx.ExecContext(database.Deferrable(ctx), `INSERT INTO workflow_steps (id, instance_id, kind, stage, decision, to_stage, outcome,
		department_id, actor_kind, actor_id, actor_name, note, results, message_id, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		st.ID, instanceID, st.Kind, st.Stage, string(st.Decision), st.ToStage, string(st.Outcome), database.Nullable(st.DepartmentID),
		st.ActorKind, st.ActorID, st.ActorName, st.Note, string(results), database.Nullable(st.MessageID), st.At)
	if err != nil {
		return fmt.Errorf("workflow: step: %w", err)
	}
	for _, a := range st.Attachments {
		_, err := tx.ExecContext(database.Deferrable(ctx), `INSERT INTO workflow_attachments (id, instance_id, step_id, filename, content_type,
			size, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			a.ID, instanceID, st.ID, a.Filename, a.ContentType, a.Size, a.SHA256, st.At)
		if err != nil {
			return fmt.Errorf("workflow: attachment: %w", err)
		}
	}
	return nil
}

// loadSteps returns the instances' histories, oldest first, with their
// attachments.
func loadSteps(ctx context.Context, q database.Querier, instanceIDs ...string) (map[string][]Step, error) {
	out := map[string][]Step{}
	if len(instanceIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(instanceIDs))
	for i, id := range instanceIDs {
		args[i] = id
	}
	in := database.Placeholders(1, len(args))
	rows, err := q.QueryContext(ctx, `SELECT CAST(id AS text), CAST(instance_id AS text), kind, stage, decision, to_stage, outcome,
		COALESCE(CAST(department_id AS text), ''), actor_kind, actor_id, actor_name, note, results,
		COALESCE(CAST(message_id AS text), ''), at FROM workflow_steps WHERE instance_id IN (`+in+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("workflow: steps: %w", err)
	}
	byID := map[string]*Step{}
	for rows.Next() {
		var st Step
		var inst, results string
		if err := rows.Scan(&st.ID, &inst, &st.Kind, &st.Stage, &st.Decision, &st.ToStage, &st.Outcome, &st.DepartmentID,
			&st.ActorKind, &st.ActorID, &st.ActorName, &st.Note, &results, &st.MessageID, &st.At); err != nil {
			rows.Close()
			return nil, err
		}
		st.At = st.At.UTC()
		if err := json.Unmarshal([]byte(results), &st.Results); err != nil {
			rows.Close()
			return nil, fmt.Errorf("workflow: step %s results: %w", st.ID, err)
		}
		st.Attachments = []Attachment{}
		out[inst] = append(out[inst], st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for inst := range out {
		for i := range out[inst] {
			byID[out[inst][i].ID] = &out[inst][i]
		}
	}
	arows, err := q.QueryContext(ctx, `SELECT CAST(id AS text), CAST(step_id AS text), filename, content_type, size, sha256
		FROM workflow_attachments WHERE instance_id IN (`+in+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("workflow: attachments: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var a Attachment
		if err := arows.Scan(&a.ID, &a.StepID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256); err != nil {
			return nil, err
		}
		if st := byID[a.StepID]; st != nil {
			st.Attachments = append(st.Attachments, a)
		}
	}
	return out, arows.Err()
}
