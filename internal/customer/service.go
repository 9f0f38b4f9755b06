package customer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// Service reads and changes customers.
type Service struct {
	DB  *database.DB
	Now func() time.Time
	// Hooks see every change to a customer's profile or identities inside
	// the transaction that makes it.
	Hooks []Hook
}

// Hook keeps state derived from customers (the search index) in step with
// them: it runs inside the transaction of each change, so an error undoes
// the change and the two never disagree.
type Hook interface {
	CustomerChanged(ctx context.Context, tx *sql.Tx, id string) error
}

func (s *Service) runHooks(ctx context.Context, tx *sql.Tx, ids ...string) error {
	for _, h := range s.Hooks {
		for _, id := range ids {
			if err := h.CustomerChanged(ctx, tx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// NewCustomer is the input to Create.
type NewCustomer struct {
	Name       string     `json:"name" maxLength:"200"`
	Language   string     `json:"language,omitempty"`
	Tier       string     `json:"tier,omitempty"`
	Birthday   string     `json:"birthday,omitempty" doc:"YYYY-MM-DD"`
	Note       string     `json:"note,omitempty"`
	Tags       []string   `json:"tags,omitempty"`
	Identities []NewIdent `json:"identities,omitempty"`
}

// NewIdent names an identity to add.
type NewIdent struct {
	Kind  string `json:"kind" enum:"email,phone,wechat"`
	Value string `json:"value"`
}

// Patch changes the fields that are set.
type Patch struct {
	Name          *string  `json:"name,omitempty"`
	Language      *string  `json:"language,omitempty"`
	Tier          *string  `json:"tier,omitempty"`
	Birthday      *string  `json:"birthday,omitempty"`
	Note          *string  `json:"note,omitempty"`
	Tags          []string `json:"tags,omitempty"`
	Blocked       *bool    `json:"blocked,omitempty"`
	BlockedReason *string  `json:"blocked_reason,omitempty"`
}

func requireWrite(ctx context.Context) error {
	if !audit.ActorOf(ctx).CanWrite() {
		return kefu.Errorf(kefu.Forbidden, "your role may not change customers")
	}
	return nil
}

// Create stores a new customer. An identity already held by another
// customer is a conflict naming that field.
func (s *Service) Create(ctx context.Context, in NewCustomer) (*Customer, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	var fs kefu.Fields
	validateProfile(&fs, "", &in.Name, &in.Language, &in.Birthday, in.Tags)
	norms := make([]string, len(in.Identities))
	for i, id := range in.Identities {
		n, msg := Normalize(id.Kind, id.Value)
		if msg != "" {
			fs.Add(fmt.Sprintf("identities[%d].value", i), "%s", msg)
		}
		norms[i] = n
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	var id string
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.create(ctx, tx, in, norms)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

func (s *Service) create(ctx context.Context, tx *sql.Tx, in NewCustomer, norms []string) (string, error) {
	now := s.Now()
	id := kefu.NewID()
	_, err := tx.ExecContext(ctx, `INSERT INTO customers (id, name, language, tier, birthday, note, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, id, in.Name, in.Language, in.Tier, in.Birthday, in.Note, now)
	if err != nil {
		return "", fmt.Errorf("customer: create: %w", err)
	}
	for i, ident := range in.Identities {
		if err := s.addIdentity(ctx, tx, id, ident.Kind, strings.TrimSpace(ident.Value), norms[i], fmt.Sprintf("identities[%d].value", i)); err != nil {
			return "", err
		}
	}
	if err := insertTags(ctx, tx, id, in.Tags); err != nil {
		return "", err
	}
	changes := map[string]audit.Change{}
	audit.Diff(changes, "name", "", in.Name)
	for _, ident := range in.Identities {
		audit.Diff(changes, ident.Kind, "", ident.Value)
	}
	if err := audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "customer", EntityID: id, CustomerID: id, Changes: changes}); err != nil {
		return "", err
	}
	return id, s.runHooks(ctx, tx, id)
}

func (s *Service) addIdentity(ctx context.Context, tx *sql.Tx, customerID, kind, value, norm, field string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO customer_identities (id, customer_id, kind, value, value_norm, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, kefu.NewID(), customerID, kind, value, norm, s.Now())
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &kefu.Error{Code: kefu.Conflict, Message: "identity belongs to another customer",
			Fields: []kefu.FieldError{{Field: field, Message: fmt.Sprintf("%s %s already belongs to another customer", kind, value)}}}
	}
	if err != nil {
		return fmt.Errorf("customer: add identity: %w", err)
	}
	return nil
}

func setTags(ctx context.Context, tx *sql.Tx, id string, tags []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM customer_tags WHERE customer_id = $1`, id); err != nil {
		return fmt.Errorf("customer: tags: %w", err)
	}
	return insertTags(ctx, tx, id, tags)
}

// insertTags adds tags to a customer who has none.
func insertTags(ctx context.Context, tx *sql.Tx, id string, tags []string) error {
	for _, t := range uniq(tags) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO customer_tags (customer_id, tag) VALUES ($1, $2)`, id, t); err != nil {
			return fmt.Errorf("customer: tags: %w", err)
		}
	}
	return nil
}

func uniq(tags []string) []string {
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}

const columns = `c.id, c.name, c.language, c.tier, c.birthday, c.note, c.blocked, c.blocked_reason,
	COALESCE(CAST(c.merged_into AS text), ''), c.version, c.created_at, c.updated_at`

func scan(row interface{ Scan(...any) error }) (*Customer, error) {
	var c Customer
	err := row.Scan(&c.ID, &c.Name, &c.Language, &c.Tier, &c.Birthday, &c.Note, &c.Blocked, &c.BlockedReason,
		&c.MergedInto, &c.Version, &c.CreatedAt, &c.UpdatedAt)
	return &c, err
}

// Get returns a customer with identities and tags. A merged customer is
// returned as it is, with MergedInto naming where it went.
func (s *Service) Get(ctx context.Context, id string) (*Customer, error) {
	return s.get(ctx, s.DB.Read, id)
}

func (s *Service) get(ctx context.Context, q database.Querier, id string) (*Customer, error) {
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no customer %s", id)
	}
	c, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM customers c WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no customer %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("customer: get: %w", err)
	}
	if err := s.loadDetails(ctx, q, []*Customer{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// loadDetails fills identities and tags of cs with two queries in all.
func (s *Service) loadDetails(ctx context.Context, q database.Querier, cs []*Customer) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[string]*Customer, len(cs))
	ids := make([]string, len(cs))
	args := make([]any, len(cs))
	for i, c := range cs {
		byID[c.ID] = c
		c.Tags, c.Identities = []string{}, []Identity{}
		ids[i], args[i] = c.ID, c.ID
	}
	in := database.Placeholders(1, len(cs))
	rows, err := q.QueryContext(ctx, `SELECT customer_id, id, kind, value, failing FROM customer_identities
		WHERE customer_id IN (`+in+`) ORDER BY created_at, id`, args...)
	if err != nil {
		return fmt.Errorf("customer: identities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cid string
		var id Identity
		if err := rows.Scan(&cid, &id.ID, &id.Kind, &id.Value, &id.Failing); err != nil {
			return fmt.Errorf("customer: identities: %w", err)
		}
		byID[cid].Identities = append(byID[cid].Identities, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	tags, err := database.GroupStrings(ctx, q, `SELECT customer_id, tag FROM customer_tags WHERE customer_id IN (%s) ORDER BY tag`, ids)
	if err != nil {
		return fmt.Errorf("customer: tags: %w", err)
	}
	for id, t := range tags {
		byID[id].Tags = t
	}
	return nil
}

// FindByIdentity returns the customer holding an identity, following
// merges, or a NotFound error.
func (s *Service) FindByIdentity(ctx context.Context, kind, value string) (*Customer, error) {
	norm, msg := Normalize(kind, value)
	if msg != "" {
		return nil, kefu.Fieldf(kind, "%s", msg)
	}
	var id string
	err := s.DB.Read.QueryRowContext(ctx, `SELECT CAST(customer_id AS text) FROM customer_identities WHERE kind = $1 AND value_norm = $2`, kind, norm).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no customer with %s %s", kind, value)
	}
	if err != nil {
		return nil, fmt.Errorf("customer: find: %w", err)
	}
	return s.Get(ctx, id)
}

// Resolve returns the id of the customer holding the identity, creating
// the customer (with name) when nobody does. It runs inside the caller's
// transaction, so a ticket and its new customer are stored together.
func (s *Service) Resolve(ctx context.Context, tx *sql.Tx, kind, value, name, field string) (id string, created bool, err error) {
	norm, msg := Normalize(kind, value)
	if msg != "" {
		return "", false, kefu.Fieldf(field, "%s", msg)
	}
	err = tx.QueryRowContext(ctx, `SELECT CAST(customer_id AS text) FROM customer_identities WHERE kind = $1 AND value_norm = $2`, kind, norm).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", false, fmt.Errorf("customer: resolve: %w", err)
	}
	id, err = s.create(ctx, tx, NewCustomer{Name: name, Identities: []NewIdent{{Kind: kind, Value: value}}}, []string{norm})
	return id, true, err
}

// Update applies p if the stored version is still version (0 skips the
// check). A stale version is refused with the current customer.
func (s *Service) Update(ctx context.Context, id string, version int, p Patch) (*Customer, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	var fs kefu.Fields
	validateProfile(&fs, "", p.Name, p.Language, p.Birthday, p.Tags)
	if p.Blocked != nil && *p.Blocked && (p.BlockedReason == nil || strings.TrimSpace(*p.BlockedReason) == "") {
		fs.Add("blocked_reason", "is required when blocking a customer")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if version != 0 && cur.Version != version {
			return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("customer changed since version %d; it is now version %d", version, cur.Version), Current: cur}
		}
		next := *cur
		set(&next.Name, p.Name)
		set(&next.Language, p.Language)
		set(&next.Tier, p.Tier)
		set(&next.Birthday, p.Birthday)
		set(&next.Note, p.Note)
		set(&next.Blocked, p.Blocked)
		set(&next.BlockedReason, p.BlockedReason)
		if !next.Blocked {
			next.BlockedReason = ""
		}
		if p.Tags != nil {
			next.Tags = uniq(p.Tags)
		}
		changes := map[string]audit.Change{}
		audit.Diff(changes, "name", cur.Name, next.Name)
		audit.Diff(changes, "language", cur.Language, next.Language)
		audit.Diff(changes, "tier", cur.Tier, next.Tier)
		audit.Diff(changes, "birthday", cur.Birthday, next.Birthday)
		audit.Diff(changes, "note", cur.Note, next.Note)
		audit.Diff(changes, "blocked", cur.Blocked, next.Blocked)
		audit.Diff(changes, "blocked_reason", cur.BlockedReason, next.BlockedReason)
		audit.Diff(changes, "tags", cur.Tags, next.Tags)
		if len(changes) == 0 {
			return nil
		}
		now := s.Now()
		_, err = tx.ExecContext(ctx, `UPDATE customers SET name = $2, language = $3, tier = $4, birthday = $5, note = $6,
			blocked = $7, blocked_reason = $8, version = version + 1, updated_at = $9 WHERE id = $1`,
			id, next.Name, next.Language, next.Tier, next.Birthday, next.Note, next.Blocked, next.BlockedReason, now)
		if err != nil {
			return fmt.Errorf("customer: update: %w", err)
		}
		if p.Tags != nil {
			if err := setTags(ctx, tx, id, next.Tags); err != nil {
				return err
			}
		}
		action := "update"
		if _, ok := changes["blocked"]; ok {
			action = map[bool]string{true: "block", false: "unblock"}[next.Blocked]
		}
		if err := audit.Record(ctx, tx, now, audit.Entry{Action: action, Entity: "customer", EntityID: id, CustomerID: id, Changes: changes}); err != nil {
			return err
		}
		return s.runHooks(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// AddIdentity attaches another address to a customer.
func (s *Service) AddIdentity(ctx context.Context, id string, in NewIdent) (*Customer, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	norm, msg := Normalize(in.Kind, in.Value)
	if msg != "" {
		return nil, kefu.Fieldf("value", "%s", msg)
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.get(ctx, tx, id); err != nil {
			return err
		}
		if err := s.addIdentity(ctx, tx, id, in.Kind, strings.TrimSpace(in.Value), norm, "value"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET version = version + 1, updated_at = $2 WHERE id = $1`, id, s.Now()); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "add_identity", Entity: "customer", EntityID: id, CustomerID: id,
			Changes: map[string]audit.Change{in.Kind: {Before: nil, After: in.Value}}}); err != nil {
			return err
		}
		return s.runHooks(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// MarkFailing records that mail to an address bounces, so agents see it
// and automatic mail stops going there.
func (s *Service) MarkFailing(ctx context.Context, kind, value string, failing bool) error {
	norm, msg := Normalize(kind, value)
	if msg != "" {
		return kefu.Fieldf(kind, "%s", msg)
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var cid string
		var was bool
		err := tx.QueryRowContext(ctx, `SELECT CAST(customer_id AS text), failing FROM customer_identities WHERE kind = $1 AND value_norm = $2`, kind, norm).Scan(&cid, &was)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && was == failing) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE customer_identities SET failing = $3 WHERE kind = $1 AND value_norm = $2`, kind, norm, failing); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "identity_failing", Entity: "customer", EntityID: cid, CustomerID: cid,
			Changes: map[string]audit.Change{value: {Before: was, After: failing}}})
	})
}

// Merge folds source into target: identities, tags, tickets, orders and
// messages move to target; source stays as a tombstone pointing at
// target, so old links still resolve and the audit trail of both is kept.
func (s *Service) Merge(ctx context.Context, targetID, sourceID string) (*Customer, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	if targetID == sourceID {
		return nil, kefu.Fieldf("source_id", "cannot merge a customer into itself")
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		target, err := s.get(ctx, tx, targetID)
		if err != nil {
			return err
		}
		source, err := s.get(ctx, tx, sourceID)
		if err != nil {
			return kefu.Fieldf("source_id", "no customer %s", sourceID)
		}
		if target.MergedInto != "" {
			return kefu.Errorf(kefu.Conflict, "customer %s was merged into %s; merge into that one", targetID, target.MergedInto)
		}
		if source.MergedInto != "" {
			return kefu.Fieldf("source_id", "was already merged into %s", source.MergedInto)
		}
		now := s.Now()
		stmts := []string{
			`UPDATE customer_identities SET customer_id = $1 WHERE customer_id = $2`,
			`UPDATE tickets SET customer_id = $1 WHERE customer_id = $2`,
			`UPDATE orders SET customer_id = $1 WHERE customer_id = $2`,
			`UPDATE messages SET author_customer_id = $1 WHERE author_customer_id = $2`,
			`INSERT INTO customer_tags (customer_id, tag) SELECT c.id, t.tag FROM customers c, customer_tags t
			 WHERE c.id = $1 AND t.customer_id = $2 ON CONFLICT (customer_id, tag) DO NOTHING`,
			`DELETE FROM customer_tags WHERE customer_id = $2 AND customer_id <> $1`,
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q, targetID, sourceID); err != nil {
				return fmt.Errorf("customer: merge: %w", err)
			}
		}
		// Keep what the target lacks from the source's profile.
		fill := func(t, s string) string {
			if t == "" {
				return s
			}
			return t
		}
		note := target.Note
		if source.Note != "" && source.Note != target.Note {
			note = strings.TrimSpace(target.Note + "\n\n" + source.Note)
		}
		_, err = tx.ExecContext(ctx, `UPDATE customers SET name = $2, language = $3, tier = $4, birthday = $5, note = $6,
			version = version + 1, updated_at = $7 WHERE id = $1`, targetID, fill(target.Name, source.Name),
			fill(target.Language, source.Language), fill(target.Tier, source.Tier), fill(target.Birthday, source.Birthday), note, now)
		if err != nil {
			return fmt.Errorf("customer: merge: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET merged_into = $1, version = version + 1, updated_at = $3 WHERE id = $2`, targetID, sourceID, now); err != nil {
			return fmt.Errorf("customer: merge: %w", err)
		}
		for _, e := range []audit.Entry{
			{Action: "merge", Entity: "customer", EntityID: targetID, CustomerID: targetID,
				Changes: map[string]audit.Change{"merged_from": {Before: nil, After: sourceID}}},
			{Action: "merged_into", Entity: "customer", EntityID: sourceID, CustomerID: sourceID,
				Changes: map[string]audit.Change{"merged_into": {Before: nil, After: targetID}}},
		} {
			if err := audit.Record(ctx, tx, now, e); err != nil {
				return err
			}
		}
		return s.runHooks(ctx, tx, targetID, sourceID)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, targetID)
}

// Filter selects customers for List.
type Filter struct {
	Query   string // prefix of an identity or name
	Tag     string
	Blocked *bool
	After   string // cursor: customers with id < After (newest first)
	Limit   int
}

// List returns customers newest first, merged ones left out.
func (s *Service) List(ctx context.Context, f Filter) ([]*Customer, error) {
	where, args := "WHERE c.merged_into IS NULL", []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where += " AND " + strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args)))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		// Identities match by prefix of their normalised form (an index
		// range), names exactly.
		norm := strings.ToLower(q)
		if p, msg := NormalizePhone(q); msg == "" {
			norm = p
		}
		args = append(args, norm, norm+"\uffff", q)
		n := len(args)
		where += fmt.Sprintf(` AND (c.id IN (SELECT customer_id FROM customer_identities WHERE value_norm >= $%d AND value_norm < $%d) OR c.name = $%d)`, n-2, n-1, n)
	}
	if f.Tag != "" {
		add(`c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)`, f.Tag)
	}
	if f.Blocked != nil {
		add(`c.blocked = ?`, *f.Blocked)
	}
	if f.After != "" {
		add(`c.id < ?`, f.After)
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+columns+` FROM customers c `+where+
		fmt.Sprintf(` ORDER BY c.id DESC LIMIT %d`, f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("customer: list: %w", err)
	}
	defer rows.Close()
	out := []*Customer{}
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("customer: list: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.loadDetails(ctx, s.DB.Read, out)
}
