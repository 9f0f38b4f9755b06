package aftersales

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/shop"
)

// stored is the detail column: Detail and what else a case keeps that
// reports never filter on.
type stored struct {
	Detail
	Description     string                 `json:"description,omitempty"`
	Eligible        bool                   `json:"eligible"`
	Eligibility     []shop.ItemEligibility `json:"eligibility,omitempty"`
	Override        *Override              `json:"override,omitempty"`
	PhotosRequired  bool                   `json:"photos_required,omitempty"`
	Suggested       Party                  `json:"suggested,omitempty"`
	ResponsibleNote string                 `json:"responsible_note,omitempty"`
	Guidance        string                 `json:"guidance,omitempty"`
	// Deadlines are the SLA clocks of the case by purpose (deadline*).
	Deadlines map[string]string `json:"deadlines,omitempty"`
}

func (c *Case) stored() string {
	b, _ := json.Marshal(stored{Detail: c.Detail, Description: c.Description, Eligible: c.Eligible, Eligibility: c.Eligibility,
		Override: c.Override, PhotosRequired: c.PhotosRequired, Suggested: c.Suggested, ResponsibleNote: c.ResponsibleNote,
		Guidance: c.Guidance, Deadlines: c.deadlineIDs})
	return string(b)
}

// caseColumns are read on aliases c (the case), t (its ticket), o (its
// order) and s (its shop).
const caseColumns = `CAST(c.id AS text), c.number, c.kind, CAST(c.ticket_id AS text), t.number, COALESCE(CAST(c.order_id AS text), ''),
	COALESCE(o.number, ''), COALESCE(s.code, ''), COALESCE(CAST(c.shop_id AS text), ''), CAST(c.customer_id AS text), c.reason, c.step,
	c.responsible, COALESCE(CAST(c.owner_id AS text), ''), c.currency, c.claimed_minor, c.refunded_minor, c.ordered_at, c.detail,
	c.version, c.created_at, c.updated_at, c.closed_at`

const caseFrom = ` FROM aftersales_cases c JOIN tickets t ON t.id = c.ticket_id LEFT JOIN orders o ON o.id = c.order_id
	LEFT JOIN shops s ON s.id = c.shop_id`

func scanCase(row interface{ Scan(...any) error }) (*Case, error) {
	var c Case
	var ticketNumber int64
	var ordered, closed sql.NullTime
	var detail string
	err := row.Scan(&c.ID, &c.Number, &c.Kind, &c.TicketID, &ticketNumber, &c.OrderID, &c.OrderNumber, &c.Shop, &c.shopID, &c.CustomerID,
		&c.Reason, &c.Step, &c.Responsible, &c.OwnerID, &c.Currency, &c.claimed, &c.refunded, &ordered, &detail, &c.Version,
		&c.CreatedAt, &c.UpdatedAt, &closed)
	if err != nil {
		return nil, err
	}
	c.Key, c.TicketKey = Key(c.Number), "KF-"+strconv.FormatInt(ticketNumber, 10)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.orderedAt, c.ClosedAt = database.TimePtr(ordered), database.TimePtr(closed)
	c.Open = c.ClosedAt == nil
	var st stored
	if err := json.Unmarshal([]byte(detail), &st); err != nil {
		return nil, fmt.Errorf("aftersales: case %s detail: %w", c.Key, err)
	}
	c.Detail, c.Description, c.Eligible, c.Eligibility, c.Override = st.Detail, st.Description, st.Eligible, st.Eligibility, st.Override
	c.PhotosRequired, c.Suggested, c.ResponsibleNote, c.Guidance, c.deadlineIDs = st.PhotosRequired, st.Suggested, st.ResponsibleNote, st.Guidance, st.Deadlines
	if c.Eligibility == nil {
		c.Eligibility = []shop.ItemEligibility{}
	}
	if c.deadlineIDs == nil {
		c.deadlineIDs = map[string]string{}
	}
	c.Amount, c.Refunded = shop.FormatMoney(c.claimed, c.Currency), shop.FormatMoney(c.refunded, c.Currency)
	c.Items, c.Photos, c.Inspections, c.Remedies, c.History, c.Notices, c.Next = []Item{}, []Photo{}, []Inspection{}, []Remedy{},
		[]StepEntry{}, []Notice{}, []Action{}
	return &c, nil
}

// Key formats a case number for people.
func Key(number int64) string { return KeyPrefix + strconv.FormatInt(number, 10) }

// ParseKey reads "AS-1001" (any case, or the bare number).
func ParseKey(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) > len(KeyPrefix) && strings.EqualFold(s[:len(KeyPrefix)], KeyPrefix) {
		s = s[len(KeyPrefix):]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// loadItems fills the items of cases.
func loadItems(ctx context.Context, q database.Querier, cases []*Case) error {
	if len(cases) == 0 {
		return nil
	}
	byID := make(map[string]*Case, len(cases))
	args := make([]any, len(cases))
	for i, c := range cases {
		byID[c.ID], args[i] = c, c.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT CAST(case_id AS text), position, order_item_id, sku, name, product, product_name, supplier,
		quantity, unit_price_minor, received, passed, failed FROM aftersales_case_items WHERE case_id IN (`+
		database.Placeholders(1, len(cases))+`) ORDER BY case_id, position`, args...)
	if err != nil {
		return fmt.Errorf("aftersales: items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var it Item
		if err := rows.Scan(&id, &it.Position, &it.OrderItemID, &it.SKU, &it.Name, &it.Product, &it.ProductName, &it.Supplier,
			&it.Quantity, &it.price, &it.Received, &it.Passed, &it.Failed); err != nil {
			return err
		}
		c := byID[id]
		it.UnitPrice = shop.FormatMoney(it.price, c.Currency)
		c.Items = append(c.Items, it)
	}
	return rows.Err()
}

// loadDetail fills what a case is read one at a time with: photos,
// inspections, remedies, its history, notices and deadlines.
func (s *Service) loadDetail(ctx context.Context, q database.Querier, c *Case) error {
	rows, err := q.QueryContext(ctx, `SELECT CAST(id AS text), purpose, filename, content_type, size, sha256, by_customer, created_at
		FROM aftersales_photos WHERE case_id = $1 ORDER BY id`, c.ID)
	if err != nil {
		return fmt.Errorf("aftersales: photos: %w", err)
	}
	for rows.Next() {
		var p Photo
		if err := rows.Scan(&p.ID, &p.Purpose, &p.Filename, &p.ContentType, &p.Size, &p.SHA256, &p.ByCustomer, &p.CreatedAt); err != nil {
			rows.Close()
			return err
		}
		p.CreatedAt = p.CreatedAt.UTC()
		c.Photos = append(c.Photos, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT round, passed, notes, inspector_name, at FROM aftersales_inspections WHERE case_id = $1 ORDER BY round`, c.ID)
	if err != nil {
		return fmt.Errorf("aftersales: inspections: %w", err)
	}
	for rows.Next() {
		var in Inspection
		if err := rows.Scan(&in.Round, &in.Passed, &in.Notes, &in.Inspector, &in.At); err != nil {
			rows.Close()
			return err
		}
		in.At = in.At.UTC()
		c.Inspections = append(c.Inspections, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if c.Remedies, err = remedies(ctx, q, `r.case_id = $1`, c.ID); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT CAST(id AS text), action, step, actor_kind, actor_name, note, data, public, at
		FROM aftersales_steps WHERE case_id = $1 ORDER BY id`, c.ID)
	if err != nil {
		return fmt.Errorf("aftersales: history: %w", err)
	}
	for rows.Next() {
		var e StepEntry
		var data string
		if err := rows.Scan(&e.ID, &e.Action, &e.Step, &e.ByKind, &e.By, &e.Note, &data, &e.Public, &e.At); err != nil {
			rows.Close()
			return err
		}
		e.At = e.At.UTC()
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			rows.Close()
			return fmt.Errorf("aftersales: step %s: %w", e.ID, err)
		}
		c.History = append(c.History, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT CAST(n.step_id AS text), n.language, n.to_address, n.subject, n.skipped, COALESCE(m.state, ''),
		n.created_at FROM aftersales_notices n LEFT JOIN outbound_mail m ON m.id = n.mail_id WHERE n.case_id = $1 ORDER BY n.id`, c.ID)
	if err != nil {
		return fmt.Errorf("aftersales: notices: %w", err)
	}
	for rows.Next() {
		var n Notice
		var skipped, state string
		if err := rows.Scan(&n.StepID, &n.Language, &n.To, &n.Subject, &skipped, &state, &n.CreatedAt); err != nil {
			rows.Close()
			return err
		}
		n.CreatedAt = n.CreatedAt.UTC()
		n.State, n.Detail = shop.NoticeState(skipped, state)
		c.Notices = append(c.Notices, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var ids []string
	for _, purpose := range deadlineKeys(c.deadlineIDs) {
		ids = append(ids, c.deadlineIDs[purpose])
	}
	c.Deadlines, err = s.SLA.Deadlines(ctx, q, ids)
	return err
}

const remedyColumns = `CAST(r.id AS text), CAST(r.case_id AS text), r.kind, r.state, r.amount_minor, r.currency, r.method, r.reference,
	COALESCE(r.code, ''), r.expires_on, r.approved_by_name, r.note, r.started_at, r.due_at, r.done_at, r.done_ref, r.created_at`

func remedies(ctx context.Context, q database.Querier, cond string, args ...any) ([]Remedy, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+remedyColumns+` FROM aftersales_remedies r WHERE `+cond+` ORDER BY r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("aftersales: remedies: %w", err)
	}
	defer rows.Close()
	out := []Remedy{}
	for rows.Next() {
		var r Remedy
		var due, done sql.NullTime
		if err := rows.Scan(&r.ID, &r.caseID, &r.Kind, &r.State, &r.amount, &r.Currency, &r.Method, &r.Reference, &r.Code, &r.ExpiresOn,
			&r.ApprovedBy, &r.Note, &r.StartedAt, &due, &done, &r.DoneRef, &r.CreatedAt); err != nil {
			return nil, err
		}
		r.Amount = shop.FormatMoney(r.amount, r.Currency)
		r.StartedAt, r.CreatedAt, r.DueAt, r.DoneAt = r.StartedAt.UTC(), r.CreatedAt.UTC(), database.TimePtr(due), database.TimePtr(done)
		out = append(out, r)
	}
	return out, rows.Err()
}
