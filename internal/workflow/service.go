package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Case is what a chain reads of an after-sales case.
type Case struct {
	ID       string
	TicketID string
	Kind     string // return, exchange, repair, refund_only, complaint
	Reason   string // the case's reason key; a chain's cause when none is given
	Amount   string // the claim, as a decimal amount such as 399.00
	Currency string
}

// Cases finds after-sales cases the actor in ctx may see; the composition
// root adapts internal/aftersales to it.
type Cases interface {
	WorkflowCase(ctx context.Context, id string) (*Case, error)
}

// Orders finds the order a ticket names, for the stages that show items
// and billing.
type Orders interface {
	ForTicket(ctx context.Context, number, customerID string) (*shop.Order, error)
}

// Service keeps chains and runs their instances. Register it as a ticket
// hook: a decision sent with a message to the customer is recorded in
// the transaction of that message.
type Service struct {
	DB        *database.DB
	Now       func() time.Time
	Tickets   *ticket.Service
	Customers *customer.Service
	Team      *team.Service
	// SLA runs stage deadlines (sla.StartDeadline) and sends notices.
	SLA       *sla.Service
	Calendars *calendar.Service
	Blobs     blob.Store
	// Cases and Orders are optional: without them a chain runs on
	// tickets only, and stages show no items or amounts.
	Cases  Cases
	Orders Orders
	// Changed, when set, is told in the transaction of every change of a
	// ticket's chain (the composition root tells open consoles).
	Changed func(ctx context.Context, tx *sql.Tx, ticketID string) error

	versions sync.Map // definition id + version → *Document; versions never change
}

func requireAdmin(ctx context.Context) error {
	a := audit.ActorOf(ctx)
	if !a.CanAdmin() || !a.HasScope("admin") {
		return kefu.Errorf(kefu.Forbidden, "only administrators may change workflows")
	}
	return nil
}

func requireStaff(ctx context.Context) (kefu.Actor, error) {
	a := audit.ActorOf(ctx)
	if a.Kind != kefu.ActorStaff && a.Kind != kefu.ActorSystem {
		return a, kefu.Errorf(kefu.Forbidden, "workflows are for staff")
	}
	return a, nil
}

// Definitions returns every chain in match order.
func (s *Service) Definitions(ctx context.Context) ([]Definition, error) {
	if _, err := requireStaff(ctx); err != nil {
		return nil, err
	}
	return listDefinitions(ctx, s.DB.Read)
}

// Definition returns a chain by id or key, at its current version.
func (s *Service) Definition(ctx context.Context, ref string) (*Definition, error) {
	if _, err := requireStaff(ctx); err != nil {
		return nil, err
	}
	return getDefinition(ctx, s.DB.Read, ref)
}

// DefinitionVersion returns one version of a chain, as instances started
// on it run it.
func (s *Service) DefinitionVersion(ctx context.Context, ref string, version int) (*Document, error) {
	d, err := s.Definition(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.version(ctx, s.DB.Read, d.ID, version)
}

// version returns a stored version, from the cache when read before.
func (s *Service) version(ctx context.Context, q database.Querier, id string, version int) (*Document, error) {
	key := fmt.Sprint(id, "/", version)
	if d, ok := s.versions.Load(key); ok {
		return d.(*Document), nil
	}
	d, err := loadVersion(ctx, q, id, version)
	if err != nil {
		return nil, err
	}
	s.versions.Store(key, d)
	return d, nil
}

// known checks a document's references against the store.
func (s *Service) known(ctx context.Context, q database.Querier) Known {
	return func(kind, ref string) bool {
		query := map[string]string{
			"department": `SELECT count(*) FROM departments WHERE slug = $1`,
			"category":   `SELECT count(*) FROM categories WHERE key = $1`,
			"calendar":   `SELECT count(*) FROM calendars WHERE name = $1`,
		}[kind]
		var n int
		return query != "" && q.QueryRowContext(ctx, query, ref).Scan(&n) == nil && n > 0
	}
}

// Check validates doc against the store without saving it: the editor's
// preview.
func (s *Service) Check(ctx context.Context, doc *Document) error {
	if _, err := requireStaff(ctx); err != nil {
		return err
	}
	return Validate(doc, s.known(ctx, s.DB.Read))
}

// CreateDefinition validates and stores a new chain at version 1.
func (s *Service) CreateDefinition(ctx context.Context, doc Document) (*Definition, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out *Definition
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.create(ctx, tx, doc)
		return err
	})
	return out, err
}

func (s *Service) create(ctx context.Context, tx *sql.Tx, doc Document) (*Definition, error) {
	if err := Validate(&doc, s.known(ctx, tx)); err != nil {
		return nil, err
	}
	now := s.Now()
	d := &Definition{ID: kefu.NewID(), Document: doc, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := saveDefinition(ctx, tx, d, true, audit.ActorOf(ctx).Name); err != nil {
		return nil, s.keyConflict(err)
	}
	return d, audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "workflow", EntityID: d.ID,
		Changes: map[string]audit.Change{"workflow": {After: map[string]any{"key": d.Key, "version": 1}}}})
}

func (s *Service) keyConflict(err error) error {
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &kefu.Error{Code: kefu.Conflict, Message: "workflow key taken",
			Fields: []kefu.FieldError{{Field: "key", Message: "another workflow has this key"}}}
	}
	return fmt.Errorf("workflow: save: %w", err)
}

// UpdateDefinition stores doc as the next version of chain ref, if it is
// still at version (0 skips the check). Running instances keep the
// version they started with; new ones start on this one. The key cannot
// change. A rejected document changes nothing.
func (s *Service) UpdateDefinition(ctx context.Context, ref string, version int, doc Document) (*Definition, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out *Definition
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := getDefinition(ctx, tx, ref)
		if err != nil {
			return err
		}
		if version != 0 && cur.Version != version {
			return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("workflow %s changed since version %d; it is now version %d", cur.Key, version, cur.Version), Current: cur}
		}
		out, _, err = s.update(ctx, tx, cur, doc)
		return err
	})
	return out, err
}

// update writes doc as cur's next version; unchanged is true (and nothing
// is written) when doc is what cur already holds.
func (s *Service) update(ctx context.Context, tx *sql.Tx, cur *Definition, doc Document) (*Definition, bool, error) {
	if doc.Key == "" {
		doc.Key = cur.Key
	}
	if err := Validate(&doc, s.known(ctx, tx)); err != nil {
		return nil, false, err
	}
	if doc.Key != cur.Key {
		return nil, false, kefu.Fieldf("key", "a workflow's key cannot change (it is %q); create a new workflow instead", cur.Key)
	}
	if reflect.DeepEqual(canonical(doc), canonical(cur.Document)) {
		return cur, true, nil
	}
	d := *cur
	d.Document, d.Version, d.UpdatedAt = doc, cur.Version+1, s.Now()
	if err := saveDefinition(ctx, tx, &d, false, audit.ActorOf(ctx).Name); err != nil {
		if kefu.IsCode(err, kefu.Stale) {
			return nil, false, err
		}
		return nil, false, s.keyConflict(err)
	}
	changes := map[string]audit.Change{"version": {Before: cur.Version, After: d.Version}}
	audit.Diff(changes, "document", canonical(cur.Document), canonical(doc))
	return &d, false, audit.Record(ctx, tx, d.UpdatedAt, audit.Entry{Action: "update", Entity: "workflow", EntityID: d.ID, Changes: changes})
}

// canonical is a document as JSON values, for comparing two versions.
func canonical(d Document) any {
	b, _ := json.Marshal(d)
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

// DeleteDefinition removes a chain that never ran. One that has run is
// kept for its instances' history: disable it instead.
func (s *Service) DeleteDefinition(ctx context.Context, ref string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		d, err := getDefinition(ctx, tx, ref)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workflow_instances WHERE definition_id = $1`, d.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return kefu.Errorf(kefu.Conflict, "workflow %s has run %d times; disable it instead of deleting it", d.Key, n)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM workflow_definitions WHERE id = $1`, d.ID); err != nil {
			return fmt.Errorf("workflow: delete: %w", err)
		}
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "delete", Entity: "workflow", EntityID: d.ID,
			Changes: map[string]audit.Change{"workflow": {Before: map[string]any{"key": d.Key, "version": d.Version}}}})
	})
}

// ImportResult tells what an import did with one document.
type ImportResult struct {
	Key     string `json:"key"`
	ID      string `json:"id"`
	Version int    `json:"version"`
	Action  string `json:"action" enum:"created,updated,unchanged"`
}

// Import stores documents by key: a new key creates a chain, a known one
// gets a new version unless the document is unchanged. It is all or
// nothing: a problem in any document (reported under
// "workflows[i].…") stores none of them.
func (s *Service) Import(ctx context.Context, docs []Document) ([]ImportResult, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, kefu.Fieldf("workflows", "nothing to import")
	}
	var out []ImportResult
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		out = nil
		seen := map[string]bool{}
		var fs kefu.Fields
		for i, doc := range docs {
			prefix := fmt.Sprintf("workflows[%d].", i)
			if seen[doc.Key] {
				fs.Add(prefix+"key", "%q is in the import twice", doc.Key)
				continue
			}
			seen[doc.Key] = true
			res, err := s.importOne(ctx, tx, doc)
			if e, ok := err.(*kefu.Error); ok && e.Code == kefu.Invalid {
				for _, f := range e.Fields {
					fs.Add(prefix+f.Field, "%s", f.Message)
				}
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, res)
		}
		return fs.Err()
	})
	return out, err
}

func (s *Service) importOne(ctx context.Context, tx *sql.Tx, doc Document) (ImportResult, error) {
	cur, err := getDefinition(ctx, tx, doc.Key)
	if kefu.IsCode(err, kefu.NotFound) || doc.Key == "" {
		d, err := s.create(ctx, tx, doc)
		if err != nil {
			return ImportResult{}, err
		}
		return ImportResult{Key: d.Key, ID: d.ID, Version: d.Version, Action: "created"}, nil
	}
	if err != nil {
		return ImportResult{}, err
	}
	d, unchanged, err := s.update(ctx, tx, cur, doc)
	if err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Key: d.Key, ID: d.ID, Version: d.Version, Action: "updated"}
	if unchanged {
		res.Action = "unchanged"
	}
	return res, nil
}

// Export returns chain ref's current document, ready to import elsewhere.
func (s *Service) Export(ctx context.Context, ref string) (*Document, error) {
	d, err := s.Definition(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &d.Document, nil
}

// InstallDefaults imports the shipped chains (Defaults). It needs the
// departments they name.
func (s *Service) InstallDefaults(ctx context.Context) ([]ImportResult, error) {
	return s.Import(ctx, Defaults())
}
